// The transport layer's entry point: one Connection per host, SSH or local, same interface.

import { LocalConnection } from './local.js';
import { connectSsh } from './ssh.js';
import type { ConnectOptions, ConnectableHost, Connection } from './types.js';

export async function connect(host: ConnectableHost, opts: ConnectOptions = {}): Promise<Connection> {
  if (host.connection === 'local') return new LocalConnection(host);
  return connectSsh(host, opts);
}

export { checkSudo } from './sudo.js';
export { LocalConnection } from './local.js';
export { SshConnection } from './ssh.js';
export { fingerprintSha256 } from './knownHosts.js';
export * from './types.js';
