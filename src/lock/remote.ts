// The deploy lock on the master, through a Connection: take it (waiting up to a timeout), read it,
// release it. Like Kamal's deploy lock, it keeps two applies from converging the cluster at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT, ExitError } from '../core/errors.js';
import type { Connection } from '../transport/types.js';
import { acquireCmd, HELD, LOCK_DIR, parseHolder, releaseCmd, statusCmd, type LockHolder } from './holder.js';

export type AcquireResult = { taken: true } | { taken: false; holder: LockHolder | undefined };

/** The lock could not be taken or even checked: the run stops (exit 2), it never goes on unlocked. */
export class LockError extends ExitError {
  constructor(message: string) {
    super(message, EXIT.taskFailed);
    this.name = 'LockError';
  }
}

function failure(what: string, r: { code: number; stderr: string; stdout: string }): LockError {
  const why = (r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ');
  return new LockError(`${what} failed (exit ${r.code})${why ? `: ${why}` : ''}`);
}

/**
 * Tries to take the lock; while someone else holds it, tries again every `pollMs` until
 * `timeoutSeconds` have passed (0: one try) or `signal` aborts (Ctrl-C while waiting). Resolves
 * with the holder when it stays held.
 */
export async function acquireLock(
  conn: Connection,
  me: LockHolder,
  opts: {
    timeoutSeconds: number;
    pollMs?: number;
    dir?: string;
    onWait?: (h: LockHolder | undefined) => void;
    signal?: AbortSignal;
    /** A holder that may be taken over (isStaleHere); told to `onTakeover` before it is. */
    isStale?: (h: LockHolder | undefined) => h is LockHolder;
    onTakeover?: (h: LockHolder) => void;
  },
): Promise<AcquireResult> {
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  const dir = opts.dir ?? LOCK_DIR;
  let told = false;
  const tookOver = new Set<string>();
  for (;;) {
    const r = await conn.exec(acquireCmd(me, dir));
    if (r.code === 0) return { taken: true };
    if (r.code !== HELD) throw failure(`taking the deploy lock ${dir}`, r);
    const holder = parseHolder(r.stdout);
    // Released by its id only: if another run took it over first, its record no longer matches
    // and this run finds the lock held by a live process on the next try.
    if (opts.isStale?.(holder) && !tookOver.has(holder.id)) {
      tookOver.add(holder.id);
      opts.onTakeover?.(holder);
      await releaseLock(conn, holder.id, dir);
      continue;
    }
    if (Date.now() >= deadline || opts.signal?.aborted) return { taken: false, holder };
    if (!told) opts.onWait?.(holder);
    told = true;
    const wait = Math.min(opts.pollMs ?? 1000, Math.max(0, deadline - Date.now()));
    await sleep(wait, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined);
    if (opts.signal?.aborted) return { taken: false, holder };
  }
}

/** The holder when the lock is held (undefined record if unreadable), or `null` when it is free. */
export async function lockStatus(
  conn: Connection,
  dir = LOCK_DIR,
): Promise<{ held: false } | { held: true; holder: LockHolder | undefined }> {
  const r = await conn.exec(statusCmd(dir));
  if (r.code === 1) return { held: false };
  if (r.code !== 0) throw failure(`reading the deploy lock ${dir}`, r);
  return { held: true, holder: parseHolder(r.stdout) };
}

/**
 * Releases the lock: only when `id` owns it, or whoever holds it when `id` is undefined.
 * Resolves with what was found: released, not held, or held by someone else (left alone).
 */
export async function releaseLock(
  conn: Connection,
  id: string | undefined,
  dir = LOCK_DIR,
): Promise<'released' | 'not-held' | 'other'> {
  const r = await conn.exec(releaseCmd(id, dir));
  if (r.code === 0) return 'released';
  if (r.code === 1) return 'not-held';
  if (r.code === HELD) return 'other';
  throw failure(`releasing the deploy lock ${dir}`, r);
}
