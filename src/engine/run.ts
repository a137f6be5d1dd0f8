import type { HostSpec } from '../config/model.js';
import { displayCmd, type Cmd } from '../core/cmd.js';
import { Interrupted, SIGNAL_EXIT } from '../core/errors.js';
import type { Change, HandlerId, TaskId, TaskResult } from '../core/task.js';
import { TaskFailure } from '../core/task.js';
import { UnreachableError, type Connection } from '../transport/types.js';
import { tracedEngine } from '../transport/dockerEngine.js';
import { applySteps } from './apply.js';
import type { HandlerDef, HostContext, PlanInput, RunContext, Stage, TaskDef } from './context.js';
import { startEarly, takeEarly } from './early.js';
import {
  emptyCounts,
  type Emit,
  type EngineEvent,
  type EventStatus,
  type HostCounts,
  type StopSignal,
} from './events.js';
import { mapLimit } from './limit.js';
import { selectHosts } from './select.js';

export interface RunOptions {
  limit?: string[];
  tags?: TaskId[];
  skipTags?: TaskId[];
  forks: number;
  connect(host: HostSpec): Promise<Connection>;
  /**
   * Asked once, as soon as the hosts are connected: the deploy lock, taken while facts (which only
   * read) run. Read-aheads start only once it says yes, and nothing after the `always` tasks runs
   * before it has; no ends the run there: connections closed, no further task, no recap.
   */
  proceed?: () => Promise<boolean>;
  /**
   * Aborted (with the StopSignal as its reason) when a signal stops the run: no task, stage, step
   * or handler starts after it; what is in flight may finish for `cutAfterMs`, then the
   * connections are closed under it. The run still ends with a recap.
   */
  signal?: AbortSignal;
  cutAfterMs?: number;
}

export interface RunOutcome {
  recap: Record<string, HostCounts>;
  /** (host, task) pairs reported changed, for check-mode comparisons and tests. */
  changed: Array<{ host: string; task: TaskId }>;
  /** `proceed` said no: the run ended after the `always` tasks. */
  stopped?: boolean;
  /** A signal stopped the run before its end. */
  interrupted?: StopSignal;
}

interface HostOutcome {
  status: EventStatus;
  changes: Change[];
  message?: string;
  detail?: string;
}

// Worse outcomes rank higher; from `interrupted` up, a host drops out of the rest of the run.
const RANK: Record<EventStatus, number> = {
  skipped: 0,
  ok: 1,
  changed: 2,
  interrupted: 3,
  failed: 4,
  unreachable: 5,
};
const dropsOut = (s: EventStatus) => RANK[s] >= RANK.interrupted;

/** How long work in flight may go on after a signal before its connections are closed under it. */
export const CUT_AFTER_MS = 10_000;

export function selectTasks<S>(tasks: TaskDef<S>[], tags?: TaskId[], skipTags?: TaskId[]): TaskDef<S>[] {
  // An `always` task (facts) runs whatever the tags say: the tasks after it cannot work without it.
  return tasks.filter((t) => {
    if (t.always) return true;
    if (skipTags?.includes(t.id)) return false;
    return !tags || tags.length === 0 || tags.includes(t.id);
  });
}

