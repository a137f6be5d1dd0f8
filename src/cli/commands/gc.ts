import type { Argv } from 'yargs';
import { EXIT } from '../../core/errors.js';
import type { SetExit } from './index.js';
import { writeReport } from './render.js';
import { lockTimeoutOf, withFiles, withLockTimeout, withOutput } from './options.js';

export function register(cli: Argv, setExit: SetExit): void {
  cli.command(
    'gc <playbook>',
    'Garbage-collect the registry: read-only during the sweep, then back to the playbook’s configuration',
    (y) =>
      withLockTimeout(withOutput(withFiles(y), 'text, or one JSON object'))
        .option('check', {
          alias: 'C',
          type: 'boolean',
          default: false,
          describe: 'Only list what would be deleted and its size (garbage-collect --dry-run)',
        })
        .option('untagged', {
          type: 'boolean',
          default: false,
          describe:
            'Also delete manifests no tag refers to (garbage-collect --delete-untagged). Off by default: ' +
            'distribution 2.x counts the per-platform manifests of a multi-arch image as untagged and ' +
            'deletes them, which breaks that image',
        })
        .option('registry-binary', {
          type: 'string',
          describe: 'The registry binary inside the container (default: from the image’s entrypoint)',
        })
        .example('$0 gc site.yaml -i inventory.yaml --check', 'what a collection would delete, and its size')
        .example('$0 gc site.yaml -i inventory.yaml', 'collect, and report the bytes freed')
        .example(
          '$0 gc site.yaml -i inventory.yaml --untagged',
          'also delete untagged manifests (never on a registry with multi-arch images)',
        )
        .epilogue(
          'gc holds the deploy lock while it runs. Ctrl-C, SIGTERM or SIGHUP at any moment put the ' +
            'registry back in write mode before regbook exits (130, 143, 129). Exit codes: 0 done, ' +
            '1 bad input, 2 the collection failed, the lock is held or the container differs from the ' +
            'playbook (run apply first), 4 the master (or, on S3, a replica) is unreachable. Replicas on S3 ' +
            'are all read-only during the one sweep.',
        ),
    async (argv) => {
      const lockTimeout = lockTimeoutOf(argv);
      const [{ gc }, { formatGcReport }] = await Promise.all([
        import('../../ops/gc.js'),
        import('../../ui/operator-reports.js'),
      ]);
      const report = await gc({
        playbook: argv.playbook as string,
        inventory: argv.inventory,
        check: argv.check,
        untagged: argv.untagged,
        ...(argv['registry-binary'] ? { registryBinary: argv['registry-binary'] } : {}),
        lockTimeout,
        progress: (line) => void process.stderr.write(`regbook: gc: ${line}\n`),
      });
      writeReport(argv.output, report, formatGcReport);
      setExit(EXIT.ok);
    },
  );
}
