#!/usr/bin/env node
// The entry point stays tiny and loads each command's module only when that command runs, so
// `regbook --version` does not pay for ssh2, node-forge or listr2.
import { createRequire } from 'node:module';
import { EXIT, InputError, SIGNAL_EXIT, UsageError } from '../core/errors.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

async function main(argv: string[]): Promise<number> {
  // The one call scripts make in a loop answers before yargs is even loaded.
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(version + '\n');
    return EXIT.ok;
  }
  const { default: yargs } = await import('yargs');
  let exitCode: number = EXIT.ok;
  const setExit = (code: number) => {
    exitCode = code;
  };
  const cli = yargs(argv)
    .scriptName('regbook')
    .version(version)
    .strict()
    .demandCommand(1, 'Give a command: regbook --help lists them.')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  const { registerCommands } = await import('./commands/index.js');
  registerCommands(cli, setExit);
  await cli.parseAsync();
  return exitCode;
}

// `regbook ... | head` closes our stdout (or, with 2>&1, stderr) early; that is the reader's
// choice, not an error. The command still runs to its end, unheard: an apply cut off here would
// leave its hosts half done and its deploy lock held. A terminal that hangs up (SIGHUP) makes
// writes fail with EIO: the run is stopping then, and must still release its lock.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'EIO') throw err;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof InputError) {
      process.stderr.write(err.message + '\n');
      process.exitCode = EXIT.badInput;
    } else if (err instanceof UsageError) {
      process.stderr.write(`regbook: ${err.message}\n`);
      process.exitCode = EXIT.badInput;
    } else if (err instanceof Error && err.name === 'StoppedBySignal') {
      // The deploy lock's entry point (lock/guard.ts) released the lock before throwing this.
      const sig = (err as Error & { signal: keyof typeof SIGNAL_EXIT }).signal;
      process.stderr.write(`regbook: ${err.message}\n`);
      process.exitCode = SIGNAL_EXIT[sig] ?? SIGNAL_EXIT.SIGINT;
    } else if (err instanceof Error && (err.name === 'LockHeld' || err.name === 'LockError')) {
      // Named, not imported: the entry point stays free of the lock's modules.
      process.stderr.write(`regbook: ${err.message}\n`);
      process.exitCode = EXIT.taskFailed;
    } else {
      process.stderr.write(`regbook: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = EXIT.taskFailed;
    }
  },
);
