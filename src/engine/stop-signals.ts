import type { StopSignal } from './events.js';

export const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export interface StopSignals {
  /** Aborted at the first of SIGINT, SIGTERM or SIGHUP, with that signal's name as its reason. */
  readonly signal: AbortSignal;
  /** The first signal that came, if one did. */
  which(): StopSignal | undefined;
  /** Stops listening; the process's default handling of the three signals comes back. */
  dispose(): void;
}

/**
 * Turns SIGINT (Ctrl-C), SIGTERM and SIGHUP into an AbortSignal, so a run stops starting work and
 * ends the way it always ends (recap, lock released) instead of dying mid-write. A second signal
 * means "now": `onForce` runs (cut connections, release what can be released) and, failing that
 * to end the process within `forceExitMs`, it exits with the first signal's code.
 */
export function listenForStopSignals(
  opts: {
    onFirst?: (sig: StopSignal) => void;
    onForce?: (sig: StopSignal) => Promise<void>;
    exitCode?: (sig: StopSignal) => number;
    forceExitMs?: number;
    /**
     * After the first signal, the run has this long to end on its own; then it is forced as by a
     * second signal. The timer does not keep the process alive.
     */
    deadlineMs?: number;
  } = {},
): StopSignals {
  const ac = new AbortController();
  let first: StopSignal | undefined;
  let forcing = false;
  const force = (sig: StopSignal) => {
    if (forcing) return;
    forcing = true;
    const code = opts.exitCode?.(sig) ?? 1;
    const bail = setTimeout(() => process.exit(code), opts.forceExitMs ?? 5000);
    bail.unref();
    void (opts.onForce?.(sig) ?? Promise.resolve()).finally(() => process.exit(code));
  };
  let deadline: NodeJS.Timeout | undefined;
  const handler = (sig: NodeJS.Signals) => {
    const s = sig as StopSignal;
    if (!first) {
      first = s;
      ac.abort(s);
      opts.onFirst?.(s);
      if (opts.deadlineMs !== undefined) {
        deadline = setTimeout(() => force(s), opts.deadlineMs);
        deadline.unref();
      }
      return;
    }
    force(first);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return {
    signal: ac.signal,
    which: () => first,
    dispose: () => {
      clearTimeout(deadline);
      for (const s of STOP_SIGNALS) process.removeListener(s, handler);
    },
  };
}
