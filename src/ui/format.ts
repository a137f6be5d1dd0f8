import type { Change } from '../core/task.js';
import type { HostCounts } from '../engine/events.js';

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

export function formatRecapLine(host: string, c: HostCounts, width: number): string {
  return (
    `${host.padEnd(width)}  ok=${c.ok}  changed=${c.changed}  failed=${c.failed}  ` +
    `skipped=${c.skipped}  unreachable=${c.unreachable}`
  );
}

export function formatRecap(hosts: Record<string, HostCounts>): string[] {
  const width = Math.max(4, ...Object.keys(hosts).map((h) => h.length));
  return ['RECAP', ...Object.entries(hosts).map(([h, c]) => formatRecapLine(h, c, width))];
}
