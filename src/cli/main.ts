#!/usr/bin/env node
// The entry point stays tiny and loads each command's module only when that command runs, so
// `regbook --version` does not pay for ssh2, node-forge or listr2.
import { createRequire } from 'node:module';
import { EXIT, UsageError } from '../core/errors.js';
import { exitFor } from './exit.js';

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
    const { code, message } = exitFor(err);
    process.stderr.write(message + '\n');
    process.exitCode = code;
  },
);
