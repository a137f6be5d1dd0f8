import type { HostSpec } from '../config/model.js';
import type { Change, HandlerId, TaskId, TaskResult, TaskStatus } from '../core/task.js';
import { TaskFailure } from '../core/task.js';
import { UnreachableError, type Connection } from '../transport/types.js';
import type { HandlerDef, HostContext, RunContext, TaskDef } from './context.js';
import { emptyCounts, type Emit, type EngineEvent, type HostCounts } from './events.js';
import { mapLimit } from './limit.js';
import { selectHosts } from './select.js';

export interface RunOptions {
  limit?: string[];
  tags?: TaskId[];
  skipTags?: TaskId[];
  forks: number;
  connect(host: HostSpec): Promise<Connection>;
  /**
   * Asked once, after the `always` tasks (facts, which only read) and before anything that may
   * change a host; false ends the run there: connections closed, no further task, no recap. The
   * deploy lock is taken meanwhile, so facts need not wait for it.
   */
  proceed?: () => Promise<boolean>;
}

export interface RunOutcome {
  recap: Record<string, HostCounts>;
  /** (host, task) pairs reported changed, for check-mode comparisons and tests. */
  changed: Array<{ host: string; task: TaskId }>;
  /** `proceed` said no: the run ended after the `always` tasks. */
  stopped?: boolean;
}

interface HostOutcome {
  status: TaskStatus;
  changes: Change[];
  message?: string;
  detail?: string;
}

const RANK: Record<TaskStatus, number> = { skipped: 0, ok: 1, changed: 2, failed: 3, unreachable: 4 };

export function selectTasks<S>(tasks: TaskDef<S>[], tags?: TaskId[], skipTags?: TaskId[]): TaskDef<S>[] {
  // An `always` task (facts) runs whatever the tags say: the tasks after it cannot work without it.
  return tasks.filter((t) => {
    if (t.always) return true;
    if (skipTags?.includes(t.id)) return false;
    return !tags || tags.length === 0 || tags.includes(t.id);
  });
}

function failureOf(err: unknown): HostOutcome {
  if (err instanceof UnreachableError) return { status: 'unreachable', changes: [], message: err.message };
  if (err instanceof TaskFailure) {
    return {
      status: 'failed',
      changes: [],
      message: err.message,
      ...(err.detail ? { detail: err.detail } : {}),
    };
  }
  return { status: 'failed', changes: [], message: err instanceof Error ? err.message : String(err) };
}

/**
 * Runs the tasks in lockstep, as Ansible's linear strategy does: one task on all its hosts in
 * parallel (up to `forks`), each host's notified handlers right after its part, then the next
 * task. A host that fails or becomes unreachable drops out; the others go on.
 */
