// What regbook has written on a host to make it trust the registry, so that what the playbook no
// longer asks for (another address, a runtime taken out of trust.runtimes, trust.system turned off,
// a host taken out of trust.hosts) can be taken away again, and nothing else ever is. An anchor
// left behind for an old address or a rotated CA would go on being trusted: wider trust than the
// playbook grants.
//
// The record is a small text file on each host, one entry a line, written atomically before the
// files it lists (so a cut run never leaves a written file unlisted) and cut down to what the
// playbook asks for once the others are gone. Files regbook names after itself
// (`regbook-<address>.crt` in the OS store, `regbook-<address>.conf` drop-ins) are recognised by
// that name too, which also finds those written before the record existed.
import { posix } from 'node:path';
import type { Cmd } from '../../core/cmd.js';
import { declareShellScript, declareShellScriptBuilder } from '../../core/shell-script.js';
import { OWN_NAMED_GLOBS, TRUST_RECORD } from '../../facts/trust-record.js';

export { OWN_NAMED_GLOBS, TRUST_RECORD };

/** The per-registry directories regbook makes; a stale one is removed once it is empty. */
const CERTS_D_ROOTS = ['/etc/docker/certs.d', '/etc/containerd/certs.d', '/etc/containers/certs.d'];

/** The OS stores and what rebuilds each one's bundle after a file left it. */
const STORE_REFRESH: Record<string, string[]> = {
  '/usr/local/share/ca-certificates': ['update-ca-certificates'],
  '/etc/pki/ca-trust/source/anchors': ['update-ca-trust', 'extract'],
};

export interface TrustRecord {
  /** Files regbook wrote (certificates, hosts.toml, drop-ins). */
  files: string[];
  /** Addresses regbook listed in docker's insecure-registries (tls.mode none). */
  insecure: string[];
}

const HEADER =
  '# Written by regbook: the trust files it keeps on this host. The next apply removes those the playbook no longer asks for.';

export function recordText(r: TrustRecord): string {
  const lines = [
    ...[...new Set(r.files)].sort().map((f) => `file ${f}`),
    ...[...new Set(r.insecure)].sort().map((a) => `insecure ${a}`),
  ];
  return [HEADER, ...lines, ''].join('\n');
}

/** Entries of a record; lines it does not know (comments, a later version's kinds) are skipped. */
export function parseRecord(text: string | undefined): TrustRecord {
  const out: TrustRecord = { files: [], insecure: [] };
  for (const line of (text ?? '').split('\n')) {
    if (line.startsWith('file /')) out.files.push(line.slice(5));
    else if (line.startsWith('insecure ')) out.insecure.push(line.slice(9));
  }
  return out;
}

export function mergeRecords(a: TrustRecord, b: TrustRecord): TrustRecord {
  return { files: [...a.files, ...b.files], insecure: [...a.insecure, ...b.insecure] };
}

/**
 * What to take away: the files regbook wrote that are still there (`known`: the record's entries
 * that exist, and files found by regbook's own naming) but that the playbook no longer asks for,
 * and the insecure-registries entries it added for another address.
 */
export function staleTrust(want: TrustRecord, known: Iterable<string>, recorded: TrustRecord): TrustRecord {
  const keep = new Set(want.files);
  const keepInsecure = new Set(want.insecure);
  return {
    files: [...new Set(known)].filter((f) => !keep.has(f) && isTrustPath(f)).sort(),
    insecure: [...new Set(recorded.insecure)].filter((a) => !keepInsecure.has(a)).sort(),
  };
}

// The only shapes of path regbook writes for trust: a record that lists anything else (edited by
// hand, or damaged) does not make regbook remove it.
const NAME = '(?!\\.\\.?/)[^/]+';
const TRUST_PATHS = [
  new RegExp(`^/etc/docker/certs\\.d/${NAME}/ca\\.crt$`),
  new RegExp(`^/etc/containerd/certs\\.d/${NAME}/(ca\\.crt|hosts\\.toml)$`),
  new RegExp(`^/etc/containers/certs\\.d/${NAME}/ca\\.crt$`),
  new RegExp(`^(/usr/local/share/ca-certificates|/etc/pki/ca-trust/source/anchors)/regbook-[^/]+\\.crt$`),
  new RegExp(`^/etc/containers/registries\\.conf\\.d/regbook-[^/]+\\.conf$`),
];

/** Whether a path has the shape of a file regbook writes for trust. */
export function isTrustPath(path: string): boolean {
  return TRUST_PATHS.some((re) => re.test(path));
}

/** The refresh an OS-store file's removal needs, or undefined for a file outside the stores. */
export function storeRefresh(path: string): string[] | undefined {
  return STORE_REFRESH[posix.dirname(path)];
}

// $1 the file; $2 its directory, removed when that leaves it empty (rmdir refuses otherwise, so an
// operator's own files there keep it), or "-".
const REMOVE_SCRIPT = 'rm -f -- "$1" && { [ "$2" = - ] || rmdir -- "$2" 2>/dev/null || true; }';
declareShellScript('tasks/trust/record: remove a stale file', REMOVE_SCRIPT);

/** Removes a stale file, and the per-registry directory it was in once nothing else is there. */
export function removeStaleCmd(path: string): Cmd {
  const dir = posix.dirname(path);
  const ownDir = CERTS_D_ROOTS.includes(posix.dirname(dir));
  return { argv: ['sh', '-c', REMOVE_SCRIPT, 'sh', path, ownDir ? dir : '-'], privileged: true };
}

/**
 * Removes files of one OS store (all under the same store directory) and, when `rebuild`, rebuilds
 * that store's bundle in the same command. The rebuild is a fixed command from the table above;
 * the paths are positional arguments.
 */
export function removeStoreFilesCmd(paths: readonly string[], rebuild: boolean): Cmd {
  const refresh = storeRefresh(paths[0] ?? '');
  if (!refresh || paths.some((p) => storeRefresh(p) !== refresh))
    throw new Error(`not files of one OS store: ${paths.join(', ')}`);
  return {
    argv: ['sh', '-c', storeRemovalScript(rebuild ? refresh : undefined), 'sh', ...paths],
    privileged: true,
  };
}

// The files are positional arguments; the rebuild, when there is one, is a command of STORE_REFRESH.
function storeRemovalScript(refresh: readonly string[] | undefined): string {
  return refresh ? `rm -f -- "$@" && ${refresh.join(' ')}` : 'rm -f -- "$@"';
}
declareShellScriptBuilder('tasks/trust/record: remove OS store files', storeRemovalScript, () => [
  [undefined],
  ...Object.values(STORE_REFRESH).map((r) => [r] as const),
]);
