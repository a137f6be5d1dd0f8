import type { Argv } from 'yargs';
import { EXIT } from '../../core/errors.js';
import type { SetExit } from './index.js';
import { writeReport } from './render.js';
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
      const [{ catalog }, { formatCatalog }] = await Promise.all([
        import('../../ops/catalog.js'),
        import('../../ui/operator-reports.js'),
      ]);
      const report = await catalog({
        playbook: argv.playbook as string,
        inventory: argv.inventory,
        ...(argv.repository ? { repository: argv.repository } : {}),
      });
      // JSON keeps the shape scripts read: the registry and its images.
      writeReport(argv.output, { registry: report.registry, images: report.images }, () =>
        formatCatalog(report),
      );
      setExit(EXIT.ok);
    },
  );
}
