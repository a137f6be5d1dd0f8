// A host's connection lent to the check-mode plans that `status` and the web view read the cluster
// through. The engine closes the connections it runs on when it ends, while the reader still needs
// them (the registry's catalog, the replicas' GET /v2/), and the web view keeps them for its next
// read: so the lent connection's close does nothing, and the reader releases it when it is done.
import type { Duplex } from 'node:stream';
import type { Cmd } from '../core/cmd.js';
import { execBatch } from '../facts/batch.js';
import { isTrustProbe } from '../facts/trust.js';
import type { Connection, ExecOptions, ExecResult } from '../transport/types.js';

export interface Lent {
  /** What the plans and the reader use: the connection, with a close that leaves it open. */
  conn: Connection;
  /** The extra command's result: from the trust probe's round trip when one ran, else run alone. */
  extra(): Promise<ExecResult>;
  /**
   * Closes the tunnels opened through the lent connection (each is an SSH channel: left open, a
   * kept connection would hold more of the host's sessions at every read until none is left).
   */
  release(): void;
}

/**
 * Lends `conn`. `extra` (GET /v2/ from a trust host) goes in the round trip of the trust task's
 * probe there, so the reader opens no channel that `apply --check` does not; where no probe ran,
 * it goes alone when asked for.
 */
export function lend(conn: Connection, extra?: Cmd): Lent {
  let batched: Promise<ExecResult> | undefined;
  const tunnels = new Set<Duplex>();
  const wrapped = new Proxy(conn, {
    get(target, prop, receiver) {
      if (prop === 'close') return () => Promise.resolve();
      if (prop === 'openTcp')
        return async (host: string, port: number) => {
          const t = await target.openTcp(host, port);
          tunnels.add(t);
          t.once('close', () => tunnels.delete(t));
          return t;
        };
      if (prop === 'exec')
        return (c: Cmd, opts?: ExecOptions) => {
          if (!extra || batched || !isTrustProbe(c)) return target.exec(c, opts);
          const both = execBatch(target, [c, extra]);
          batched = both.then((r) => r[1]!);
          batched.catch(() => undefined);
          return both.then((r) => r[0]!);
        };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return {
    conn: wrapped,
    extra: () =>
      batched ??
      (extra ? conn.exec(extra, { timeoutMs: 20_000 }) : Promise.reject(new Error('nothing to run'))),
    release: () => {
      for (const t of tunnels) t.destroy();
      tunnels.clear();
    },
  };
}
