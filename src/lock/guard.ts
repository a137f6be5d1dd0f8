// The deploy lock as one entry point for every command that changes the registry: take it (or stop),
// run, always release it, whatever ends the run (an error, a signal).
import { EXIT, ExitError, SIGNAL_EXIT } from '../core/errors.js';
import type { Connection } from '../transport/types.js';
import { describeHolder, isStaleHere, LOCK_DIR, makeHolder, type LockHolder } from './holder.js';
import { acquireLock, LockError, releaseLock } from './remote.js';

export { LockError } from './remote.js';

/** The lock is held by another run: nothing was changed. The message names it and the way out. */
export class LockHeld extends ExitError {
  constructor(
    readonly master: string,
    readonly holder: LockHolder | undefined,
    releaseHint: string,
  ) {
    super(
      `the deploy lock on ${master} (${LOCK_DIR}) is held by ${describeHolder(holder)}; nothing was ` +
        `changed. Wait for that run (--lock-timeout SECONDS), or, if it was killed, break the lock ` +
        `with: ${releaseHint}`,
      EXIT.taskFailed,
    );
    this.name = 'LockHeld';
  }
}

/** A signal stopped the wait for the lock, or the work under it; the lock is released. */
export class StoppedBySignal extends ExitError {
  constructor(readonly signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP') {
    super(`stopped by ${signal}`, SIGNAL_EXIT[signal]);
    this.name = 'StoppedBySignal';
  }
}

export interface DeployLockOptions {
  /** A connection to the master, used for the lock alone (it must outlive the work's own). */
  conn: Connection;
  /** The master's name, for messages. */
  master: string;
  /** The command line recorded as the holder's (secrets masked by `redact`). */
  command: readonly string[];
  redact?: (s: string) => string;
  /** Seconds to wait while another run holds it (0: stop at once). */
  timeoutSeconds: number;
  /** Aborted by a stop signal (engine/stop-signals.ts): stops a wait; the work should honour it. */
  signal?: AbortSignal;
  /** How the user breaks a lock left by a killed run, e.g. `regbook lock release site.yaml -i inv.yaml`. */
  releaseHint: string;
  /** Where waits and take-overs are told (stderr by default). */
  notice?: (line: string) => void;
  dir?: string;
}

export interface HeldDeployLock {
  readonly holder: LockHolder;
  /** Releases it (only if this run still holds it); every call shares the one release. */
  release(): Promise<void>;
}

const stderrNotice = (line: string) => void process.stderr.write(`regbook: ${line}\n`);

/**
 * Takes the deploy lock or throws: LockHeld (another run holds it, after the wait), LockError (it
 * could not be taken or even checked: the caller must stop, never go on unlocked) or
 * StoppedBySignal. A lock left by a dead process of this same machine is taken over, with a notice.
 */
export async function takeDeployLock(o: DeployLockOptions): Promise<HeldDeployLock> {
  const notice = o.notice ?? stderrNotice;
  const me = makeHolder(o.command, o.redact ?? ((s) => s));
  const dir = o.dir ?? LOCK_DIR;
  let got;
  try {
    got = await acquireLock(o.conn, me, {
      timeoutSeconds: o.timeoutSeconds,
      dir,
      ...(o.signal ? { signal: o.signal } : {}),
      isStale: (h): h is LockHolder => isStaleHere(h),
      onTakeover: (h) =>
        notice(
          `taking over the deploy lock on ${o.master}: its holder ${describeHolder(h)} ran on this ` +
            `machine and its process is gone`,
        ),
      onWait: (h) =>
        notice(
          `waiting up to ${o.timeoutSeconds}s for the deploy lock on ${o.master}, held by ${describeHolder(h)}`,
        ),
    });
  } catch (err) {
    if (err instanceof LockError) throw err;
    throw new LockError(`cannot take the deploy lock on ${o.master}: ${(err as Error).message}`);
  }
  if (!got.taken) {
    if (o.signal?.aborted) throw new StoppedBySignal(signalName(o.signal));
    throw new LockHeld(o.master, got.holder, o.releaseHint);
  }
  // One release, however many ask for it (the end of the run and a second signal may both): a
  // later caller waits for the one in flight instead of closing the connection under it.
  let releasing: Promise<void> | undefined;
  return {
    holder: me,
    release() {
      releasing ??= releaseLock(o.conn, me.id, dir).then(() => undefined);
      return releasing;
    },
  };
}

/**
 * Takes the lock, runs `work`, and releases the lock whatever happens: the lock is never held past
 * the call, and work never runs unlocked. If a stop signal came while `work` ran, it resolves only
 * after the release, by throwing StoppedBySignal (main maps it to 130, 143 or 129).
 *
 *   await withDeployLock({ conn, master, command, timeoutSeconds, signal, releaseHint }, (signal) => …)
 */
export async function withDeployLock<T>(
  o: DeployLockOptions,
  work: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const lock = await takeDeployLock(o);
  let result: T;
  try {
    result = await work(o.signal);
  } finally {
    await lock.release().catch((err: Error) => {
      (o.notice ?? stderrNotice)(`could not release the deploy lock on ${o.master}: ${err.message}`);
    });
  }
  if (o.signal?.aborted) throw new StoppedBySignal(signalName(o.signal));
  return result;
}

function signalName(s: AbortSignal): 'SIGINT' | 'SIGTERM' | 'SIGHUP' {
  const r: unknown = s.reason;
  return r === 'SIGTERM' || r === 'SIGHUP' ? r : 'SIGINT';
}
