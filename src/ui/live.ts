import {
  Listr,
  ListrLogger,
  type DefaultRenderer,
  type ListrTaskWrapper,
  type ProcessOutput,
  type SimpleRenderer,
} from 'listr2';
import type { Change, TaskId } from '../core/task.js';
import type { EngineEvent } from '../engine/events.js';
import { plainPalette, type Palette } from './color.js';
import { formatChange, formatDuration, formatRecap, plural, type Redact } from './format.js';

type Done = Extract<EngineEvent, { type: 'task' }>;
type HandlerDone = Extract<EngineEvent, { type: 'handler' }>;
type Wrapper = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>;

/** A step must run this long before its host's line names it. */
export const SLOW_STEP_MS = 1000;

/** A promise with its resolver, so events arriving later can settle what listr2 waits on. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export interface LiveOptions {
  diff: boolean;
  redact: Redact;
  /** 0: results and changes; 1: also notes and each step as it starts; 2: also every command. */
  verbose?: number;
  palette?: Palette;
  /** Where listr2 draws (tests); process.stdout otherwise. */
  processOutput?: ProcessOutput;
  /** listr2's renderer: the tree on a terminal; tests may pick `simple` or `silent`. */
  renderer?: 'default' | 'simple' | 'silent';
}

/**
 * The live tree on a TTY: one node per task, one child per host, filled in by engine events only;
 * the engine does not know it exists. Everything listr2 waits on is settled by a later event at
 * the latest by the recap, whatever came before it, so a run that ends always closes its tree:
 * a host that never reports (unreachable, dropped, interrupted) is marked "not run" when its task
 * ends or when the recap comes.
 */
