// The registry's side of `status`: each registry container as the registry task's gather read it,
// compared with the container the playbook wants, and, with replicas, each replica's own answer to
// GET /v2/ on its port under its own name (as verify reads it, and from verify's gather when it
// did), so a replica that is down shows as that replica's problem while the address still answers.
import { replicaRoute, routeClient } from '../tasks/api.js';
import { diffContainer, type ContainerSpec, type Inspected } from '../tasks/container.js';
import { inspectRegistry, type RegistryFacts } from '../tasks/registry.js';
import { replicasOf, singleOnMaster, type Run } from '../tasks/shared.js';
import type { VerifyFacts } from '../tasks/verify.js';
import type { Connection } from '../transport/types.js';
import type { Gathered } from './plan-health.js';

export interface ContainerStatus {
  name: string;
  present: boolean;
  state?: string;
  startedAt?: string;
  uptimeSeconds?: number;
  image?: string;
  imageId?: string;
  /** What `apply` would change on it (empty: it is as the playbook wants it; absent: not known). */
  differences?: string[];
}

/** GET /v2/ on one replica itself, checked against the registry's trust anchor. */
export interface ReplicaV2 {
  /** What was asked, as a client would name it: https://worker1:5000/v2/. */
  url: string;
  /** The HTTP status; absent when no answer came (then `error` says why). */
  status?: number;
  error?: string;
  /** 200, or 401 (the registry answered and wants a login). */
  ok: boolean;
}

/**
 * up: running as the playbook wants it and answering; differs: answering, but apply would recreate
 * it; down: no container, not running, or no answer to GET /v2/; unknown: its host could not be read,
 * or there is no trust anchor to check its answer with.
 */
export type ReplicaHealth = 'up' | 'differs' | 'down' | 'unknown';

export interface ReplicaStatus {
  host: string;
  reachable: boolean;
  error?: string;
  container: ContainerStatus;
  /** Absent when it could not be asked (host unreachable, no trust anchor yet). */
  v2?: ReplicaV2;
  health: ReplicaHealth;
}

type InspectedWithState = Inspected & { State?: Inspected['State'] & { StartedAt?: string } };
export type ContainerProbe = { container?: InspectedWithState; imageId?: string };

/** The registry container and its image id, where no plan read them (`docker inspect`). */
export function probeRegistry(conn: Connection, run: Run): Promise<ContainerProbe> {
  return inspectRegistry(conn.docker(), run.playbook.registry);
}

/** A container as status shows it: its state and uptime, and how it differs from `spec` (when known). */
export function containerStatus(
  name: string,
  probe: ContainerProbe,
  spec: ContainerSpec | undefined,
  now: Date,
): ContainerStatus {
  const { container: c, imageId } = probe;
  if (!c) return { name, present: false };
  const started = c.State?.StartedAt ? new Date(c.State.StartedAt) : undefined;
  return {
    name,
    present: true,
    state: c.State?.Status ?? 'unknown',
    ...(c.State?.Running && started
      ? {
          startedAt: started.toISOString(),
          uptimeSeconds: Math.max(0, Math.floor((now.getTime() - started.getTime()) / 1000)),
        }
      : {}),
    ...(c.Config?.Image ? { image: c.Config.Image } : {}),
    ...(c.Image ? { imageId: c.Image } : {}),
    ...(spec ? { differences: diffContainer(spec, c, imageId).map((d) => d.what) } : {}),
  };
}

/** The registry container on `host`, from the registry task's gather there, else read. */
export async function containerOn(
  run: Run,
  host: string,
  conn: Connection,
  gathered: Gathered,
  spec: ContainerSpec | undefined,
  now: Date,
): Promise<ContainerStatus> {
  const facts = gathered.get<RegistryFacts>('registry', host);
  const probe: ContainerProbe = facts
    ? {
        ...(facts.container ? { container: facts.container } : {}),
        ...(facts.imageId ? { imageId: facts.imageId } : {}),
      }
    : await probeRegistry(conn, run);
  return containerStatus(run.playbook.registry.name, probe, spec, now);
}

export function replicaHealth(r: Omit<ReplicaStatus, 'health'>): ReplicaHealth {
  if (!r.reachable || r.error !== undefined) return 'unknown';
  if (!r.container.present || r.container.state !== 'running') return 'down';
  if (!r.v2) return 'unknown';
  if (!r.v2.ok) return 'down';
  return r.container.differences?.length ? 'differs' : 'up';
}

