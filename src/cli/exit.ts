import { EXIT, ExitError, InputError } from '../core/errors.js';

/**
 * The one place an error becomes an exit code and a message. Commands throw ExitError (InputError,
 * UsageError, the deploy lock's errors, a signal's stop) with their code; anything else is a bug in
 * regbook, reported with its stack.
 */
export function exitFor(err: unknown): { code: number; message: string } {
  if (err instanceof InputError) return { code: err.exitCode, message: err.message };
  if (err instanceof ExitError) return { code: err.exitCode, message: `regbook: ${err.message}` };
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return {
    code: EXIT.internal,
    message: `regbook: internal error (a bug in regbook; please report it with this output): ${detail}`,
  };
}
