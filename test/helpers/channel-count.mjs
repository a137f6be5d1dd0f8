// Loaded into a regbook process (`node --import`) by tests that count the SSH channels a command
// opens: every session channel (exec, shell, sftp) and every direct-tcpip channel (forwardOut) of
// ssh2's client, by the port the client connected to. Written as JSON to $REGBOOK_CHANNEL_COUNT
// when the process exits.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';

const out = process.env.REGBOOK_CHANNEL_COUNT;
if (out) {
  const { Client } = createRequire(import.meta.url)('ssh2');
  const counts = {};
  for (const method of ['exec', 'shell', 'sftp', 'forwardOut']) {
    const orig = Client.prototype[method];
    Client.prototype[method] = function (...args) {
      const port = String(this.config?.port ?? '?');
      counts[port] = (counts[port] ?? 0) + 1;
      return orig.apply(this, args);
    };
  }
  process.on('exit', () => writeFileSync(out, JSON.stringify(counts)));
}