export function liveRenderer(out: NodeJS.WritableStream, opts: LiveOptions) {
  const p = opts.palette ?? plainPalette;
  const verbose = opts.verbose ?? 0;
  /** The recap has come: whatever is awaited from now on is settled at once. */
  let ended = false;
  const phases = new Map<TaskId, ReturnType<typeof deferred<string[] | undefined>>>();
  const hostDone = new Map<string, ReturnType<typeof deferred<Done | undefined>>>();
  const phase = (t: TaskId) => {
    let d = phases.get(t);
    if (!d) {
      phases.set(t, (d = deferred()));
      if (ended) d.resolve(undefined);
    }
    return d;
  };
  const key = (t: TaskId, h: string) => `${t}\0${h}`;
  const done = (t: TaskId, h: string) => {
    let d = hostDone.get(key(t, h));
    if (!d) {
      hostDone.set(key(t, h), (d = deferred()));
      if (ended) d.resolve(undefined);
    }
    return d;
  };
  let listrRun: Promise<unknown> = Promise.resolve();
  let started = false;
  const connectDone = deferred<void>();
  const unreachable: string[] = [];
  let order: TaskId[] = [];
  let recapLines: string[] = [];
  const notes: string[] = [];
  const durations: Record<string, number> = {};
  const handlers = new Map<string, HandlerDone[]>();
  const taskTitles = new Map<TaskId, Wrapper>();
  const taskTook = new Map<TaskId, number>();
  const taskHosts = new Map<TaskId, string[]>();
  const taskEnded = new Set<TaskId>();
  let connectTitle: Wrapper | undefined;
  /** Set once a signal came: said on the running task's line, since stderr waits for the tree. */
  let stopping: string | undefined;

  // What each host is doing now, for its line in the tree.
  interface Live {
    task: TaskId;
    step?: string;
    since: number;
    wrapper?: Wrapper;
    lines: string[];
  }
  const live = new Map<string, Live>();
  const hostWrappers = new Map<string, Wrapper>();
  const liveOf = (task: TaskId, h: string): Live => {
    const wrapper = hostWrappers.get(key(task, h));
    return { task, since: Date.now(), lines: [], ...(wrapper ? { wrapper } : {}) };
  };
  const hostLine = (h: string, l: Live) => {
    const running = l.step ? Date.now() - l.since : 0;
    if (l.step && running >= SLOW_STEP_MS) {
      return opts.redact(`${h}: ${l.step} ${p.dim(`(${Math.floor(running / 1000)}s)`)}`);
    }
    return h;
  };
  const refresh = () => {
    for (const [h, l] of live) if (l.wrapper && l.step) l.wrapper.title = hostLine(h, l);
  };
  // Puts a step's name on its host's line once it has run a second, then counts its seconds.
  const ticker = setInterval(refresh, 250);
  ticker.unref();

  const hostTitle = (e: Done) => {
    const changes = e.changes.map((c: Change) => formatChange(c, opts.diff).trim());
    const hs = (handlers.get(key(e.task, e.host)) ?? []).map((x) => {
      const would = x.status === 'skipped' && x.message === 'would run';
      const what = would ? 'would run' : x.status;
      // A handler skipped on purpose says why ("untouched: the rollout stopped at …").
      const why = x.status === 'skipped' && !would && x.message ? ` — ${x.message}` : '';
      const took = x.durationMs === undefined ? '' : ` ${p.dim(formatDuration(x.durationMs))}`;
      return `handler ${x.handler}: ${p[x.status](what)}${why}${took}`;
    });
    const detail = verbose > 0 && e.detail ? e.detail.split('\n').map((l) => `| ${l}`) : [];
    const head =
      `${e.host}: ${p[e.status](e.status)}${e.message ? ` — ${e.message}` : ''} ` +
      p.dim(formatDuration(e.durationMs));
    return opts.redact([head, ...detail, ...changes, ...hs].join('\n'));
  };

  const hostTask = (id: TaskId, h: string) => ({
    title: h,
    rendererOptions: { outputBar: Infinity, persistentOutput: true },
    task: async (_c: unknown, ht: Wrapper) => {
      // listr2 may start this before the host's first event: that event then finds it here.
      hostWrappers.set(key(id, h), ht);
      const l = live.get(h);
      if (l && l.task === id) {
        l.wrapper = ht;
        for (const line of l.lines.splice(0)) ht.output = line;
      }
      const r = await done(id, h).promise;
      // By now the host may be in its next task already (events come in bursts): leave that alone.
      if (live.get(h)?.task === id) live.delete(h);
      if (!r) return ht.skip(`${h}: not run`);
      ht.title = hostTitle(r);
      if (r.status === 'failed' || r.status === 'unreachable') throw new Error(hostTitle(r));
      if (r.status === 'skipped' || r.status === 'interrupted') ht.skip(hostTitle(r));
    },
  });

  const start = (e: Extract<EngineEvent, { type: 'start' }>) => {
    started = true;
    order = e.tasks;
    const logger = opts.processOutput
      ? { logger: new ListrLogger({ processOutput: opts.processOutput }) }
      : {};
    const list = new Listr<unknown, 'default', 'simple'>(
      [
        {
          title: `Connect to ${plural(e.hosts.length, 'host')}`,
          task: async (_ctx: unknown, t: Wrapper) => {
            connectTitle = t;
            // No duration here: the connections were made while the lock was taken, before the
            // tree was drawn.
            await connectDone.promise;
            connectTitle = undefined;
            const ok = e.hosts.length - unreachable.length;
            t.title = `Connected to ${plural(ok, 'host')}`;
            if (unreachable.length)
              throw new Error(
                `Connected to ${ok} of ${plural(e.hosts.length, 'host')}; ${p.unreachable('unreachable')}: ` +
                  unreachable.join(', '),
              );
          },
        },
        ...e.tasks.map((id) => ({
          title: id,
          task: async (_ctx: unknown, t: Wrapper) => {
            taskTitles.set(id, t);
            const hosts = await phase(id).promise;
            if (hosts && stopping && !taskEnded.has(id)) t.title = `${id} — ${stopping}`;
            // The task may have ended before listr2 got here (events held back by the lock come at once).
            const took = taskTook.get(id);
            if (took !== undefined) t.title = `${id} ${p.dim(formatDuration(took))}`;
            if (!hosts) return t.skip(`${id}: nothing to do`);
            return t.newListr(
              hosts.map((h) => hostTask(id, h)),
              { concurrent: true, exitOnError: false },
            );
          },
        })),
      ],
      {
        concurrent: false,
        exitOnError: false,
        registerSignalListeners: false,
        // Typed as the tree's renderer: the others take a subset of its options.
        renderer: (opts.renderer ?? 'default') as 'default',
        fallbackRenderer: 'simple',
        rendererOptions: {
          collapseSubtasks: false,
          collapseErrors: false,
          showErrorMessage: true,
          ...logger,
        },
        fallbackRendererOptions: { ...logger },
      },
    );
    listrRun = list.run().catch(() => undefined);
  };

  const endAll = () => {
    ended = true;
    clearInterval(ticker);
    connectDone.resolve();
    for (const d of phases.values()) d.resolve(undefined);
    for (const d of hostDone.values()) d.resolve(undefined);
  };

  const onEvent = (e: EngineEvent) => {
    if (ended) return;
    switch (e.type) {
      case 'start':
        if (!started) start(e);
        break;
      case 'connect':
        if (e.status === 'unreachable') unreachable.push(e.host);
        break;
      case 'task-start': {
        connectDone.resolve();
        if (!order.includes(e.task)) break;
        // Tasks before this one that never started concern no host: let the tree move past them.
        for (const id of order.slice(0, order.indexOf(e.task))) phase(id).resolve(undefined);
        taskHosts.set(e.task, e.hosts);
        phase(e.task).resolve(e.hosts);
        break;
      }
      case 'host-task-start':
        live.set(e.host, liveOf(e.task, e.host));
        break;
      case 'progress': {
        const l = live.get(e.host);
        if (l && l.task === e.task) {
          l.step = e.step;
          l.since = Date.now();
          if (verbose > 0) say(e.host, p.dim(`… ${e.step}`));
        } else live.set(e.host, { ...liveOf(e.task, e.host), step: e.step });
        break;
      }
      case 'log':
        if (e.level === 'info' || verbose > 1) {
          if (e.host && live.has(e.host)) say(e.host, opts.redact(e.message));
          else if (e.level === 'info') notes.push(opts.redact(`${e.host ? `[${e.host}] ` : ''}${e.message}`));
        }
        break;
      case 'task':
        durations[e.host] = (durations[e.host] ?? 0) + e.durationMs;
        if (e.status === 'unreachable' && !unreachable.includes(e.host) && e.task === 'facts') {
          unreachable.push(e.host);
        }
        done(e.task, e.host).resolve(e);
        break;
      case 'handler': {
        // Handler events follow their host's task event in the same tick: the host's line, drawn
        // once listr2 resumes its task, includes them.
        const k = key(latestTaskOf(e.host), e.host);
        handlers.set(k, [...(handlers.get(k) ?? []), e]);
        break;
      }
      case 'task-end': {
        // A host the task named but never reported on (dropped, cut off) is not run: settle it.
        for (const h of taskHosts.get(e.task) ?? []) done(e.task, h).resolve(undefined);
        taskEnded.add(e.task);
        if (e.durationMs === undefined) break;
        taskTook.set(e.task, e.durationMs);
        const t = taskTitles.get(e.task);
        if (t) t.title = `${e.task} ${p.dim(formatDuration(e.durationMs))}`;
        break;
      }
      case 'interrupt': {
        stopping = p.failed(`stopping (${e.signal}): steps in flight finish`);
        let shown = false;
        for (const [id, t] of taskTitles) {
          // Only the task in flight: one that ended or never started keeps its title.
          if (!taskHosts.has(id) || taskEnded.has(id)) continue;
          t.title = `${id} — ${stopping}`;
          shown = true;
        }
        if (!shown && connectTitle) connectTitle.title = `Connect — ${stopping}`;
        break;
      }
      case 'recap':
        recapLines = formatRecap(e.hosts, {
          palette: p,
          durations,
          ...(e.durationMs === undefined ? {} : { durationMs: e.durationMs }),
          ...(e.interrupted ? { interrupted: e.interrupted } : {}),
        });
        endAll();
        break;
      default:
        break;
    }
  };

  // The task a host's handler ran for: the last task whose result it reported.
  const lastTask = new Map<string, TaskId>();
  const say = (h: string, line: string) => {
    const l = live.get(h);
    if (!l) return;
    if (l.wrapper) l.wrapper.output = line;
    else l.lines.push(line);
  };
  const latestTaskOf = (h: string): TaskId => lastTask.get(h) ?? 'facts';
  const tracked = (e: EngineEvent) => {
    if (e.type === 'task') lastTask.set(e.host, e.task);
    onEvent(e);
  };

  /** Resolves once the tree is closed and the recap written; call it after the recap event. */
  const finished = async () => {
    // A run that ends without a recap (it stopped at the lock) still closes its tree.
    if (!ended) endAll();
    await listrRun;
    if (notes.length) out.write('\n' + notes.join('\n') + '\n');
    if (recapLines.length) out.write('\n' + recapLines.join('\n') + '\n');
  };
  return Object.assign(tracked, { finished });
}
