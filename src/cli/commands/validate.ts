import type { Argv } from 'yargs';
import { EXIT, formatDiagnostic, InputError } from '../../core/errors.js';
import { passwordProblems } from '../../config/passwords.js';
import { Secret } from '../../core/secret.js';
import type { SetExit } from './index.js';
import { withFiles } from './options.js';

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function register(cli: Argv, setExit: SetExit): void {
  cli.command(
    'validate <playbook>',
    'Check a playbook and its inventory (YAML, schema, rules); contacts no host',
    (y) =>
      withFiles(y)
        .example(
          '$0 validate site.yaml -i inventory.yaml',
          'prints "ok: site.yaml (3 hosts, 2 images)" or every problem',
        )
        .epilog(
          'Problems go to stderr as FILE:LINE:COL: field.path: what is wrong. Exit 0 when valid, 1 otherwise.',
        ),
    async (argv) => {
      // Loaded here so other commands (and --version) do not pay for yaml and ajv.
      const { loadBoth } = await import('../../config/index.js');
      const { playbook, inventory } = loadBoth(argv.playbook, argv.inventory, { localFiles: true });
      // A password from the environment can be judged only where its variable is set; where it is,
      // validate refuses a short one as apply would.
      const set = playbook.envRefs.filter((name) => process.env[name]);
      const weak = passwordProblems(
        playbook,
        new Map(set.map((name) => [name, new Secret(process.env[name]!)])),
      );
      if (weak.length > 0) throw new InputError(weak);
      process.stdout.write(
        `ok: ${argv.playbook} (${count(inventory.hosts.length, 'host')}, ${count(playbook.images.length, 'image')})\n`,
      );
      for (const w of playbook.warnings ?? []) process.stderr.write(`warning: ${formatDiagnostic(w)}\n`);
      if (playbook.envRefs.length > 0) {
        // Not an error: the variables are needed only when apply runs, maybe on another machine.
        const unset = playbook.envRefs.filter((name) => process.env[name] === undefined);
        const tail = unset.length > 0 ? `; not set in this shell: ${unset.join(', ')}` : '';
        process.stderr.write(
          `note: apply reads ${playbook.envRefs.join(', ')} from the environment${tail}\n`,
        );
      }
      setExit(EXIT.ok);
    },
  );
}
