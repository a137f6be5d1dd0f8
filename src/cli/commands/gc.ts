import type { Argv } from 'yargs';
import type { SetExit } from './index.js';
import { withFiles, withOutput } from './options.js';

export function register(cli: Argv, setExit: SetExit): void {
  cli.command(
    'gc <playbook>',
    'Garbage-collect the registry: read-only during the sweep, then back to the playbook’s configuration',
    (y) =>
      withOutput(withFiles(y), 'text, or one JSON object')
        .option('check', {
          alias: 'C',
          type: 'boolean',
          default: false,
          describe: 'Only list what would be deleted and its size (garbage-collect --dry-run)',
        })
        .option('untagged', {
          type: 'boolean',
          default: true,
          describe: 'Also delete manifests no tag refers to (--no-untagged keeps them)',
        })
        .option('registry-binary', {
          type: 'string',
          describe: 'The registry binary inside the container (default: from the image’s entrypoint)',
        })
        .example('$0 gc site.yaml -i inventory.yaml --check', 'what a collection would delete, and its size')
        .example('$0 gc site.yaml -i inventory.yaml', 'collect, and report the bytes freed')
        .epilogue(
          'Exit codes: 0 done, 1 bad input, 2 the collection failed or the container differs from the ' +
            'playbook (run apply first), 4 the master is unreachable.',
        ),
    async (argv) => {
      const { runGc } = await import('../../ops/gc.js');
      setExit(
        await runGc({
          playbook: argv.playbook as string,
          inventory: argv.inventory,
          check: argv.check,
          untagged: argv.untagged,
          ...(argv['registry-binary'] ? { registryBinary: argv['registry-binary'] } : {}),
          output: argv.output,
        }),
      );
    },
  );
}
