import { writeSync } from 'node:fs';
import { loadBoth } from '../config/index.js';
import { EXIT, formatDiagnostic, SIGNAL_EXIT } from '../core/errors.js';
import type { TaskId } from '../core/task.js';
import { createRun, resolveSecrets } from '../engine/setup.js';
import type { EngineEvent } from '../engine/events.js';
import { CUT_AFTER_MS, exitCodeOf, runTasks } from '../engine/run.js';
import { selectHosts } from '../engine/select.js';
import type { Shared } from '../tasks/shared.js';
import { connect } from '../transport/index.js';
import { describeHolder } from '../lock/holder.js';
import { LockError, LockHeld, StoppedBySignal, takeDeployLock, type HeldDeployLock } from '../lock/guard.js';
import { lockStatus } from '../lock/remote.js';
import { listenForStopSignals } from '../engine/stop-signals.js';
import { paletteFor } from '../ui/color.js';
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

/** After a second signal, how long releasing the lock may take before the process exits anyway. */
const FORCE_CLOSE_MS = 5000;

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T | undefined> =>
  Promise.race([p, new Promise<undefined>((res) => setTimeout(() => res(undefined), ms).unref())]);

/** `regbook apply`: load and validate (exit 1 before any connection), then run and map to an exit code. */
export async function runApply(a: ApplyArgs): Promise<number> {
  const { playbook, inventory } = loadBoth(a.playbook, a.inventory, { localFiles: true });
  for (const w of playbook.warnings ?? []) process.stderr.write(`regbook: warning: ${formatDiagnostic(w)}\n`);
  const secrets = resolveSecrets(playbook);
  const redact = makeRedact([...secrets.values()].map((s) => s.reveal()));
  const palette = paletteFor(process.stdout);

  // The tree is for a terminal, whatever the colour setting or verbosity; NO_COLOR only takes the
  // colour away. Pipes and files get plain lines.
  let emit: (e: EngineEvent) => void;
  let finished = async () => undefined as unknown;
  const tty = a.output === 'text' && process.stdout.isTTY === true && process.env.TERM !== 'dumb';
  if (a.output === 'json') emit = ndjsonRenderer(process.stdout, redact);
  else if (tty) {
    const { liveRenderer } = await import('../ui/live.js');
    const r = liveRenderer(process.stdout, { diff: a.diff, redact, verbose: a.verbose, palette });
    emit = r;
    finished = r.finished;
  } else emit = plainRenderer(process.stdout, { diff: a.diff, verbose: a.verbose, redact, palette });

  // Events wait here until the lock is taken (see `proceed` below), and are dropped if it is not.
  const held: EngineEvent[] = [];
  let open = false;
  const gatedEmit = (e: EngineEvent) => (open ? emit(e) : held.push(e));

  const run = createRun<Shared>(playbook, inventory, secrets, a, gatedEmit, {});
  const master = inventory.master;
  const releaseHint = `regbook lock release ${a.playbook} -i ${a.inventory}`;
  // Check mode changes nothing on the control node either: accept-new records no host key.
  const hostKeyOpts = { recordHostKeys: !a.check };

  // The deploy lock lives on the master, on a connection of its own, so it can be released even
  // when the run's connection to the master fails; check mode only reads it, on the run's own
  // connection. Everything independent starts at once: the lock's connection, the run's
  // connections (the engine picks them up) and the task modules.
  const early = new Map(
    [
      ...selectHosts(inventory.hosts, a.limit),
      ...(selectHosts(inventory.hosts, a.limit).includes(master) ? [] : [master]),
    ].map((h) => {
      const p = connect(h, hostKeyOpts);
      p.catch(() => undefined); // reported by the engine when it asks for it
      return [h.name, p] as const;
    }),
  );
  const closeEarly = () => Promise.allSettled([...early.values()].map((p) => p.then((c) => c.close())));
  const tasksModule = import('../tasks/index.js');
  let lockConnError: unknown;
  const lockConn: Connection | undefined = await (a.check ? early.get(master.name)! : connect(master)).catch(
    (err: unknown) => void (lockConnError = err),
  );
  let lock: HeldDeployLock | undefined;
  // Settles (never rejects) once the lock is taken or refused; set below, before any await.
  let lockDone: Promise<boolean> = Promise.resolve(true);

  // SIGINT, SIGTERM, SIGHUP: the engine starts no new work, lets what is in flight finish (or cuts
  // it), and ends with a recap; the lock is released below, as after any run. A second signal
  // cuts everything at once.
  const releaseNow = async () => {
    await Promise.allSettled([...run.conns.values()].map((c) => c.close()));
    await closeEarly();
    if (lockConn) {
      await withTimeout(lockDone, FORCE_CLOSE_MS); // a lock being granted right now is released too
      await lock?.release().catch(() => undefined);
      await lockConn.close().catch(() => undefined);
    }
  };
  const stop = listenForStopSignals({
    onFirst: (sig) =>
      process.stderr.write(
        `\nregbook: ${sig}: stopping; no new step starts, steps in flight finish, then the deploy lock ` +
          `is released (send it again to cut at once)\n`,
      ),
    onForce: async () => {
      // Written past listr2, which holds back what is written to the streams while it draws.
      writeSync(2, '\nregbook: cutting connections now\n');
      if (tty) writeSync(1, '\u001b[?25h'); // the tree hid the cursor
      await withTimeout(releaseNow(), FORCE_CLOSE_MS);
    },
    exitCode: (sig) => SIGNAL_EXIT[sig],
    // The engine cuts work in flight after CUT_AFTER_MS; past this, something else holds the run.
    deadlineMs: CUT_AFTER_MS + 20_000,
  });

  // An apply takes the lock before it reads anything: facts gathered while another run was still
  // changing the hosts (restarting docker, pulling) could be wrong by the time this one may go on,
  // and every decision rests on them. Check mode changes nothing and takes no lock: its facts run
  // while the holder is looked up. What the first tasks report is held back until the lock step
  // ends, and dropped if the lock is not taken.
  const lockTimeout = a.lockTimeout ?? 0;
  let lockFailure: unknown;
  const lockStep = async (): Promise<boolean> => {
    if (a.check) {
      // Check mode changes nothing, so it takes no lock; it says when an apply is running.
      if (!lockConn) return true;
      const st = await lockStatus(lockConn).catch(() => undefined);
      if (st?.held)
        process.stderr.write(
          `regbook: note: the deploy lock on ${master.name} is held by ${describeHolder(st.holder)}\n`,
        );
      return true;
    }
    if (!lockConn) {
      // Never unlocked: a master that cannot be reached cannot be locked, so nothing runs.
      lockFailure = new LockError(
        `cannot take the deploy lock: ${master.name} cannot be reached: ${(lockConnError as Error)?.message ?? 'no connection'}`,
      );
      return false;
    }
    try {
      lock = await takeDeployLock({
        conn: lockConn,
        master: master.name,
        command: ['regbook', ...process.argv.slice(2)],
        redact,
        timeoutSeconds: lockTimeout,
        signal: stop.signal,
        releaseHint,
      });
      return true;
    } catch (err) {
      lockFailure = err;
      return false;
    }
  };
  const lockFirst = !a.check;
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

  // The lock was not taken: nothing was changed, and the run stops here.
  const notLocked = async (): Promise<number> => {
    await closeEarly();
    await finished();
    if (stop.which() || lockFailure instanceof StoppedBySignal) {
      process.stderr.write('regbook: stopped before the deploy lock was taken; nothing was changed\n');
      return SIGNAL_EXIT[stop.which() ?? 'SIGINT'];
    }
    if (lockFailure instanceof LockHeld) {
      process.stderr.write(`regbook: ${lockFailure.message}\n`);
      return EXIT.taskFailed;
    }
    const why = lockFailure instanceof Error ? lockFailure.message : String(lockFailure);
    process.stderr.write(`regbook: ${why}; nothing was changed\n`);
    return lockConn ? EXIT.taskFailed : EXIT.unreachable;
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
        connect: (h) => early.get(h.name) ?? connect(h, hostKeyOpts),
        proceed,
        signal: stop.signal,
      },
      gatedEmit,
    );
    if (outcome.stopped) return await notLocked();
    await finished();
    // A signal that came after the engine's last step still stops the run with its own code.
    const sig = stop.which();
    if (sig && !outcome.interrupted) return SIGNAL_EXIT[sig];
    return exitCodeOf(outcome, { check: a.check, detailedExitcode: a.detailedExitcode });
  } finally {
    await lockDone; // an early failure must not leave a lock that is being taken
    if (lockConn) {
      await lock
        ?.release()
        .catch((err: Error) =>
          process.stderr.write(
            `regbook: could not release the deploy lock on ${master.name}: ${err.message}\n`,
          ),
        );
      await lockConn.close().catch(() => undefined);
    }
    await closeEarly();
    stop.dispose();
  }
}