const answered = (status: number) => status === 200 || status === 401;

/** The URL a client names the replica by, as the route checks it (its name, its published port). */
function replicaUrl(run: Run, host: string): string {
  const { registry, tls } = run.playbook;
  const route = replicaRoute(run, host, undefined);
  const port = route.servername === registry.addressHost ? registry.addressPort : registry.port;
  return `${tls.mode === 'none' ? 'http' : 'https'}://${route.servername}:${port}/v2/`;
}

/** What verify's gather on the replica read from it directly, when it got that far. */
function fromVerify(facts: VerifyFacts | undefined, host: string): number | undefined {
  if (!facts || 'pending' in facts) return undefined;
  return facts.listings.find((l) => l.through === `${host} directly`)?.ping;
}

/** GET /v2/ on the replica itself, through its own connection, as verify and the registry's settle ask. */
async function askReplica(run: Run, host: string, conn: Connection): Promise<number> {
  const client = await routeClient(run, replicaRoute(run, host, conn), 10_000);
  try {
    return await client.ping();
  } finally {
    client.close();
  }
}

/**
 * Each replica's health, when the registry runs on other hosts than the master alone (undefined
 * otherwise: the master's container is the registry). Its container comes from the registry
 * task's gather on it; its GET /v2/ from verify's gather there, else asked here once.
 */
export async function readReplicas(
  run: Run,
  gathered: Gathered,
  spec: ContainerSpec | undefined,
  now: Date,
): Promise<ReplicaStatus[] | undefined> {
  if (singleOnMaster(run)) return undefined;
  const canAsk = run.playbook.tls.mode === 'none' || run.shared.tls?.anchorPem?.value !== undefined;
  return Promise.all(
    replicasOf(run).map(async (host): Promise<ReplicaStatus> => {
      const name = run.playbook.registry.name;
      const conn = run.conns.get(host);
      if (!conn)
        return {
          host,
          reachable: false,
          container: { name, present: false },
          health: 'unknown',
        };
      const url = replicaUrl(run, host);
      let r: Omit<ReplicaStatus, 'health'>;
      try {
        const container = await containerOn(run, host, conn, gathered, spec, now);
        let v2: ReplicaV2 | undefined;
        const seen = fromVerify(gathered.get<VerifyFacts>('verify', host), host);
        if (seen !== undefined) v2 = { url, status: seen, ok: answered(seen) };
        else if (canAsk)
          v2 = await askReplica(run, host, conn).then(
            (status) => ({ url, status, ok: answered(status) }),
            (err: Error) => ({ url, error: err.message, ok: false }),
          );
        r = { host, reachable: true, container, ...(v2 ? { v2 } : {}) };
      } catch (err) {
        r = { host, reachable: true, error: (err as Error).message, container: { name, present: false } };
      }
      return { ...r, health: replicaHealth(r) };
    }),
  );
}

/** Why a replica is down, in a few words: "container registry is exited; GET … failed: …". */
export function whyDown(r: ReplicaStatus): string {
  const why: string[] = [];
  const c = r.container;
  if (!c.present) why.push(`no container ${c.name}`);
  else if (c.state !== 'running') why.push(`container ${c.name} is ${c.state}`);
  if (r.v2 && !r.v2.ok)
    why.push(
      `GET ${r.v2.url} ${r.v2.error !== undefined ? `failed: ${r.v2.error}` : `answered ${r.v2.status}`}`,
    );
  return why.join('; ');
}

/** The replicas' problems and warnings, in status's words. */
export function judgeReplicas(replicas: readonly ReplicaStatus[]): {
  problems: string[];
  warnings: string[];
} {
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const r of replicas) {
    if (r.health === 'down') problems.push(`replica ${r.host} is down: ${whyDown(r)}`);
    else if (r.health === 'differs')
      warnings.push(
        `replica ${r.host}: the container differs from the playbook (${r.container.differences!.join(', ')}): apply recreates it`,
      );
    else if (r.reachable && r.error !== undefined) problems.push(`replica ${r.host}: ${r.error}`);
  }
  return { problems, warnings };
}
