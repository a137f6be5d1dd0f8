import { join } from 'node:path';
import type { Argv } from 'yargs';
import { EXIT } from '../../core/errors.js';
import type { SetExit } from './index.js';

export function register(cli: Argv, setExit: SetExit): void {
  cli.command(
    'init [dir]',
    'Write a commented starter site.yaml and inventory.yaml',
    (y) =>
      y
        .positional('dir', {
          type: 'string',
          default: '.',
          describe: 'Where to write them (created if missing)',
        })
        .option('force', { type: 'boolean', default: false, describe: 'Overwrite files that already exist' })
        .example('$0 init infra', 'writes infra/site.yaml and infra/inventory.yaml')
        .example('$0 init . --force', 'rewrites both files in the current directory'),
    async (argv) => {
      const { writeStarters, SCHEMA_DIR } = await import('../../config/starters.js');
      const written = writeStarters(argv.dir, argv.force);
      for (const file of written) process.stdout.write(`wrote ${file}\n`);
      process.stdout.write(
        `wrote ${join(argv.dir, SCHEMA_DIR)}/ (the schemas the files' first lines name)\n`,
      );
      process.stdout.write(
        `next: edit the addresses, then regbook validate ${written[0]} -i ${written[1]}\n`,
      );
      setExit(EXIT.ok);
    },
  );
}
