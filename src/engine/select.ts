// Which hosts a run touches: --limit's entries, each a host name, a group (master, workers, all)
// or a glob over host names (worker*, worker[12]), as Ansible's host patterns are read.
import picomatch from 'picomatch';
import type { HostSpec } from '../config/model.js';
import { UsageError } from '../core/errors.js';
import { HOST_GROUPS } from './host-groups.js';

function groupMembers(all: readonly HostSpec[], group: string): HostSpec[] | undefined {
  if (group === 'all') return [...all];
  if (group === 'master') return all.filter((h) => h.role === 'master');
  if (group === 'workers') return all.filter((h) => h.role === 'worker');
  return undefined;
}

/** The hosts one entry names; a host's own name wins over a group of the same name. */
function matchEntry(all: readonly HostSpec[], entry: string): HostSpec[] {
  const named = all.filter((h) => h.name === entry);
  if (named.length > 0) return named;
  const group = groupMembers(all, entry);
  if (group) return group;
  if (!picomatch.scan(entry).isGlob) return [];
  const isMatch = picomatch(entry, { dot: true });
  return all.filter((h) => isMatch(h.name));
}

/**
 * Hosts named by --limit, in inventory order. An entry that names no host is a usage error, not a
 * silent no-op: a typo must not turn a run on one host into a run on none.
 */
export function selectHosts(all: HostSpec[], limit?: readonly string[]): HostSpec[] {
  if (!limit || limit.length === 0) return all;
  const chosen = new Set<string>();
  const unmatched: string[] = [];
  for (const entry of limit) {
    const hosts = matchEntry(all, entry);
    if (hosts.length === 0) unmatched.push(entry);
    for (const h of hosts) chosen.add(h.name);
  }
  if (unmatched.length > 0) {
    throw new UsageError(
      `--limit ${unmatched.join(', ')} matches no host (known: ${all.map((h) => h.name).join(', ')}; ` +
        `groups: ${HOST_GROUPS.join(', ')}; globs such as worker*)`,
    );
  }
  return all.filter((h) => chosen.has(h.name));
}
