import type { Change } from '../core/task.js';
import type { EventStatus, HostCounts, StopSignal } from '../engine/events.js';
import { plainPalette, type Palette } from './color.js';

/** Replaces every secret value that might have slipped into a message with ***. */
export type Redact = (text: string) => string;

export function makeRedact(secretValues: readonly string[]): Redact {
  const values = secretValues.filter((v) => v.length > 0).sort((a, b) => b.length - a.length);
  return (text) => values.reduce((t, v) => t.split(v).join('***'), text);
}

export function formatChange(c: Change, diff: boolean): string {
  const why = c.why ? ` (${c.why})` : '';
  if (!diff || (c.from === undefined && c.to === undefined)) return `  ~ ${c.what}${why}`;
  return `  ~ ${c.what}: ${c.from ?? '(none)'} → ${c.to ?? '(none)'}${why}`;
}

/** 0.4s, 12.3s, 2m05s: a duration the way a person reads it on a task line. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0.0s';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** A number with its noun: "1 host", "4 hosts". */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The status word of a task on a host, in its conventional colour. */
export function statusText(status: EventStatus, p: Palette): string {
  return p[status](status);
}

const COUNTS = ['ok', 'changed', 'failed', 'skipped', 'unreachable'] as const;

export function formatRecapLine(
  host: string,
  c: HostCounts,
  width: number,
  opts: { palette?: Palette; durationMs?: number } = {},
): string {
  const p = opts.palette ?? plainPalette;
  // A count is coloured only when it is not zero, so the eye finds what happened.
  const pair = (k: (typeof COUNTS)[number] | 'interrupted', n: number) =>
    n > 0 ? p[k](`${k}=${n}`) : `${k}=${n}`;
  const pairs = COUNTS.map((k) => pair(k, c[k]));
  // Interrupted appears only where a signal cut a task short, so unaffected recaps keep their shape.
  if (c.interrupted) pairs.push(pair('interrupted', c.interrupted));
  const took = opts.durationMs === undefined ? '' : `  ${p.dim(formatDuration(opts.durationMs))}`;
  return `${p.bold(host.padEnd(width))}  ${pairs.join('  ')}${took}`;
}

/**
 * The recap: a line saying how the run ended and how long it took, then `RECAP` and one line per
 * host. `durations` are each host's time spent in tasks.
 */
export function formatRecap(
  hosts: Record<string, HostCounts>,
  opts: {
    palette?: Palette;
    durations?: Record<string, number>;
    durationMs?: number;
    interrupted?: StopSignal;
  } = {},
): string[] {
  const p = opts.palette ?? plainPalette;
  const width = Math.max(4, ...Object.keys(hosts).map((h) => h.length));
  const head: string[] = [];
  if (opts.interrupted) {
    head.push(
      p.failed(
        `interrupted by ${opts.interrupted}` +
          (opts.durationMs === undefined ? '' : ` after ${formatDuration(opts.durationMs)}`),
      ),
    );
  } else if (opts.durationMs !== undefined) {
    head.push(p.dim(`finished in ${formatDuration(opts.durationMs)}`));
  }
  return [
    ...head,
    'RECAP',
    ...Object.entries(hosts).map(([h, c]) =>
      formatRecapLine(h, c, width, {
        palette: p,
        ...(opts.durations?.[h] === undefined ? {} : { durationMs: opts.durations[h] }),
      }),
    ),
  ];
}
