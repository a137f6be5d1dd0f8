import type { Argv } from 'yargs';
import { EXIT } from '../../core/errors.js';
import type { SetExit } from './index.js';
import { writeReport } from './render.js';
import { withFiles, withOutput } from './options.js';

/** `regbook lock status|release PLAYBOOK -i INVENTORY`: the deploy lock apply takes on the master. */
export function register(cli: Argv, setExit: SetExit): void {
  cli.command(
    'lock <action> <playbook>',
    'Show or break the deploy lock that apply holds on the master',
    (y) =>
      // The action is declared first, as it comes first: completion offers the positionals' choices in
      // the order they were declared.
      withOutput(
        withFiles(
          y.positional('action', {
            choices: ['status', 'release'] as const,
            describe: 'status: who holds it and since when; release: break it (e.g. left by a killed run)',
            demandOption: true,
          }),
        ),
        'text, or one JSON object',
      )
        .example('$0 lock status site.yaml -i inventory.yaml', 'who holds the deploy lock')
        .example('$0 lock release site.yaml -i inventory.yaml', 'break a lock left by a killed run'),
    async (argv) => {
      const [{ lockCommand }, { formatLockReport }] = await Promise.all([
        import('../../lock/command.js'),
        import('../../ui/operator-reports.js'),
      ]);
      const report = await lockCommand({
        action: argv.action as 'status' | 'release',
        playbook: argv.playbook as string,
        inventory: argv.inventory,
      });
      writeReport(argv.output, report, formatLockReport);
      setExit(EXIT.ok);
    },
  );
}
