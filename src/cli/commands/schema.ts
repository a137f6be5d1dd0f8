import type { Argv } from 'yargs';
import { EXIT } from '../../core/errors.js';
import type { SetExit } from './index.js';

export function register(cli: Argv, setExit: SetExit): void {
  cli.command(
    'schema <kind>',
    'Print the JSON Schema of the playbook or the inventory',
    (y) =>
      y
        .positional('kind', {
          choices: ['playbook', 'inventory'] as const,
          describe: 'Which file format',
          demandOption: true,
        })
        .example('$0 schema playbook > playbook.schema.json', 'for editors that read JSON Schemas')
        .example('$0 schema inventory', 'the inventory format'),
    async (argv) => {
      const { readSchemaBytes } = await import('../../config/schema-files.js');
      // The very bytes the validator compiles, so what editors check is what validate checks.
      process.stdout.write(readSchemaBytes(argv.kind));
      setExit(EXIT.ok);
    },
  );
}
