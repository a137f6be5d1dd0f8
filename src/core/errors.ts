/** One problem in an input file, pointing at the node that is wrong. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** Dotted field path, e.g. `images.0.name` (empty for the document itself). */
  path: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.path || '(document)'}: ${d.message}`;
}

export const EXIT = {
  ok: 0,
  badInput: 1,
  taskFailed: 2,
  changesPending: 3,
  unreachable: 4,
  /** A bug in regbook itself (an error nothing expected), as sysexits.h's EX_SOFTWARE. */
  internal: 70,
} as const;

/** The exit code of a run a signal stopped: 128 + the signal's number, as shells report it. */
export const SIGNAL_EXIT = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;

/**
 * An error that ends a command with a known exit code and a message for the user. Commands throw
 * these; cli/main.ts is the one place that turns an error into an exit code. Anything else that
 * reaches it is a bug in regbook (EXIT.internal) and is printed with its stack.
 */
export class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'ExitError';
  }
}

/**
 * What a command makes of an error from the network, a host or the registry: the user's to act on
 * (exit 2 unless said otherwise), not a bug. An ExitError keeps its own code.
 */
export function asExitError(err: unknown, exitCode: number = EXIT.taskFailed): ExitError {
  if (err instanceof ExitError) return err;
  return new ExitError(err instanceof Error ? err.message : String(err), exitCode);
}

/** Bad input (usage, YAML, schema, semantic rules): exit 1, nothing was contacted. */
export class InputError extends ExitError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'), EXIT.badInput);
    this.name = 'InputError';
  }
}

/** A usage problem that is not about a file position (missing option, unknown host in --limit). */
export class UsageError extends ExitError {
  constructor(message: string) {
    super(message, EXIT.badInput);
    this.name = 'UsageError';
  }
}

/** Work not started because a signal stopped the run; the host counts as interrupted, not failed. */
export class Interrupted extends Error {
  constructor(message = 'interrupted before this step started') {
    super(message);
    this.name = 'Interrupted';
  }
}
