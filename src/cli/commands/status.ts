import type { Argv } from 'yargs';
import type { SetExit } from './index.js';
import { writeReport } from './render.js';
import { withFiles, withOutput } from './options.js';

export function register(cli: Argv, setExit: SetExit): void {
  cli.command(
    'status <playbook>',
    'Health of the registry and of every host: certificate expiry, container, trust, reachability',
    (y) =>
      withOutput(withFiles(y), 'a table, or one JSON object')
        .example('$0 status site.yaml -i inventory.yaml', 'a table of the registry and every host')
        .example('$0 status site.yaml -i inventory.yaml -o json | jq .problems', 'what is wrong, for scripts')
        .epilogue(
          'Exit codes: 0 healthy; 1 bad input; 2 something needs attention (a problem, a warning ' +
            'such as a certificate inside its renewal window, or a change the next apply would make, ' +
            'as apply --check lists it); 4 a host is unreachable (wins over 2).',
        ),
    async (argv) => {
      const [{ status }, { formatStatus }] = await Promise.all([
        import('../../ops/status.js'),
        import('../../ui/status-report.js'),
      ]);
      const report = await status({ playbook: argv.playbook as string, inventory: argv.inventory });
      writeReport(argv.output, report, formatStatus);
      setExit(report.exitCode);
    },
  );
}
