import type { EngineEvent } from '../engine/events.js';
import { plainPalette, type Palette } from './color.js';
import { formatChange, formatDuration, formatRecap, plural, type Redact } from './format.js';

/** How long a step runs before a plain log names it (with -v every step is named at once). */
export const SLOW_STEP_MS = 1000;

/**
 * Plain lines for logs, CI and pipes: no cursor movement, no spinner escapes; colour only when
 * asked for (FORCE_COLOR). A step still running after a second gets a line naming it, since a
 * log cannot update a line in place.
 */
export function plainRenderer(
  out: NodeJS.WritableStream,
  opts: { diff: boolean; verbose: number; redact: Redact; palette?: Palette },
) {
  const p = opts.palette ?? plainPalette;
  const w = (line: string) => out.write(opts.redact(line) + '\n');
  const durations: Record<string, number> = {};
  // The step each host is running now, and its timer for the "still running" line.
  const slow = new Map<string, NodeJS.Timeout>();
  const settle = (host: string) => {
    clearTimeout(slow.get(host));
    slow.delete(host);
  };
  const settleAll = () => {
    for (const h of [...slow.keys()]) settle(h);
  };
  return (e: EngineEvent) => {
    switch (e.type) {
      case 'start':
        w(`${e.check ? 'CHECK' : 'APPLY'} ${plural(e.hosts.length, 'host')}: ${e.hosts.join(', ')}`);
        break;
      case 'connect':
        if (e.status === 'ok' && opts.verbose > 0) w(`connected: [${e.host}]`);
        break;
      case 'task-start':
        w(p.bold(`TASK [${e.task}]`));
        break;
      case 'progress': {
        settle(e.host);
        const line = `  … [${e.host}] ${e.step}`;
        if (opts.verbose > 0) w(line);
        else {
          const started = Date.now();
          const t = setTimeout(() => {
            slow.delete(e.host);
            w(`${line} (running for ${formatDuration(Date.now() - started)})`);
          }, SLOW_STEP_MS);
          t.unref();
          slow.set(e.host, t);
        }
        break;
      }
      case 'task': {
        settle(e.host);
        durations[e.host] = (durations[e.host] ?? 0) + e.durationMs;
        const msg = e.message ? ` ${e.message}` : '';
        w(`${p[e.status](`${e.status}: [${e.host}]`)}${msg} ${p.dim(`(${formatDuration(e.durationMs)})`)}`);
        if (e.detail) for (const l of e.detail.split('\n')) w(`  | ${l}`);
        for (const c of e.changes) w(formatChange(c, opts.diff));
        break;
      }
      case 'task-end':
        if (e.durationMs !== undefined) w(p.dim(`  ${e.task} took ${formatDuration(e.durationMs)}`));
        break;
      case 'handler': {
        const took = e.durationMs === undefined ? '' : ` ${p.dim(`(${formatDuration(e.durationMs)})`)}`;
        // Check mode runs no handler: it says the handler would run, which is not a status.
        const what = e.status === 'skipped' && e.message === 'would run' ? 'would run' : e.status;
        const msg = e.message && what !== 'would run' ? ` ${e.message}` : '';
        w(`handler ${e.handler}: [${e.host}] ${p[e.status](what)}${msg}${took}`);
        break;
      }
      case 'log':
        if (e.level === 'info' || opts.verbose > 1) w(`${e.host ? `[${e.host}] ` : ''}${e.message}`);
        break;
      case 'interrupt':
        w(p.failed(`${e.signal}: no new work starts; steps in flight finish`));
        break;
      case 'recap':
        settleAll();
        w('');
        for (const l of formatRecap(e.hosts, {
          palette: p,
          durations,
          ...(e.durationMs === undefined ? {} : { durationMs: e.durationMs }),
          ...(e.interrupted ? { interrupted: e.interrupted } : {}),
        }))
          w(l);
        break;
      default:
        break;
    }
  };
}
