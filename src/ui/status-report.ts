// `regbook status` as text: the registry, then a table of the replicas (when there are several)
// and one of the hosts, then what needs attention. The cells of both tables are made here once, for
// the text and for the web view, which shows the same tables.
import type { PendingChange } from '../ops/plan-health.js';
import type { HostStatus, ReplicaStatus, StatusReport, TrustFileStatus } from '../ops/status.js';
import { plural } from './size.js';

export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m ${seconds % 60}s`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** One change the next apply would make, in the words of its plan: "worker1: trust: PATH mode (644 → 444)". */
export function pendingLine(c: PendingChange): string {
  const fromTo = c.from !== undefined || c.to !== undefined ? ` (${c.from ?? '-'} → ${c.to ?? '-'})` : '';
  return `${c.host}: ${c.task}: ${c.what}${fromTo}${c.why ? `: ${c.why}` : ''}`;
}

/** A table cell: its text, and whether it is good or bad news (the web view colours it). */
export interface Cell {
  text: string;
  tone?: 'good' | 'bad' | 'warn';
}

export const HOST_COLUMNS = ['HOST', 'ROLE', 'REACHABLE', 'DOCKER', 'CERTS.D', 'SYSTEM STORE', '/v2/'];

function trustCell(h: HostStatus, kind: TrustFileStatus['kind']): Cell {
  if (!h.reachable || h.error) return { text: '?' };
  if (!h.trustExpected) return { text: 'n/a' };
  const state = h.trust?.find((t) => t.kind === kind)?.state;
  return state === undefined ? { text: '-' } : { text: state, tone: state === 'ok' ? 'good' : 'bad' };
}

/**
 * One host's row. `reasons`: the reachable cell says why a host could not be read (the web view
 * has room for it; the text lists it under PROBLEM).
 */
export function hostCells(h: HostStatus, reasons = false): Cell[] {
  const read = h.reachable && !h.error;
  const why = reasons && h.error ? `: ${h.error}` : '';
  return [
    { text: h.name },
    { text: h.role },
    { text: `${h.reachable ? 'yes' : 'no'}${why}`, tone: read ? 'good' : 'bad' },
    { text: h.docker ?? '?', tone: h.docker === 'running' ? 'good' : 'bad' },
    trustCell(h, 'certs.d'),
    trustCell(h, 'system'),
    h.v2
      ? h.v2.ok
        ? { text: `ok (${h.v2.code})`, tone: 'good' }
        : { text: `failed (${h.v2.detail ?? h.v2.code})`, tone: 'bad' }
      : { text: h.trustExpected ? '?' : 'n/a' },
  ];
}

export const REPLICA_COLUMNS = ['REPLICA', 'CONTAINER', 'SETTINGS', '/v2/ DIRECTLY', 'HEALTH'];

/** One registry replica's row: its container, whether it is as the playbook wants it, its own answer. */
export function replicaCells(r: ReplicaStatus): Cell[] {
  const c = r.container;
  const known = r.reachable && r.error === undefined;
  const container: Cell = !known
    ? { text: '?' }
    : c.present
      ? {
          text: `${c.name} ${c.state}${c.uptimeSeconds !== undefined ? `, up ${formatDuration(c.uptimeSeconds)}` : ''}`,
          tone: c.state === 'running' ? 'good' : 'bad',
        }
      : { text: `${c.name} missing`, tone: 'bad' };
  const settings: Cell =
    !known || !c.present || c.differences === undefined
      ? { text: '?' }
      : c.differences.length === 0
        ? { text: 'ok', tone: 'good' }
        : { text: 'differs', tone: 'warn' };
  const v2: Cell = !r.v2
    ? { text: '?' }
    : r.v2.ok
      ? { text: `ok (${r.v2.status})`, tone: 'good' }
      : // The last words of the error ("Connection refused"): the PROBLEM line has all of it.
        { text: `failed (${r.v2.error?.split(': ').pop() ?? r.v2.status})`, tone: 'bad' };
  const tone = ({ up: 'good', differs: 'warn', down: 'bad', unknown: undefined } as const)[r.health];
  return [
    { text: r.host },
    container,
    settings,
    v2,
    { text: r.reachable ? r.health : 'unreachable', ...(tone ? { tone } : {}) },
  ];
}

export function formatStatus(r: StatusReport): string {
  const out: string[] = [];
  const c = r.certificate;
  out.push(`REGISTRY ${r.registry}`);
  if (r.plainHttp) {
    out.push('  certificate  none: tls.mode none, plain HTTP');
  } else if (c.present && !c.error) {
    out.push(`  certificate  ${c.subject ?? '(no CN)'}, issued by ${c.issuer ?? '(no CN)'}`);
    out.push(`               SANs ${(c.sans ?? []).join(', ')}`);
    out.push(
      `               expires ${c.notAfter?.slice(0, 10)}, in ${c.daysLeft} days ` +
        `(renewed within ${r.renewBeforeDays} days of expiry)`,
    );
  } else {
    out.push(`  certificate  ${c.present ? `unreadable: ${c.error}` : `missing (${c.path})`}`);
  }
  const k = r.container;
  // With replicas, each one's container is in the replicas' table.
  if (!r.replicas)
    out.push(
      `  container    ${
        k.present
          ? `${k.name} ${k.state}${k.uptimeSeconds !== undefined ? `, up ${formatDuration(k.uptimeSeconds)}` : ''}, ` +
            `image ${k.image ?? '?'} (${(k.imageId ?? '').slice(0, 19)})` +
            (k.differences?.length ? ', differs from the playbook' : '')
          : `${k.name} missing`
      }`,
    );
  const repos = r.api.repositories;
  out.push(
    `  api          ${
      r.api.error
        ? r.api.error
        : `GET /v2/ ${r.api.status}${r.api.via ? ` through ${r.api.via}` : ''}` +
          (repos
            ? `; ${repos.map((x) => `${x.repository} (${x.tags.join(', ')})`).join(', ') || 'no repositories'}`
            : '')
    }`,
  );
  out.push('');
  if (r.replicas) {
    out.push(...table([REPLICA_COLUMNS, ...r.replicas.map((x) => replicaCells(x).map((c) => c.text))]));
    out.push('');
  }
  out.push(...table([HOST_COLUMNS, ...r.hosts.map((h) => hostCells(h).map((c) => c.text))]));
  out.push('');
  for (const w of r.warnings) out.push(`WARNING  ${w}`);
  for (const p of r.problems) out.push(`PROBLEM  ${p}`);
  for (const c of r.pending) out.push(`CHANGE   ${pendingLine(c)}`);
  out.push(
    r.problems.length + r.warnings.length + r.pending.length === 0
      ? 'healthy'
      : `${plural(r.problems.length, 'problem')}, ${plural(r.warnings.length, 'warning')}` +
          (r.pending.length
            ? `, ${plural(r.pending.length, 'change')} pending (apply --check lists them)`
            : ''),
  );
  return out.join('\n') + '\n';
}
