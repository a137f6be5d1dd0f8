// What `apply --check` would change, read by `status` through the same engine, facts and plans:
// the two can never disagree, because they are one path. What the stages gathered on the way is
// kept, so status renders its health from those facts instead of reading the hosts again.
import type { TaskId } from '../core/task.js';
import type { EngineEvent } from '../engine/events.js';
import { runTasks } from '../engine/run.js';
import { HANDLERS, TASKS } from '../tasks/index.js';
import type { Run } from '../tasks/shared.js';
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
  /** What each task's first stage on a host gathered there; a task that did not reach a host has no entry. */
  gathered: Gathered;
}

export interface Gathered {
  get<F>(task: TaskId, host: string): F | undefined;
}

/**
 * Runs every task in check mode on the run's hosts, through the connections given (an Error: that
 * host is unreachable). The engine closes the connections when it ends, and leaves the host facts
 * it read in `run.facts`.
 */
export async function planHealth(
  run: Run,
  conns: ReadonlyMap<string, Connection | Error>,
): Promise<PlanHealth> {
  if (!run.check) throw new Error('planHealth needs a check-mode run');
  const seen = new Map<string, unknown>();
  const key = (task: TaskId, host: string) => `${task}/${host}`;
  const health: PlanHealth = {
    pending: [],
    failed: [],
    gathered: { get: <F>(task: TaskId, host: string) => seen.get(key(task, host)) as F | undefined },
  };
  // A task's first stage on a host reads what status renders (tls's certificates, the registry's
  // container, trust's files); later stages (the replicas' copies, the http.secret) read other things.
  run.gathered = (task, host, facts) => {
    if (!seen.has(key(task, host))) seen.set(key(task, host), facts);
  };
  const emit = (e: EngineEvent) => {
    if (e.type !== 'task') return;
    if (e.status === 'changed')
      for (const c of e.changes) health.pending.push({ host: e.host, task: e.task, ...c });
    if (e.status === 'failed') health.failed.push({ host: e.host, task: e.task, message: e.message ?? '' });
  };
  try {
    await runTasks(
      run,
      TASKS,
      HANDLERS,
      {
        forks: Math.max(1, run.inventory.hosts.length),
        connect: async (h) => {
          const c = conns.get(h.name);
          if (!c) throw new Error(`${h.name} was not connected`);
          if (c instanceof Error) throw c;
          return c;
        },
      },
      emit,
    );
  } finally {
    delete run.gathered;
  }
  return health;
}
