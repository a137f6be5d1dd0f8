// What the trust task reads on a host before it decides: its trust files with their modes, whether
// the OS bundle holds each store file's certificate, whether the running docker daemon started
// before each store file was written, and what regbook wrote there before (its record, and the
// files the record or regbook's own naming marks).
import type { Cmd } from '../core/cmd.js';
import { declareShellScript } from '../core/shell-script.js';
import { TaskFailure } from '../core/task.js';
import type { Connection } from '../transport/types.js';
import type { RemoteFile } from './files.js';
import { OWN_NAMED_GLOBS, TRUST_RECORD } from './trust-record.js';

// dockerd writes its pid here when it starts (its default --pidfile, under systemd and SysV init
// alike), so the file's mtime is when the running daemon started.
export const DOCKER_PIDFILE = '/var/run/docker.pid';

/** A file the probe reads: a store file also names the OS bundle its refresh builds. */
export interface ProbedFile {
  path: string;
  system: boolean;
  bundle?: string;
}

// One line per file: "M" when it is missing, else "F <mode> <base64>", and for a store file two
// flags more.
// - Whether the OS bundle holds the certificate the file holds: a run cut off after writing the
//   store file and before the refresh leaves the file right and the bundle stale, and without
//   this no later run would refresh it. The middle line of the PEM body, as a whole line of the
//   bundle, finds the certificate. The file on the host is read rather than the anchor, so the
//   probe needs nothing from tls and can run with the facts; its answer counts only where the
//   file holds the anchor (elsewhere the file is written and the store refreshed anyway).
// - Whether the running docker daemon started before the file was written, and so has not loaded
//   it: a run cut off between the refresh and the restart leaves file and bundle right, and only
//   this shows the restart is still owed. Without a pidfile there is no telling: no restart.
// After those lines, what regbook wrote here before: "R <base64>" with the record when there is
// one, and "K <path>" for each file the record lists or regbook's naming marks that exists.
// Paths are positional arguments ($1 the pidfile, $2 the record, then path and bundle pairs, "-"
// for none); the globs are fixed.
const TRUST_PROBE = [
  'pid=$1 rec=$2; shift 2',
  'while [ $# -ge 2 ]; do',
  '  f=$1 b=$2; shift 2',
  '  if [ ! -f "$f" ]; then echo M; continue; fi',
  '  printf "F %s %s" "$(stat -c %a "$f")" "$(base64 -w0 < "$f")"',
  '  if [ "$b" != - ]; then',
  `    h=0; l=$(awk '$0 != "" && !/^-----/ { a[++n] = $0 } END { if (n) print a[int(n / 2) + 1] }' "$f")`,
  '    [ -n "$l" ] && [ -f "$b" ] && grep -qxF -- "$l" "$b" && h=1',
  '    o=0',
  "    # shellcheck disable=SC3013 # dash's, bash's and busybox's test have -nt, POSIX's has not",
  '    [ -f "$pid" ] && [ "$f" -nt "$pid" ] && o=1',
  '    printf " %s %s" "$h" "$o"',
  '  fi',
  '  echo',
  'done',
  'if [ -f "$rec" ]; then',
  '  printf "R %s\\n" "$(base64 -w0 < "$rec")"',
  '  while IFS= read -r l; do case $l in "file /"*) p=${l#file }',
  '    if [ -e "$p" ] || [ -L "$p" ]; then printf "K %s\\n" "$p"; fi ;; esac; done < "$rec"',
  'fi',
  `for p in ${OWN_NAMED_GLOBS.join(' ')}; do if [ -f "$p" ]; then printf "K %s\\n" "$p"; fi; done`,
].join('\n');
declareShellScript('facts/trust: trust probe', TRUST_PROBE);

/** What trust reads on a host before it decides: the files, and per store file its two probes. */
export interface TrustProbe {
  files: Map<string, RemoteFile | undefined>;
  /** By store file: the OS bundle holds the certificate that file holds. */
  bundleHolds: Map<string, boolean>;
  /** By store file: the running docker daemon started before the file was written. */
  dockerOlder: Map<string, boolean>;
  /** The record of what regbook wrote here (tasks/trust/record.ts), when there is one. */
  record?: string;
  /** Files regbook wrote here that exist: those the record lists, and those its naming marks. */
  known: Set<string>;
}

export function trustProbeCmd(
  files: readonly ProbedFile[],
  pidfile = DOCKER_PIDFILE,
  record = TRUST_RECORD,
): Cmd {
  const args = files.flatMap((f) => [f.path, f.system && f.bundle ? f.bundle : '-']);
  return { argv: ['sh', '-c', TRUST_PROBE, 'sh', pidfile, record, ...args], privileged: true };
}

/** Whether a command is the trust probe (a reader that adds to its round trip looks for it). */
export function isTrustProbe(c: Cmd): boolean {
  return c.argv[2] === TRUST_PROBE;
}

export function parseTrustProbe(files: readonly ProbedFile[], stdout: string): TrustProbe {
  const all = stdout.split('\n').filter((l) => l.length > 0);
  const lines = all.slice(0, files.length);
  const rest = all.slice(files.length);
  if (lines.length !== files.length || rest.some((l) => !/^[RK] /.test(l)))
    throw new Error(`expected ${files.length} trust file reports, got ${all.length} lines`);
  const probe: TrustProbe = {
    files: new Map(),
    bundleHolds: new Map(),
    dockerOlder: new Map(),
    known: new Set(),
  };
  for (const l of rest) {
    if (l.startsWith('R ')) probe.record = Buffer.from(l.slice(2), 'base64').toString('utf8');
    else probe.known.add(l.slice(2));
  }
  files.forEach((f, i) => {
    const [kind, mode, b64, holds, older] = lines[i]!.split(' ');
    probe.files.set(
      f.path,
      kind === 'F' ? { mode: mode ?? '', content: Buffer.from(b64 ?? '', 'base64') } : undefined,
    );
    probe.bundleHolds.set(f.path, holds === '1');
    probe.dockerOlder.set(f.path, older === '1');
  });
  return probe;
}

/** One round trip: the files, whether each OS bundle holds its store file, and docker's age against it. */
export async function probeTrust(conn: Connection, files: readonly ProbedFile[]): Promise<TrustProbe> {
  const r = await conn.exec(trustProbeCmd(files));
  if (r.code !== 0)
    throw new TaskFailure(`reading ${files.map((f) => f.path).join(', ')} failed: ${r.stderr.trim()}`);
  return parseTrustProbe(files, r.stdout);
}
