import type { Argv } from 'yargs';
import { UsageError } from '../../core/errors.js';
import type { SetExit } from './index.js';
import { withFiles } from './options.js';

export function register(cli: Argv, setExit: SetExit): void {
  cli.command(
    'ui <playbook>',
    'A local web view of the registry and the cluster: tags, sizes, which host holds what, certificate, trust',
    (y) =>
      withFiles(y)
        .option('port', {
          type: 'number',
          default: 0,
          describe: 'The port on 127.0.0.1 to listen on (0: any free port)',
        })
        .example('$0 ui site.yaml -i inventory.yaml', 'prints the URL to open, then serves until Ctrl-C')
        .epilogue(
          'Listens on 127.0.0.1 only; the printed URL carries a random token, and any request without ' +
            'it is refused. Deleting a tag from the page is `regbook rm`, under the deploy lock. Exit ' +
            'codes: 130 or 143 when stopped by SIGINT or SIGTERM; 1 bad input.',
        ),
    async (argv) => {
      const port = argv.port;
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new UsageError('--port must be a port number, 0 to 65535 (0: any free port)');
      const { runUi } = await import('../../web/run-ui.js');
      setExit(await runUi({ playbook: argv.playbook as string, inventory: argv.inventory, port }));
    },
  );
}
