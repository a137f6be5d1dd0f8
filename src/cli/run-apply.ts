import { loadBoth } from '../config/index.js';
import { EXIT, formatDiagnostic } from '../core/errors.js';
import type { TaskId } from '../core/task.js';
import { createRun, resolveSecrets } from '../engine/setup.js';
import type { EngineEvent } from '../engine/events.js';
import { exitCodeOf, runTasks, selectHosts } from '../engine/run.js';
import type { Shared } from '../tasks/shared.js';
import { connect } from '../transport/index.js';
import { describeHolder, LOCK_DIR, makeHolder, type LockHolder } from '../lock/holder.js';
import { acquireLock, lockStatus, releaseLock } from '../lock/remote.js';
import type { Connection } from '../transport/types.js';
import { makeRedact } from '../ui/format.js';
import { ndjsonRenderer } from '../ui/ndjson.js';
import { plainRenderer } from '../ui/plain.js';

export interface ApplyArgs {
  playbook: string;
  inventory: string;
  check: boolean;
  diff: boolean;
  limit?: string[];
  tags?: TaskId[];
  skipTags?: TaskId[];
  forks: number;
  output: 'text' | 'json';
  detailedExitcode: boolean;
  verbose: number;
  /** Seconds to wait for the deploy lock on the master (0: stop at once when it is held). */
  lockTimeout?: number;
}

/** How long closing connections may take on Ctrl-C before the process exits anyway. */
const SIGINT_CLOSE_MS = 5000;

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T | undefined> =>
  Promise.race([p, new Promise<undefined>((res) => setTimeout(() => res(undefined), ms))]);

