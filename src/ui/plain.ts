import type { EngineEvent } from '../engine/events.js';
import { formatChange, formatRecap, type Redact } from './format.js';

/** Plain lines for logs, CI and NO_COLOR: no cursor movement, no spinner escapes. */
export function plainRenderer(
  out: NodeJS.WritableStream,
  opts: { diff: boolean; verbose: number; redact: Redact },
) {
  const w = (line: string) => out.write(opts.redact(line) + '\n');
  return (e: EngineEvent) => {
    switch (e.type) {
      case 'start':
        w(`${e.check ? 'CHECK' : 'APPLY'} ${e.hosts.length} host(s): ${e.hosts.join(', ')}`);
        break;
      case 'connect':
        if (e.status === 'ok' && opts.verbose > 0) w(`connected: [${e.host}]`);
        break;
      case 'task-start':
        w(`TASK [${e.task}]`);
        break;
      case 'task': {
        const msg = e.message ? ` ${e.message}` : '';
        w(`${e.status}: [${e.host}]${msg}`);
        if (e.detail) for (const l of e.detail.split('\n')) w(`  | ${l}`);
        for (const c of e.changes) w(formatChange(c, opts.diff));
        break;
      }
      case 'handler':
        w(`handler ${e.handler}: [${e.host}] ${e.status}${e.message ? ` ${e.message}` : ''}`);
        break;
      case 'log':
        if (e.level === 'info' || opts.verbose > 1) w(`${e.host ? `[${e.host}] ` : ''}${e.message}`);
        break;
      case 'recap':
        w('');
        for (const l of formatRecap(e.hosts)) w(l);
        break;
      default:
        break;
    }
  };
}
