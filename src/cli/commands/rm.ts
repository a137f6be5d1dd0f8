import type { Argv } from 'yargs';
import { EXIT } from '../../core/errors.js';
import type { SetExit } from './index.js';
import { writeReport } from './render.js';
import { lockTimeoutOf, withFiles, withLockTimeout, withOutput } from './options.js';

export function register(cli: Argv, setExit: SetExit): void {
  cli.command(
    'rm <playbook> <refs..>',
    'Remove tags or manifests from the registry (the registry API’s DELETE), under the deploy lock',
    (y) =>
      withLockTimeout(withOutput(withFiles(y), 'text, or one JSON object'))
        .positional('refs', {
          type: 'string',
          array: true,
          describe:
            'REPOSITORY:TAG (that tag alone) or REPOSITORY@sha256:… (the manifest, with every tag on it)',
          demandOption: true,
        })
        .option('check', {
          alias: 'C',
          type: 'boolean',
          default: false,
          describe: 'Show what would be removed; remove nothing',
        })
        .example('$0 rm site.yaml -i inventory.yaml app:0.1', 'that tag; other tags on its digest stay')
        .example('$0 rm site.yaml -i inventory.yaml app@sha256:…', 'the manifest and every tag on it')
        .example('$0 rm site.yaml -i inventory.yaml app:0.1 --check', 'what would go')
        .epilogue(
          'Needs registry.deleteEnabled: true. Space comes back with regbook gc. Exit codes: 0 done, ' +
            '1 bad input, 2 a reference is not in the registry (nothing removed) or the lock is held, ' +
            '4 the master is unreachable.',
        ),
    async (argv) => {
      const lockTimeout = lockTimeoutOf(argv);
      const [{ removeRefs }, { formatRmReport }] = await Promise.all([
        import('../../ops/rm.js'),
        import('../../ui/operator-reports.js'),
      ]);
      const report = await removeRefs({
        playbook: argv.playbook as string,
        inventory: argv.inventory,
        refs: (argv.refs ?? []).map(String),
        check: argv.check,
        lockTimeout,
      });
      writeReport(argv.output, report, formatRmReport);
      setExit(EXIT.ok);
    },
  );
}