function failureOf(err: unknown, signal?: AbortSignal): HostOutcome {
  // After a signal, whatever went wrong (a connection closed under a command, a step not started)
  // is the signal's doing, not the host's.
  if (err instanceof Interrupted || signal?.aborted) {
    return { status: 'interrupted', changes: [], message: interruptedText(err) };
  }
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

function interruptedText(err: unknown): string {
  if (err instanceof Interrupted) return err.message;
  return `interrupted${err instanceof Error && err.message ? `: ${err.message}` : ''}`;
}

/** Resolves when the signal aborts (never, without one). */
function whenAborted(signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * The connection tasks see: every command it runs is told at debug level (masked as displayCmd
 * masks it: stdin never shown), so -vv lists each one, the restarts of handlers included; and so
 * is every request to its docker engine (method and path only).
 */
function traced(conn: Connection, debug: (line: string) => void): Connection {
  return new Proxy(conn, {
    get(target, prop, receiver) {
      if (prop === 'exec' || prop === 'execWithFile') {
        return (c: Cmd, ...rest: unknown[]) => {
          debug(`$ ${displayCmd(c)}`);
          return (target[prop] as (...a: unknown[]) => unknown).call(target, c, ...rest);
        };
      }
      if (prop === 'docker') return () => tracedEngine(target.docker(), debug);
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
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
  const runStarted = performance.now();
  const hosts = selectHosts(run.inventory.hosts, opts.limit);
  const selected = selectTasks(tasks, opts.tags, opts.skipTags);
  const recap: Record<string, HostCounts> = Object.fromEntries(hosts.map((h) => [h.name, emptyCounts()]));
  const changed: RunOutcome['changed'] = [];
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const signal = opts.signal;
  const aborted = whenAborted(signal);
  const count = (name: string, status: EventStatus) => {
    const c = recap[name]!;
    c[status] = (c[status] ?? 0) + 1;
  };
  emit({
    type: 'start',
    hosts: hosts.map((h) => h.name),
    tasks: selected.map((t) => t.id),
    check: run.check,
  });

  // After a signal, work in flight has CUT_AFTER_MS to finish; then its connections are closed
  // under it and what was running reports interrupted.
  let cutTimer: NodeJS.Timeout | undefined;
  void aborted.then(() => {
    emit({ type: 'interrupt', signal: stopSignalOf(signal) });
    cutTimer = setTimeout(() => {
      for (const c of run.conns.values()) void c.close().catch(() => undefined);
    }, opts.cutAfterMs ?? CUT_AFTER_MS);
  });

  // Tasks on other hosts need the master (its certificate, the registry behind it) even when
  // --limit leaves it out: connect to it too, but run nothing on it and keep it out of the recap.
  const master = run.inventory.master;
  const helper = byName.has(master.name) ? undefined : opts.connect(master).catch(() => undefined);
  await mapLimit(hosts, opts.forks, async (host) => {
    if (signal?.aborted) {
      count(host.name, 'interrupted');
      emit(interruptedTask(host.name, 'facts', 'interrupted before connecting'));
      return;
    }
    try {
      const pending = opts.connect(host);
      let connected = false;
      const conn = await Promise.race([
        pending.then((c) => ((connected = true), c)),
        aborted.then(() => {
          if (connected) return new Promise<never>(() => undefined); // the race is over
          // A connection that comes up after the signal is closed at once.
          void pending.then((c) => c.close()).catch(() => undefined);
          throw new Interrupted('interrupted while connecting');
        }),
      ]);
      run.conns.set(host.name, conn);
      emit({ type: 'connect', host: host.name, status: 'ok' });
    } catch (err) {
      if (err instanceof Interrupted) {
        count(host.name, 'interrupted');
        emit(interruptedTask(host.name, 'facts', err.message));
        return;
      }
      count(host.name, 'unreachable');
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

  // The lock is asked for now, while facts run. Read-aheads read what later tasks decide from, so
  // they start only once it is held: a run waiting for the lock must not read a state that the
  // holder is still changing. They run only on hosts the task will run on.
  const gate = opts.proceed ? opts.proceed() : Promise.resolve(true);
  void gate.then((ok) => {
    if (!ok || signal?.aborted) return;
    for (const t of selected) {
      const first = t.stages[0];
      const early = first?.gatherEarly ? first : undefined;
      if (!early && !t.readAhead) continue;
      for (const h of first?.hosts(run) ?? []) {
        const raw = run.conns.get(h);
        if (!raw || !byName.has(h)) continue;
        // Traced like every other command, so -vv lists the reads that start before their task.
        const conn = traced(raw, (line) => run.debug(line, h));
        const read = early ? early.gather({ host: byName.get(h)!, conn, run }) : t.readAhead!(run, conn);
        if (read) startEarly(run, t.id, h, read);
      }
    }
  });

  const drop = async (name: string) => {
    const conn = run.conns.get(name);
    run.conns.delete(name);
    await conn?.close().catch(() => undefined);
  };

  let asked = false;
  const mayProceed = async () => {
    if (asked) return true;
    asked = true;
    return gate;
  };

  for (const task of selected) {
    if (signal?.aborted) break;
    if (!task.always && !(await mayProceed())) return stop();
    if (signal?.aborted) break;
    const outcomes = new Map<string, HostOutcome>();
    const notified = new Map<string, Set<HandlerId>>();
    const started = performance.now();
    const concerned = new Set<string>();
    for (const stage of task.stages)
      for (const n of stage.hosts(run)) if (byName.has(n) && run.conns.has(n)) concerned.add(n);
    if (concerned.size === 0) continue;
    emit({ type: 'task-start', task: task.id, hosts: [...concerned] });

    const hostCtx = (name: string): HostContext<S> => ({
      host: byName.get(name)!,
      conn: traced(run.conns.get(name)!, (line) => run.debug(line, name)),
      run,
      notify: (h) => {
        if (!notified.has(name)) notified.set(name, new Set());
        notified.get(name)!.add(h);
      },
      progress: (step) => emit({ type: 'progress', host: name, task: task.id, step }),
      ...(signal ? { signal } : {}),
    });

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
      if (!ids || !o || dropsOut(o.status) || !run.conns.has(name)) return;
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
        if (signal?.aborted) {
          // The change is made and its handler is owed: the next apply finds it owed and runs it.
          outcomes.set(
            name,
            merge(o, {
              status: 'interrupted',
              changes: [],
              message: `interrupted before handler ${handler.id}`,
            }),
          );
          events.push({ type: 'handler', host: name, handler: handler.id, status: 'interrupted' });
          break;
        }
        const t0 = performance.now();
        const ms = () => Math.round(performance.now() - t0);
        emit({
          type: 'progress',
          host: name,
          task: task.id,
          step: handler.describe ?? `handler ${handler.id}`,
          handler: handler.id,
        });
        try {
          const r = await handler.run(hostCtx(name));
          events.push({
            type: 'handler',
            host: name,
            handler: handler.id,
            ...(r ? { status: 'skipped', message: r.skipped } : { status: 'ok' }),
            durationMs: ms(),
          });
        } catch (err) {
          const f = failureOf(err, signal);
          outcomes.set(name, merge(o, { ...f, message: `handler ${handler.id}: ${f.message}` }));
          events.push({
            type: 'handler',
            host: name,
            handler: handler.id,
            status: f.status === 'interrupted' ? 'interrupted' : 'failed',
            message: f.message,
            durationMs: ms(),
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
      count(name, o.status);
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
        if (prev && dropsOut(prev.status)) return;
        if (signal?.aborted || !run.conns.has(name)) {
          // Not started: a host that had done an earlier stage keeps what it did.
          const cut: HostOutcome = {
            status: 'interrupted',
            changes: [],
            message: 'interrupted before it started',
          };
          outcomes.set(name, prev ? merge(prev, cut) : cut);
          report(name);
          return;
        }
        const ctx = hostCtx(name);
        if (!hostStarted.has(name)) hostStarted.set(name, performance.now());
        emit({ type: 'host-task-start', task: task.id, host: name });
        let outcome: HostOutcome;
        try {
          const r: TaskResult = await runStage(stage, ctx, task.id, index === 0);
          outcome = { status: r.status, changes: r.changes, ...(r.message ? { message: r.message } : {}) };
        } catch (err) {
          outcome = failureOf(err, signal);
        }
        outcomes.set(name, prev ? merge(prev, outcome) : outcome);
        // Handlers: once per host, only where notified and the host is still healthy; check mode
        // runs none.
        if (lastStage.get(name) === index) await runHandlers(name);
        if (lastStage.get(name) === index || dropsOut(outcomes.get(name)!.status)) report(name);
      });
    }

    for (const name of outcomes.keys()) report(name);
    for (const [name, o] of outcomes) if (dropsOut(o.status)) await drop(name);
    emit({ type: 'task-end', task: task.id, durationMs: Math.round(performance.now() - started) });
  }

  if (!signal?.aborted && !(await mayProceed())) return stop();
  if (cutTimer) clearTimeout(cutTimer);
  for (const name of [...run.conns.keys()]) await drop(name);
  const interrupted = signal?.aborted ? stopSignalOf(signal) : undefined;
  emit({
    type: 'recap',
    hosts: recap,
    durationMs: Math.round(performance.now() - runStarted),
    ...(interrupted ? { interrupted } : {}),
  });
  return { recap, changed, ...(interrupted ? { interrupted } : {}) };

  async function stop(): Promise<RunOutcome> {
    if (cutTimer) clearTimeout(cutTimer);
    for (const name of [...run.conns.keys()]) await drop(name);
    return { recap, changed, stopped: true };
  }
}

/**
 * One stage on one host. A planned stage: its facts (read early, or now), its plan, what the plan
 * records for later tasks, then the steps; check mode takes the same path and stops before them.
 */
export async function runStage<S>(
  stage: Stage<S>,
  ctx: HostContext<S>,
  task: TaskId,
  first: boolean,
): Promise<TaskResult> {
  const early = first && stage.gatherEarly ? takeEarly<unknown, S>(ctx.run, task, ctx.host.name) : undefined;
  const facts = await (early ?? stage.gather(ctx));
  const { run } = ctx;
  run.gathered?.(task, ctx.host.name, facts);
  const plan = stage.plan(facts, planInput(run, ctx.host));
  if (plan.record) Object.assign(run.shared as object, plan.record);
  if (plan.skipped !== undefined) return { status: 'skipped', changes: [], message: plan.skipped };
  for (const h of plan.notify ?? []) ctx.notify(h);
  if ((await applySteps(ctx, plan.steps)) && stage.settle) {
    // The wait can last long after the last step: say so, or the host's line keeps that step's name.
    if (stage.settleDescribe) ctx.progress?.(stage.settleDescribe);
    await stage.settle(ctx);
  }
  const message = plan.message ? { message: plan.message } : {};
  return { status: plan.changes.length > 0 ? 'changed' : 'ok', changes: plan.changes, ...message };
}

/** What a plan may look at besides its facts, on this run and host, now. */
export function planInput<S>(run: RunContext<S>, host: HostSpec): PlanInput<S> {
  return {
    playbook: run.playbook,
    inventory: run.inventory,
    host,
    secrets: run.secrets,
    shared: run.shared,
    now: new Date(),
  };
}

function interruptedTask(host: string, task: TaskId, message: string): EngineEvent {
  return { type: 'task', host, task, status: 'interrupted', changes: [], message, durationMs: 0 };
}

/** The signal an AbortController was aborted with (its reason); SIGINT when it gave none. */
export function stopSignalOf(signal: AbortSignal | undefined): StopSignal {
  const r: unknown = signal?.reason;
  return r === 'SIGTERM' || r === 'SIGHUP' || r === 'SIGINT' ? r : 'SIGINT';
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

/** The documented exit code (README): 4 (unreachable) wins over 2 (failed); 3 only for --detailed-exitcode. */
export function exitCodeOf(outcome: RunOutcome, opts: { check: boolean; detailedExitcode: boolean }): number {
  if (outcome.interrupted) return SIGNAL_EXIT[outcome.interrupted];
  const hosts = Object.values(outcome.recap);
  if (hosts.some((c) => c.unreachable > 0)) return 4;
  if (hosts.some((c) => c.failed > 0)) return 2;
  if (opts.check && opts.detailedExitcode && outcome.changed.length > 0) return 3;
  return 0;
}