/** `regbook apply`: load and validate (exit 1 before any connection), then run and map to an exit code. */
export async function runApply(a: ApplyArgs): Promise<number> {
  const { playbook, inventory } = loadBoth(a.playbook, a.inventory);
  for (const w of playbook.warnings ?? []) process.stderr.write(`regbook: warning: ${formatDiagnostic(w)}\n`);
  const secrets = resolveSecrets(playbook);
  const redact = makeRedact([...secrets.values()].map((s) => s.reveal()));

  let emit: (e: EngineEvent) => void;
  let finished = async () => undefined as unknown;
  const live =
    a.output === 'text' &&
    process.stdout.isTTY &&
    !process.env.NO_COLOR &&
    !process.env.CI &&
    a.verbose === 0;
  if (a.output === 'json') emit = ndjsonRenderer(process.stdout, redact);
  else if (live) {
    const { liveRenderer } = await import('../ui/live.js');
    const r = liveRenderer(process.stdout, { diff: a.diff, redact });
    emit = r;
    finished = r.finished;
  } else emit = plainRenderer(process.stdout, { diff: a.diff, verbose: a.verbose, redact });

  // Events wait here until the lock is taken (see `proceed` below), and are dropped if it is not.
  const held: EngineEvent[] = [];
  let open = false;
  const gatedEmit = (e: EngineEvent) => (open ? emit(e) : held.push(e));

  const run = createRun<Shared>(playbook, inventory, secrets, a, gatedEmit, {});
  const master = inventory.master;

  // The deploy lock lives on the master, on a connection of its own, so it can be released even
  // when the run's connection to the master fails; check mode only reads it, on the run's own
  // connection. A master that cannot be reached takes no lock: the run then reports it
  // unreachable, and nothing that needs the master (everything after facts) can change anything.
  // Everything independent starts at once: the lock's connection, the run's connections (the
  // engine picks them up) and the task modules.
  const early = new Map(
    [
      ...selectHosts(inventory.hosts, a.limit),
      ...(a.limit && !a.limit.includes(master.name) ? [master] : []),
    ].map((h) => {
      const p = connect(h);
      p.catch(() => undefined); // reported by the engine when it asks for it
      return [h.name, p] as const;
    }),
  );
  const closeEarly = () => Promise.allSettled([...early.values()].map((p) => p.then((c) => c.close())));
  const tasksModule = import('../tasks/index.js');
  const lockConn: Connection | undefined = await (a.check ? early.get(master.name)! : connect(master)).catch(
    () => undefined,
  );
  const me = makeHolder(['regbook', ...process.argv.slice(2)], redact);
  let locked = false;
  let interrupted = false;
  // Settles (never rejects) once the lock is taken or refused; set below, before any await.
  let lockDone: Promise<boolean> = Promise.resolve(true);

  // Ctrl-C: close every connection (remote writers then clean up their temporary files), release
  // the lock, exit 130. A host that does not answer cannot hold the exit up for long.
  const stopWaiting = new AbortController();
  const onSigint = () => {
    interrupted = true;
    stopWaiting.abort();
    process.stderr.write('\ninterrupted: closing connections\n');
    const closing = (async () => {
      await Promise.allSettled([...run.conns.values()].map((c) => c.close()));
      await closeEarly();
      if (lockConn) {
        // A lock being taken right now may still be granted: wait for the answer, then release.
        await lockDone;
        if (locked) await releaseLock(lockConn, me.id).catch(() => undefined);
        await lockConn.close().catch(() => undefined);
      }
    })();
    void withTimeout(closing, SIGINT_CLOSE_MS).then(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);

  // Facts only read, so they run while the lock is taken (or, in check mode, while its holder is
  // looked up): the lock adds no round trip before the first task. What they report is held back
  // until then, and dropped if the lock is held. With --lock-timeout the lock comes first: facts
  // gathered while another run restarts docker could be wrong by the time this one may go on.
  const lockTimeout = a.lockTimeout ?? 0;
  let lockFailure: unknown;
  let holder: LockHolder | undefined;
  const lockStep = async (): Promise<boolean> => {
    if (!lockConn) return true;
    if (a.check) {
      // Check mode changes nothing, so it takes no lock; it says when an apply is running.
      const st = await lockStatus(lockConn).catch(() => undefined);
      if (st?.held)
        process.stderr.write(
          `regbook: note: the deploy lock on ${master.name} is held by ${describeHolder(st.holder)}\n`,
        );
      return true;
    }
    try {
      const got = await acquireLock(lockConn, me, {
        timeoutSeconds: lockTimeout,
        signal: stopWaiting.signal,
        onWait: (h) =>
          process.stderr.write(
            `regbook: waiting up to ${lockTimeout}s for the deploy lock on ${master.name}, held by ${describeHolder(h)}\n`,
          ),
      });
      if (got.taken) locked = true;
      else holder = got.holder;
      return got.taken;
    } catch (err) {
      lockFailure = err;
      return false;
    }
  };
  const lockFirst = lockTimeout > 0 && !a.check;
  lockDone = lockStep();
  if (lockFirst) await lockDone;
  // The held events go out as soon as the lock is held, not when facts end. This callback is
  // registered before the engine's `proceed` awaits the same promise, so it runs first.
  void lockDone.then((ok) => {
    if (!ok) return;
    open = true;
    for (const e of held.splice(0)) emit(e);
  });
  const proceed = () => lockDone;

  // The lock was not taken: nothing was changed. A failure to even ask is thrown as it is. After
  // Ctrl-C (which stops a wait for the lock) the signal handler has said all there is to say.
  const notLocked = async () => {
    await closeEarly();
    if (interrupted) return EXIT.taskFailed;
    if (lockFailure) throw lockFailure;
    process.stderr.write(
      `regbook: the deploy lock on ${master.name} (${LOCK_DIR}) is held by ${describeHolder(holder)}; ` +
        `nothing was changed. Wait for that run (--lock-timeout SECONDS), or, if it was killed, break ` +
        `the lock with: regbook lock release ${a.playbook} -i ${a.inventory}\n`,
    );
    return EXIT.taskFailed;
  };

  try {
    if (lockFirst && !(await lockDone)) return await notLocked();
    const { TASKS, HANDLERS } = await tasksModule;
    const outcome = await runTasks(
      run,
      TASKS,
      HANDLERS,
      {
        ...(a.limit ? { limit: a.limit } : {}),
        ...(a.tags ? { tags: a.tags } : {}),
        ...(a.skipTags ? { skipTags: a.skipTags } : {}),
        forks: a.forks,
        connect: (h) => early.get(h.name) ?? connect(h),
        proceed,
      },
      gatedEmit,
    );
    if (outcome.stopped) return await notLocked();
    await finished();
    return exitCodeOf(outcome, { check: a.check, detailedExitcode: a.detailedExitcode });
  } finally {
    // On Ctrl-C the signal handler owns the clean-up (and the exit code).
    if (!interrupted) {
      process.removeListener('SIGINT', onSigint);
      await lockDone; // an early failure must not leave a lock that is being taken
      if (lockConn) {
        if (locked) {
          await releaseLock(lockConn, me.id).catch((err: Error) =>
            process.stderr.write(
              `regbook: could not release the deploy lock on ${master.name}: ${err.message}\n`,
            ),
          );
        }
        await lockConn.close().catch(() => undefined);
      }
    }
  }
}