export async function runTasks<S>(
  run: RunContext<S>,
  tasks: TaskDef<S>[],
  handlers: HandlerDef<S>[],
  opts: RunOptions,
  emit: Emit,
): Promise<RunOutcome> {
  const hosts = selectHosts(run.inventory.hosts, opts.limit);
  const selected = selectTasks(tasks, opts.tags, opts.skipTags);
  const recap: Record<string, HostCounts> = Object.fromEntries(hosts.map((h) => [h.name, emptyCounts()]));
  const changed: RunOutcome['changed'] = [];
  const byName = new Map(hosts.map((h) => [h.name, h]));
  emit({
    type: 'start',
    hosts: hosts.map((h) => h.name),
    tasks: selected.map((t) => t.id),
    check: run.check,
  });

  // Tasks on other hosts need the master (its certificate, the registry behind it) even when
  // --limit leaves it out: connect to it too, but run nothing on it and keep it out of the recap.
  const master = run.inventory.master;
  const helper = byName.has(master.name) ? undefined : opts.connect(master).catch(() => undefined);
  // Read-aheads, by the host they read on: only tasks that will run there.
  const ahead = new Map<string, TaskDef<S>[]>();
  for (const t of selected) {
    if (!t.readAhead) continue;
    for (const h of t.stages[0]?.hosts(run) ?? []) {
      if (byName.has(h)) ahead.set(h, [...(ahead.get(h) ?? []), t]);
    }
  }
  await mapLimit(hosts, opts.forks, async (host) => {
    try {
      const conn = await opts.connect(host);
      run.conns.set(host.name, conn);
      for (const t of ahead.get(host.name) ?? []) t.readAhead!(run, conn);
      emit({ type: 'connect', host: host.name, status: 'ok' });
    } catch (err) {
      recap[host.name]!.unreachable++;
      const message = (err as Error).message;
      emit({ type: 'connect', host: host.name, status: 'unreachable', message });
      // Reported as the first task's result too, so every consumer sees the host in its task stream.
      emit({
        type: 'task',
        host: host.name,
        task: 'facts',
        status: 'unreachable',
        changes: [],
        message,
        durationMs: 0,
      });
    }
  });

  const masterConn = await helper;
  if (masterConn) run.conns.set(master.name, masterConn);

  const drop = async (name: string) => {
    const conn = run.conns.get(name);
    run.conns.delete(name);
    await conn?.close().catch(() => undefined);
  };

  let asked = false;
  const mayProceed = async () => {
    if (asked || !opts.proceed) return true;
    asked = true;
    return opts.proceed();
  };

  for (const task of selected) {
    if (!task.always && !(await mayProceed())) return stop();
    const outcomes = new Map<string, HostOutcome>();
    const notified = new Map<string, Set<HandlerId>>();
    const started = performance.now();
    const concerned = new Set<string>();
    for (const stage of task.stages) for (const n of stage.hosts(run)) if (byName.has(n)) concerned.add(n);
    if (concerned.size === 0) continue;
    emit({ type: 'task-start', task: task.id, hosts: [...concerned] });

    // A host's handlers run as soon as its own part of the task is done (after the last stage it
    // takes part in), not when the slowest host is: a docker restart on one host then overlaps the
    // others' work instead of waiting for it. The next task still waits for every host's handlers.
    const lastStage = new Map<string, number>();
    task.stages.forEach((stage, i) => {
      for (const n of stage.hosts(run)) lastStage.set(n, i);
    });
    const handlerEvents = new Map<string, EngineEvent[]>();
    const runHandlers = async (name: string) => {
      const ids = notified.get(name);
      const o = outcomes.get(name);
      if (!ids || !o || RANK[o.status] >= RANK.failed || !run.conns.has(name)) return;
      const events: EngineEvent[] = [];
      handlerEvents.set(name, events);
      for (const handler of handlers.filter((h) => ids.has(h.id))) {
        if (run.check) {
          events.push({
            type: 'handler',
            host: name,
            handler: handler.id,
            status: 'skipped',
            message: 'would run',
          });
          continue;
        }
        try {
          await handler.run({
            host: byName.get(name)!,
            conn: run.conns.get(name)!,
            run,
            notify: () => undefined,
          });
          events.push({ type: 'handler', host: name, handler: handler.id, status: 'ok' });
        } catch (err) {
          const f = failureOf(err);
          outcomes.set(name, merge(o, { ...f, message: `handler ${handler.id}: ${f.message}` }));
          events.push({
            type: 'handler',
            host: name,
            handler: handler.id,
            status: 'failed',
            message: f.message,
          });
          break;
        }
      }
    };

    // Each host's result is reported as soon as the host is done with the task (its last stage and
    // its handlers, or a failure), so the live tree shows hosts finishing one by one. Its handler
    // events follow it. Failed hosts are only disconnected at the end of the task: the others may
    // still reach the registry through the master's connection.
    const hostStarted = new Map<string, number>();
    const reported = new Set<string>();
    const report = (name: string) => {
      const o = outcomes.get(name);
      if (!o || reported.has(name)) return;
      reported.add(name);
      recap[name]![o.status]++;
      if (o.status === 'changed') changed.push({ host: name, task: task.id });
      emit({
        type: 'task',
        host: name,
        task: task.id,
        status: o.status,
        changes: o.changes,
        ...(o.message ? { message: o.message } : {}),
        ...(o.detail ? { detail: o.detail } : {}),
        durationMs: Math.round(performance.now() - (hostStarted.get(name) ?? started)),
      });
      for (const e of handlerEvents.get(name) ?? []) emit(e);
    };

    for (const [index, stage] of task.stages.entries()) {
      const names = stage.hosts(run).filter((n) => run.conns.has(n) && byName.has(n));
      await mapLimit(names, opts.forks, async (name) => {
        const prev = outcomes.get(name);
        if (prev && RANK[prev.status] >= RANK.failed) return;
        const conn = run.conns.get(name)!;
        const ctx: HostContext<S> = {
          host: byName.get(name)!,
          conn,
          run,
          notify: (h) => {
            if (!notified.has(name)) notified.set(name, new Set());
            notified.get(name)!.add(h);
          },
        };
        if (!hostStarted.has(name)) hostStarted.set(name, performance.now());
        emit({ type: 'host-task-start', task: task.id, host: name });
        let outcome: HostOutcome;
        try {
          const r: TaskResult = await stage.run(ctx);
          outcome = { status: r.status, changes: r.changes, ...(r.message ? { message: r.message } : {}) };
        } catch (err) {
          outcome = failureOf(err);
        }
        outcomes.set(name, prev ? merge(prev, outcome) : outcome);
        // Handlers: once per host, only where notified and the host is still healthy; check mode
        // runs none.
        if (lastStage.get(name) === index) await runHandlers(name);
        if (lastStage.get(name) === index || RANK[outcomes.get(name)!.status] >= RANK.failed) report(name);
      });
    }

    for (const name of outcomes.keys()) report(name);
    for (const [name, o] of outcomes)
      if (o.status === 'failed' || o.status === 'unreachable') await drop(name);
    emit({ type: 'task-end', task: task.id });
  }

  if (!(await mayProceed())) return stop();
  for (const name of [...run.conns.keys()]) await drop(name);
  emit({ type: 'recap', hosts: recap });
  return { recap, changed };

  async function stop(): Promise<RunOutcome> {
    for (const name of [...run.conns.keys()]) await drop(name);
    return { recap, changed, stopped: true };
  }
}

function merge(a: HostOutcome, b: HostOutcome): HostOutcome {
  const worse = RANK[b.status] > RANK[a.status] ? b : a;
  return {
    status: worse.status,
    changes: [...a.changes, ...b.changes],
    ...(worse.message ? { message: worse.message } : {}),
    ...(worse.detail ? { detail: worse.detail } : {}),
  };
}

/** The exit code SPEC.md fixes: 4 (unreachable) wins over 2 (failed); 3 only for --detailed-exitcode. */
export function exitCodeOf(outcome: RunOutcome, opts: { check: boolean; detailedExitcode: boolean }): number {
  const hosts = Object.values(outcome.recap);
  if (hosts.some((c) => c.unreachable > 0)) return 4;
  if (hosts.some((c) => c.failed > 0)) return 2;
  if (opts.check && opts.detailedExitcode && outcome.changed.length > 0) return 3;
  return 0;
}
