import type { Argv } from 'yargs';
import type { SetExit } from './index.js';
import { withFiles, withOutput } from './options.js';

export function register(cli: Argv, setExit: SetExit): void {
  cli.command(
    'catalog <playbook> [repository]',
    'List the registry’s repositories, tags, digests and sizes (through the master’s SSH connection)',
    (y) =>
      withOutput(withFiles(y), 'text, or JSON')
        .positional('repository', { type: 'string', describe: 'Only this repository' })
        .example('$0 catalog site.yaml -i inventory.yaml', 'every repository with its tags')
        .example('$0 catalog site.yaml -i inventory.yaml app --output json', 'one repository, as JSON'),
    async (argv) => {
      const { runCatalog } = await import('../../ops/catalog.js');
      setExit(
        await runCatalog({
          playbook: argv.playbook as string,
          inventory: argv.inventory,
          ...(argv.repository ? { repository: argv.repository } : {}),
          output: argv.output,
        }),
      );
    },
  );
}
