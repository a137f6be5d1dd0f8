import type { Argv } from 'yargs';
import { UsageError } from '../../core/errors.js';

// The options every cluster command shares, declared once so their names, aliases and help text
// cannot drift apart between commands.

export function withFiles<T>(y: Argv<T>) {
  return y
    .positional('playbook', { type: 'string', describe: 'The playbook (site.yaml)', demandOption: true })
    .option('inventory', { alias: 'i', type: 'string', describe: 'The inventory file', demandOption: true });
}

export function withOutput<T>(y: Argv<T>, describe: string) {
  return y.option('output', {
    alias: 'o',
    choices: ['text', 'json'] as const,
    default: 'text' as const,
    describe,
  });
}

/** --lock-timeout, for the commands that take the deploy lock (apply, rm, gc). */
export function withLockTimeout<T>(y: Argv<T>) {
  return y.option('lock-timeout', {
    type: 'number',
    default: 0,
    describe: 'Seconds to wait for the deploy lock on the master (0: stop at once if held)',
  });
}

/** The --lock-timeout given, refused unless it is a number of seconds, 0 or more. */
export function lockTimeoutOf(argv: { 'lock-timeout': number }): number {
  const seconds = argv['lock-timeout'];
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new UsageError('--lock-timeout must be a number of seconds, 0 or more');
  return seconds;
}
