// What `apply --check` would change, read by `status` through the same engine, facts and plans:
// the two can never disagree, because they are one path.
import type { Inventory, Playbook } from '../config/model.js';
import type { Secret } from '../core/secret.js';
import type { TaskId } from '../core/task.js';
import type { EngineEvent } from '../engine/events.js';
import { runTasks } from '../engine/run.js';
import { createRun } from '../engine/setup.js';
import { HANDLERS, TASKS } from '../tasks/index.js';
import type { Shared } from '../tasks/shared.js';
import type { Connection } from '../transport/types.js';

/** One change the next apply would make on a host, as its task's plan names it. */
export interface PendingChange {
  host: string;
  task: TaskId;
  what: string;
  from?: string;
  to?: string;
  why?: string;
}

export interface PlanHealth {
  pending: PendingChange[];
  /** Tasks that failed while planning (as `apply --check` would report them). */
  failed: Array<{ host: string; task: TaskId; message: string }>;
}

/**
 * Runs every task in check mode on the connections given (an Error: that host is unreachable).
 * The engine closes the connections when it ends.
 */
export async function planHealth(
  playbook: Playbook,
  inventory: Inventory,
  secrets: Map<string, Secret>,
  conns: ReadonlyMap<string, Connection | Error>,
): Promise<PlanHealth> {
  const health: PlanHealth = { pending: [], failed: [] };
  const emit = (e: EngineEvent) => {
    if (e.type !== 'task') return;
    if (e.status === 'changed')
      for (const c of e.changes) health.pending.push({ host: e.host, task: e.task, ...c });
    if (e.status === 'failed') health.failed.push({ host: e.host, task: e.task, message: e.message ?? '' });
  };
  const run = createRun<Shared>(playbook, inventory, secrets, { check: true, diff: false }, emit, {});
  await runTasks(
    run,
    TASKS,
    HANDLERS,
    {
      forks: Math.max(1, inventory.hosts.length),
      connect: async (h) => {
        const c = conns.get(h.name);
        if (!c) throw new Error(`${h.name} was not connected`);
        if (c instanceof Error) throw c;
        return c;
      },
    },
    emit,
  );
  return health;
}
