import { Later } from '../core/later.js';
import { TaskFailure } from '../core/task.js';
import type { RegistryClient } from '../registry/client.js';
import { authUsers } from './auth.js';
import type { Connection } from '../transport/types.js';
import { masterName, replicasOf, singleOnMaster, type Run } from './shared.js';

/** The certificate label of a registry that serves plain HTTP (tls.mode none). */
export const NO_TLS = 'none';

/**
 * A registry API client that reaches the registry through the master's own SSH connection and
 * checks its certificate against our trust anchor with the name clients use, so the control node
 * needs no network path to the registry port. The master's own container is reached on its
 * loopback; replicas (or one replica elsewhere) through registry.address, the name every client
 * uses, which the master resolves and reaches as the hosts' docker daemons do.
 */
export async function registryClient(run: Run): Promise<RegistryClient> {
  const master = run.conns.get(masterName(run));
  const anchor = run.shared.tls?.anchorPem?.value;
  const cached = run.shared.api;
  if (cached && cached.conn === master && cached.anchor === (anchor ?? '')) return cached.client;
  cached?.client.close();
  const client = await newClient(run, runRoute(run));
  run.shared.api = { conn: master!, anchor: anchor ?? '', client };
  return client;
}

/** Where a client connects: through which host's SSH connection, to what, checking which name. */
export interface Route {
  conn: Connection | undefined;
  /** The host whose connection it is, for messages. */
  via: string;
  host: string;
  port: number;
  servername: string;
}

/** The run's way to the registry: the master's loopback, or registry.address from the master. */
export function runRoute(run: Run): Route {
  const { registry } = run.playbook;
  const conn = run.conns.get(masterName(run));
  return singleOnMaster(run)
    ? { conn, via: masterName(run), host: '127.0.0.1', port: registry.port, servername: registry.addressHost }
    : {
        conn,
        via: masterName(run),
        host: registry.addressHost,
        port: registry.addressPort,
        servername: registry.addressHost,
      };
}

/**
 * One replica on its own, through its own connection to its published port. With several
 * replicas it is checked under its own name (the certificate names each one); a single replica
 * answers to registry.address.
 */
export function replicaRoute(run: Run, host: string, conn: Connection | undefined): Route {
  const { registry } = run.playbook;
  const several = replicasOf(run).length > 1;
  return {
    conn,
    via: host,
    host: '127.0.0.1',
    port: registry.port,
    servername: several ? host : registry.addressHost,
  };
}

/** A client of its own for one route (the caller closes it): a replica checked on its own. */
export function routeClient(run: Run, route: Route, timeoutMs?: number): Promise<RegistryClient> {
  return newClient(run, route, timeoutMs);
}

async function newClient(run: Run, route: Route, timeoutMs?: number): Promise<RegistryClient> {
  const { RegistryClient } = await import('../registry/client.js');
  const { conn } = route;
  if (!conn)
    throw new TaskFailure(
      route.via === masterName(run)
        ? `the master ${route.via} is not reachable, so the registry is not either`
        : `${route.via} is not reachable, so its registry is not either`,
    );
  const anchor = run.shared.tls?.anchorPem?.value;
  const plain = run.playbook.tls.mode === 'none';
  if (!anchor && !plain)
    throw new TaskFailure('no certificate to trust the registry with (did the tls task run?)');
  const user = authUsers(run)[0];
  return new RegistryClient({
    connect: () => conn.openTcp(route.host, route.port),
    servername: route.servername,
    // The Host header: the address clients use, or the replica's own name and port.
    port:
      route.servername === run.playbook.registry.addressHost
        ? run.playbook.registry.addressPort
        : run.playbook.registry.port,
    ...(plain ? {} : { ca: anchor }),
    ...(user ? { auth: user } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
  });
}

/**
 * The certificate facts later tasks need, when the tls task did not run in this invocation
 * (--tags, --skip-tags, --limit without the master): read, never made, from the master.
 */
export async function ensureTlsKnown(run: Run): Promise<void> {
  if (run.shared.tls) return;
  if (run.playbook.tls.mode === 'none') {
    // Plain HTTP: nothing to read, and the container's certificate label says so.
    run.shared.tls = { anchorChanged: false, serverFingerprint: Later.known(NO_TLS), serverChanged: false };
    return;
  }
  const master = run.conns.get(masterName(run));
  if (!master)
    throw new TaskFailure(`the master ${masterName(run)} is not reachable, so its certificate is unknown`);
  const { tlsPaths } = await import('./tls.js');
  const { readFiles } = await import('../facts/files.js');
  const p = tlsPaths(run.playbook.tls.dir);
  const anchorPath = run.playbook.tls.mode === 'ca' ? p.caCrt : p.serverCrt;
  const files = await readFiles(master, [anchorPath, p.serverCrt]);
  const anchor = files.get(anchorPath)?.content.toString('utf8');
  const server = files.get(p.serverCrt)?.content.toString('utf8');
  if (!anchor || !server) {
    throw new TaskFailure(
      `no certificate in ${run.playbook.tls.dir} on ${masterName(run)} yet: run the tls task first`,
    );
  }
  const { inspectCert } = await import('../pki/index.js');
  run.shared.tls = {
    anchorPem: Later.known(anchor),
    anchorChanged: false,
    serverFingerprint: Later.known(inspectCert(server).fingerprintSha256),
    serverChanged: false,
  };
}

/** The htpasswd file's checksum, when the auth task did not run in this invocation. */
export async function ensureAuthKnown(run: Run): Promise<void> {
  const auth = run.playbook.registry.auth;
  if (run.shared.auth || !auth) return;
  const master = run.conns.get(masterName(run));
  if (!master) return;
  const { readFiles, sha256 } = await import('../facts/files.js');
  const f = (await readFiles(master, [auth.file])).get(auth.file);
  run.shared.auth = { ...(f ? { fileSha: Later.known(sha256(f.content)) } : {}), changed: false };
}

/**
 * Polls GET /v2/ until the registry answers (200, or 401 with auth on), or the time is up. The
 * registry was just (re)started, so a kept-alive connection to it is dead but may not know it yet:
 * each attempt gets a fresh connection and a short timeout, and the run's shared client is
 * dropped so later requests open a new one too.
 */
export async function waitForRegistry(
  run: Run,
  timeoutMs = 30_000,
  route: Route = runRoute(run),
): Promise<string | undefined> {
  run.shared.api?.client.close();
  delete run.shared.api;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const client = await newClient(run, route, 5_000);
    try {
      const status = await client.ping();
      if (status === 200 || status === 401) return undefined;
      last = `GET /v2/ answered ${status}`;
    } catch (err) {
      last = (err as Error).message;
    } finally {
      client.close();
    }
    // A registry that was just (re)started listens within a few hundred ms: ask again soon. A
    // refused attempt costs a channel open and a closed socket, so 50 ms apart is cheap.
    await new Promise((r) => setTimeout(r, 50));
  }
  return last;
}
