// The operator commands' reports as text: what `lock`, `catalog`, `rm` and `gc` print. The commands
// in src/ops/ and src/lock/ return data; cli/ picks this or JSON.
import type { LockReport } from '../lock/command.js';
import { describeHolder } from '../lock/holder.js';
import type { CatalogReport } from '../ops/catalog.js';
import type { GcReport } from '../ops/gc.js';
import type { RmReport } from '../ops/rm.js';
import { formatBytes, plural } from './size.js';

export function formatLockReport(r: LockReport): string {
  if (r.released === undefined)
    return r.held
      ? `deploy lock on ${r.master} is held by ${describeHolder(r.holder)}\n`
      : `deploy lock on ${r.master} is free\n`;
  const was = r.held ? ` (it was held by ${describeHolder(r.holder)})` : '';
  return r.released
    ? `released the deploy lock on ${r.master}${was}\n`
    : `deploy lock on ${r.master} was not held\n`;
}

export function formatCatalog(r: CatalogReport): string {
  const entries = r.images;
  const w = Math.max(10, ...entries.map((e) => `${e.repository}:${e.tag}`.length));
  const out = [`${'IMAGE'.padEnd(w)}  ${'DIGEST'.padEnd(71)}  SIZE`];
  for (const e of entries) {
    const size = e.size === undefined ? '-' : formatBytes(e.size);
    out.push(`${`${e.repository}:${e.tag}`.padEnd(w)}  ${(e.digest ?? '-').padEnd(71)}  ${size}`);
  }
  const repos = new Set(entries.map((e) => e.repository)).size;
  if (r.repository && entries.length === 0) out.push(`(${r.repository} has no tags)`);
  else if (entries.length === 0) out.push('(the registry is empty)');
  else out.push(`${plural(repos, 'repository', 'repositories')}, ${plural(entries.length, 'tag')}`);
  return out.join('\n') + '\n';
}

export function formatRmReport(r: RmReport): string {
  return r.removed.map((x) => describeRemoval(x, r.check) + '\n').join('');
}

/** One removal in words, as `regbook rm` prints it and the web view logs it. */
export function describeRemoval(r: RmReport['removed'][number], check: boolean): string {
  const verb = check ? 'would remove' : 'removed';
  if (r.how === 'tag-alone')
    return `${verb} ${r.repository}:${r.reference} alone (${r.digest} stays, tagged ${r.kept.join(', ')})`;
  const tags = r.tags.length ? `, tagged ${r.tags.join(', ')}` : ', untagged';
  return `${verb} ${r.repository}@${r.digest}${tags}`;
}

export function formatGcReport(r: GcReport): string {
  const lines: string[] = [];
  const what = `${plural(r.manifests.length, 'untagged manifest')} and ${plural(r.blobs.length, 'blob')}`;
  const where = r.replicas ? `replicas ${r.replicas.join(', ')}; swept on ${r.master}` : r.master;
  const size = (n: number | undefined) => (n === undefined ? '' : `, ${formatBytes(n)} (${n} bytes)`);
  if (r.check) {
    lines.push(`gc --check on ${where} (container ${r.container}, ${r.dataDir}): nothing was changed`);
    lines.push(`would delete ${what}${size(r.bytesFreed)}:`);
  } else {
    lines.push(`gc on ${where} (container ${r.container}, ${r.dataDir})`);
    lines.push(
      r.replicas
        ? '  every replica ran read-only during the collection and is back to the playbook’s configuration'
        : '  the registry ran read-only during the collection and is back to the playbook’s configuration',
    );
    lines.push(`deleted ${what}:`);
  }
  for (const m of r.manifests) lines.push(`  manifest ${m}`);
  for (const b of r.blobs) lines.push(`  blob     ${b}`);
  if (r.summary) lines.push(`garbage-collect: ${r.summary}`);
  if (!r.check && r.bytesFreed !== undefined && r.bytesBefore !== undefined) {
    lines.push(
      `freed ${formatBytes(r.bytesFreed)} (${r.bytesFreed} bytes): ${formatBytes(r.bytesBefore)} → ${r.bytesAfter === undefined ? '?' : formatBytes(r.bytesAfter)}`,
    );
  }
  return lines.join('\n') + '\n';
}
