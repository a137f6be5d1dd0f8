// `regbook ui`: opens one SSH connection per host, serves the web view on the loopback address
// until SIGINT or SIGTERM, then closes the server and the connections and exits 130 or 143.
import { SIGNAL_EXIT } from '../core/errors.js';
import { listenForStopSignals } from '../engine/stop-signals.js';
import { operatorRun } from '../ops/catalog.js';
import { removeTag } from './remove.js';
import { newToken } from './security.js';
import { startUiServer } from './server.js';
import { HostConnections, readState } from './state.js';

export interface UiArgs {
  playbook: string;
  inventory: string;
  port: number;
}

export async function runUi(a: UiArgs): Promise<number> {
  const run = operatorRun(a.playbook, a.inventory);
  const conns = new HostConnections(run);
  const stop = listenForStopSignals({
    exitCode: (sig) => SIGNAL_EXIT[sig],
    // A second signal: cut the connections at once (a removal in flight loses its lock release,
    // which `regbook lock release` or the next run's take-over handles).
    onForce: () => conns.closeAll(),
  });
  try {
    // Every host connected before the URL is printed: the first read then finds them open.
    await Promise.all(run.inventory.hosts.map((h) => conns.get(h).catch(() => undefined)));
    const ui = await startUiServer(
      newToken(),
      {
        state: () => readState(run, conns),
        remove: (req) => removeTag(run, conns, req, stop.signal),
      },
      a.port,
    );
    process.stdout.write(`${ui.url}\n`);
    process.stderr.write('regbook: serving the web view on the loopback address; Ctrl-C stops it\n');
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      else stop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await ui.close();
    return SIGNAL_EXIT[stop.which()!];
  } finally {
    stop.dispose();
    await conns.closeAll();
  }
}
