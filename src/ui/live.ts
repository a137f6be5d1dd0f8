import { Listr, type DefaultRenderer, type ListrTaskWrapper, type SimpleRenderer } from 'listr2';
import type { Change, TaskId } from '../core/task.js';
import type { EngineEvent } from '../engine/events.js';
import { formatChange, formatRecap, type Redact } from './format.js';

type Done = Extract<EngineEvent, { type: 'task' }>;

/** A promise with its resolver, so events arriving later can settle what listr2 waits on. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The live tree on a TTY: one node per task, one child per host, filled in by engine events.
 * listr2 drives the screen; the engine does not know it exists.
 */
export function liveRenderer(out: NodeJS.WritableStream, opts: { diff: boolean; redact: Redact }) {
  const phases = new Map<TaskId, ReturnType<typeof deferred<string[] | undefined>>>();
  const hostDone = new Map<string, ReturnType<typeof deferred<Done>>>();
  const phase = (t: TaskId) => {
    if (!phases.has(t)) phases.set(t, deferred());
    return phases.get(t)!;
  };
  const done = (t: TaskId, h: string) => {
    const k = `${t}\0${h}`;
    if (!hostDone.has(k)) hostDone.set(k, deferred());
    return hostDone.get(k)!;
  };
  let listrRun: Promise<unknown> = Promise.resolve();
  let connectDone = deferred<void>();
  const unreachable: string[] = [];
  let recapLines: string[] = [];
  let order: TaskId[] = [];

  const hostTitle = (e: Done) => {
    const changes = e.changes.map((c: Change) => formatChange(c, opts.diff).trim());
    return opts.redact(
      `${e.host}: ${e.status}${e.message ? ` — ${e.message}` : ''}${changes.length ? `\n${changes.join('\n')}` : ''}`,
    );
  };

  const onEvent = (e: EngineEvent) => {
    switch (e.type) {
      case 'start': {
        connectDone = deferred<void>();
        order = e.tasks;
        const list = new Listr<unknown, 'default', 'simple'>(
          [
            {
              title: `Connect to ${e.hosts.length} host(s)`,
              task: async (
                _ctx: unknown,
                t: ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>,
              ) => {
                await connectDone.promise;
                if (unreachable.length) throw new Error(`unreachable: ${unreachable.join(', ')}`);
                t.title = `Connected to ${e.hosts.length} host(s)`;
              },
            },
            ...e.tasks.map((id) => ({
              title: id,
              task: async (
                _ctx: unknown,
                t: ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>,
              ) => {
                const hosts = await phase(id).promise;
                if (!hosts) return t.skip(`${id}: nothing to do`);
                return t.newListr(
                  hosts.map((h) => ({
                    title: h,
                    task: async (
                      _c: unknown,
                      ht: ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>,
                    ) => {
                      const r = await done(id, h).promise;
                      ht.title = hostTitle(r);
                      if (r.status === 'failed' || r.status === 'unreachable') throw new Error(hostTitle(r));
                      if (r.status === 'skipped') ht.skip(hostTitle(r));
                    },
                  })),
                  { concurrent: true, exitOnError: false },
                );
              },
            })),
          ],
          {
            concurrent: false,
            exitOnError: false,
            registerSignalListeners: false,
            rendererOptions: { collapseSubtasks: false, collapseErrors: false, showErrorMessage: true },
          },
        );
        listrRun = list.run().catch(() => undefined);
        break;
      }
      case 'connect':
        if (e.status === 'unreachable') unreachable.push(e.host);
        break;
      case 'task-start': {
        connectDone.resolve();
        // Tasks before this one that never started concern no host: let the tree move past them.
        for (const id of order.slice(0, order.indexOf(e.task))) phase(id).resolve(undefined);
        phase(e.task).resolve(e.hosts);
        break;
      }
      case 'task':
        done(e.task, e.host).resolve(e);
        break;
      case 'recap':
        connectDone.resolve();
        for (const d of phases.values()) d.resolve(undefined);
        // Tasks that never started concern no host.
        recapLines = formatRecap(e.hosts);
        break;
        break;
      default:
        break;
    }
  };
  const finished = async () => {
    await listrRun;
    out.write('\n' + recapLines.join('\n') + '\n');
  };
  return Object.assign(onEvent, { finished });
}
