// `regbook status` as text: the registry, then a table of the hosts, then what needs attention.
import type { PendingChange } from '../ops/plan-health.js';
import type { HostStatus, StatusReport, TrustFileStatus } from '../ops/status.js';
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
        : `GET /v2/ ${r.api.status}` +
          (repos
            ? `; ${repos.map((x) => `${x.repository} (${x.tags.join(', ')})`).join(', ') || 'no repositories'}`
            : '')
    }`,
  );
  out.push('');
  const trustCell = (h: HostStatus, kind: TrustFileStatus['kind']) => {
    if (!h.reachable || h.error) return '?';
    if (!h.trustExpected) return 'n/a';
    return h.trust?.find((t) => t.kind === kind)?.state ?? '-';
  };
  out.push(
    ...table([
      ['HOST', 'ROLE', 'REACHABLE', 'DOCKER', 'CERTS.D', 'SYSTEM STORE', '/v2/'],
      ...r.hosts.map((h) => [
        h.name,
        h.role,
        h.reachable ? 'yes' : 'no',
        h.docker ?? '?',
        trustCell(h, 'certs.d'),
        trustCell(h, 'system'),
        h.v2
          ? h.v2.ok
            ? `ok (${h.v2.code})`
            : `failed (${h.v2.detail ?? h.v2.code})`
          : h.trustExpected
            ? '?'
            : 'n/a',
      ]),
    ]),
  );
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
