// The deploy lock's data and remote commands, without side effects: what a holder record holds, how
// it is shown, and the argv that take, read and break the lock on the master.
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { posix } from 'node:path';
import type { Cmd } from '../core/cmd.js';
import { declareShellScript } from '../core/shell-script.js';

/** A directory: `mkdir` is atomic on every POSIX file system, so two runs cannot both create it. */
export const LOCK_DIR = '/var/lib/regbook/lock';
export const HOLDER_FILE = 'holder.json';

export interface LockHolder {
  /** Random per run, so a run releases only its own lock. */
  id: string;
  /** user@host of the control node. */
  holder: string;
  pid: number;
  /** ISO 8601, UTC. */
  since: string;
  /** The command line, secrets masked. */
  command: string;
}

/** The record this process writes when it takes the lock; `redact` masks any secret in argv. */
export function makeHolder(
  argv: readonly string[],
  redact: (s: string) => string,
  now = new Date(),
): LockHolder {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers): keep 'unknown'.
  }
  return {
    id: randomUUID(),
    holder: `${user}@${hostname()}`,
    pid: process.pid,
    since: now.toISOString(),
    command: redact(argv.map((w) => (/^[\w./:=@%+,-]+$/.test(w) ? w : JSON.stringify(w))).join(' ')),
  };
}

/** Parses a holder record read from the master; a half-written or foreign file gives undefined. */
export function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.holder !== 'string' || typeof v.since !== 'string') return undefined;
    return {
      id: typeof v.id === 'string' ? v.id : '',
      holder: v.holder,
      pid: typeof v.pid === 'number' ? v.pid : 0,
      since: v.since,
      command: typeof v.command === 'string' ? v.command : '',
    };
  } catch {
    return undefined;
  }
}

/** "root@ctl (pid 42) since 2026-01-01T10:00:00.000Z (3m ago): regbook apply site.yaml …" */
export function describeHolder(h: LockHolder | undefined, now = new Date()): string {
  if (!h) return 'an unknown holder (the lock record is missing or unreadable)';
  const age = ageText(now.getTime() - Date.parse(h.since));
  return `${h.holder} (pid ${h.pid}) since ${h.since}${age ? ` (${age} ago)` : ''}${h.command ? `: ${h.command}` : ''}`;
}

function ageText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

// Exit codes of the scripts below, so the caller can tell "held" from "could not even try".
export const HELD = 10;

// $1 lock dir, $2 its parent. The holder record, one JSON line, arrives on stdin and is written
// only by the run that made the dir. The master runs this while it also answers the facts, the
// tls read-ahead and more, so it starts as few processes as it can: shell builtins write the
// record, and the parent is made only the first time.
const ACQUIRE = `set -u
lock=$1 parent=$2
# shellcheck disable=SC2174 # the mode is for the lock's parent; its own parents keep the defaults
[ -d "$parent" ] || mkdir -p -m 755 -- "$parent" || exit 3
if mkdir -m 755 -- "$lock" 2>/dev/null; then
  IFS= read -r rec && printf '%s\\n' "$rec" > "$lock/${HOLDER_FILE}.tmp" &&
    mv -f -- "$lock/${HOLDER_FILE}.tmp" "$lock/${HOLDER_FILE}" && exit 0
  rm -rf -- "$lock"; exit 3
fi
[ -d "$lock" ] || exit 3
cat -- "$lock/${HOLDER_FILE}" 2>/dev/null
exit ${HELD}
`;
declareShellScript('lock/holder: acquire', ACQUIRE);

// $1 lock dir. Prints the record and exits 0 when held; exits 1 when free.
const STATUS = `lock=$1
[ -d "$lock" ] || exit 1
cat -- "$lock/${HOLDER_FILE}" 2>/dev/null
exit 0
`;
declareShellScript('lock/holder: status', STATUS);

// $1 lock dir, $2 the run id that must own it ('' breaks the lock whoever holds it).
// Exits 0 when released, 1 when it was not held, HELD when someone else holds it.
const RELEASE = `lock=$1 id=$2
[ -d "$lock" ] || exit 1
if [ -n "$id" ] && ! grep -qF -- "\\"id\\":\\"$id\\"" "$lock/${HOLDER_FILE}" 2>/dev/null; then exit ${HELD}; fi
rm -rf -- "$lock"
`;
declareShellScript('lock/holder: release', RELEASE);

export function acquireCmd(h: LockHolder, dir = LOCK_DIR): Cmd {
  return {
    argv: ['sh', '-c', ACQUIRE, 'regbook-lock', dir, posix.dirname(dir)],
    stdin: JSON.stringify(h) + '\n',
    privileged: true,
  };
}

export function statusCmd(dir = LOCK_DIR): Cmd {
  return { argv: ['sh', '-c', STATUS, 'regbook-lock', dir], privileged: true };
}

/** Releases the lock if `id` owns it; with no id, breaks it whoever holds it. */
export function releaseCmd(id: string | undefined, dir = LOCK_DIR): Cmd {
  return { argv: ['sh', '-c', RELEASE, 'regbook-lock', dir, id ?? ''], privileged: true };
}

/** The control machine's part of a holder (`user@host` → `host`). */
export function holderHost(holder: string): string {
  return holder.slice(holder.lastIndexOf('@') + 1);
}

/** Whether a process with this pid runs on this machine (EPERM: it runs, as another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A lock left by a run of this same control machine whose process is gone (killed, machine
 * rebooted): nobody can be converging under it, so it may be taken over. Only a record this
 * machine can judge qualifies: same host, a pid, and an id to release it by (so two runs that
 * both find it stale cannot both take it).
 */
export function isStaleHere(
  h: LockHolder | undefined,
  here: string = hostname(),
  alive: (pid: number) => boolean = pidAlive,
): h is LockHolder {
  return !!h && h.id !== '' && holderHost(h.holder) === here && h.pid > 0 && !alive(h.pid);
}
