// A kept connection lent to a run that closes its connections when it ends (the engine does): the
// check-mode plan each read of the web view makes, as `status` makes it.
import type { Duplex } from 'node:stream';
import type { Connection } from '../transport/types.js';

/**
 * The connection, with a close that leaves it open for the next read: it closes only the tunnels
 * opened through it (the check run's registry client keeps its sockets alive, and each is an SSH
 * channel: left open, every read would hold more of the master's sessions until none is left).
 */
export function kept(conn: Connection): Connection {
  const tunnels = new Set<Duplex>();
  return new Proxy(conn, {
    get(target, prop, receiver) {
      if (prop === 'close')
        return () => {
          for (const t of tunnels) t.destroy();
          tunnels.clear();
          return Promise.resolve();
        };
      if (prop === 'openTcp')
        return async (host: string, port: number) => {
          const t = await target.openTcp(host, port);
          tunnels.add(t);
          t.once('close', () => tunnels.delete(t));
          return t;
        };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
