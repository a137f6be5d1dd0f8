// What the web view shows, read through connections opened once and kept: the registry's tags (with
// size and creation time), each declared image as every host holds it, the certificate, and each
// host's trust and reachability. The reads are the ones `status` and `catalog` make: the facts
// command (which lists the host's images in the same round trip), the trust files, a GET /v2/ run
// on the host, the master's certificate files and registry container, and the registry API through
// the master's SSH connection (the creation date is read from each image's config blob there, as a
// pull would). Then, as `status` does, the next apply's plan in check mode on the same connections,
// so the Summary says what `status` says.
import { Later } from '../core/later.js';
import type { HostSpec } from '../config/model.js';
import type { HostFacts } from '../core/task.js';
import {
  judge,
  probeRegistry,
  readHostStatus,
  readMasterCerts,
  type ApiStatus,
  type CertificateStatus,
  type ContainerStatus,
  type HostStatus,
} from '../ops/status.js';
import { planHealth } from '../ops/plan-health.js';
import { imageCreated } from '../registry/image-config.js';
import { ensureTlsKnown, NO_TLS, registryClient } from '../tasks/api.js';
import type { Run, Shared } from '../tasks/shared.js';
import { createRun } from '../engine/setup.js';
import { tlsPaths } from '../tasks/tls.js';
import { connect } from '../transport/index.js';
import type { Connection } from '../transport/types.js';
import { formatBytes } from '../ui/size.js';
import { kept } from './kept-connection.js';
import { pendingLine } from '../ui/status-report.js';

export interface TagView {
  tag: string;
  digest?: string;
  /** The image config's digest: the image id docker shows for it. */
  imageId?: string;
  size?: number;
  sizeText?: string;
  created?: string;
}

export interface RepositoryView {
  repository: string;
  tags: TagView[];
}

/**
 * same: the host holds the registry's image; differs: it holds another image under that name;
 * missing: a host that should pull it (pullOn) does not hold it; absent: neither expected nor held;
 * unserved: held, but the registry no longer serves that name; unknown: the host could not be read,
 * or the registry serves an index, which has no single image id to compare.
 */
export type HoldingState = 'same' | 'differs' | 'missing' | 'absent' | 'unserved' | 'unknown';

export interface HoldingView {
  host: string;
  expected: boolean;
  imageId?: string;
  state: HoldingState;
}

export interface ImageView {
  name: string;
  reference: string;
  registryDigest?: string;
  registryImageId?: string;
  hosts: HoldingView[];
  drift: boolean;
}

export interface UiState {
  registry: string;
  readAt: string;
  plainHttp: boolean;
  deleteEnabled: boolean;
  renewBeforeDays: number;
  certificate: CertificateStatus;
  anchor: CertificateStatus;
  container: ContainerStatus;
  api: ApiStatus;
  repositories: RepositoryView[];
  images: ImageView[];
  hosts: HostStatus[];
  problems: string[];
  warnings: string[];
  /** What the next apply would change, one line each, as `status` lists them. */
  pending: string[];
}

/**
 * One connection per host, opened on first use and kept for every later read. A host that could not
 * be reached, or whose connection failed, is connected again on the next read.
 */
export class HostConnections {
  readonly #run: Run;
  readonly #pending = new Map<string, Promise<Connection>>();

  constructor(run: Run) {
    this.#run = run;
  }

  async get(host: HostSpec): Promise<Connection> {
    const open = this.#run.conns.get(host.name);
    if (open) return open;
    let p = this.#pending.get(host.name);
    if (!p) {
      p = connect(host).then(
        (c) => {
          this.#run.conns.set(host.name, c);
          this.#pending.delete(host.name);
          return c;
        },
        (err: unknown) => {
          this.#pending.delete(host.name);
          throw err;
        },
      );
      this.#pending.set(host.name, p);
    }
    return p;
  }

  /** Forgets a connection that failed, so the next read opens a new one. */
  drop(name: string): void {
    const c = this.#run.conns.get(name);
    this.#run.conns.delete(name);
    void c?.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.#run.conns.values()];
    this.#run.conns.clear();
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }
}

/** One host as `status` reads it (facts, then its trust files and GET /v2/), keeping the facts. */
async function readHost(
  run: Run,
  conns: HostConnections,
  host: HostSpec,
  anchorFingerprint: Promise<string | undefined>,
): Promise<{ status: HostStatus; facts?: HostFacts }> {
  const conn = await conns.get(host).catch((err: Error) => err);
  const read = await readHostStatus(run, host, conn, anchorFingerprint);
  // A connection that failed mid-read is opened anew on the next read.
  if (!(conn instanceof Error) && read.status.error !== undefined) conns.drop(host.name);
  return read;
}

/** The registry's repositories and tags, each with its manifest's digest, size, image id and age. */
async function readRepositories(run: Run): Promise<RepositoryView[]> {
  await ensureTlsKnown(run);
  const client = await registryClient(run);
  const out: RepositoryView[] = [];
  for (const repository of await client.catalog()) {
    const tags: TagView[] = [];
    for (const tag of (await client.tags(repository)).sort()) {
      const info = await client.manifestInfo(repository, tag);
      if (!info) continue; // removed between the two reads
      const created = info.configDigest
        ? await imageCreated(client, repository, info.configDigest).catch(() => undefined)
        : undefined;
      tags.push({
        tag,
        digest: info.digest,
        ...(info.configDigest ? { imageId: info.configDigest } : {}),
        ...(info.size !== undefined ? { size: info.size, sizeText: formatBytes(info.size) } : {}),
        ...(created ? { created } : {}),
      });
    }
    out.push({ repository, tags });
  }
  return out;
}

/** Which host holds each declared image, compared with what the registry serves under that name. */
export function imageViews(
  run: Run,
  repositories: readonly RepositoryView[],
  hosts: ReadonlyMap<string, HostFacts | undefined>,
): ImageView[] {
  const address = run.playbook.registry.address;
  return run.playbook.images
    .filter((i) => i.state === 'present')
    .map((i) => {
      const served = repositories
        .find((r) => r.repository === i.repository)
        ?.tags.find((t) => t.tag === i.tag);
      const reference = `${address}/${i.repository}:${i.tag}`;
      const holding: HoldingView[] = run.inventory.hosts.map((h) => {
        const expected = i.pullOn.includes(h.name);
        const facts = hosts.get(h.name);
        if (!facts) return { host: h.name, expected, state: 'unknown' };
        const held = facts.images.get(reference);
        const byDigest = served?.digest
          ? facts.images.get(`${address}/${i.repository}@${served.digest}`)
          : undefined;
        if (held === undefined) return { host: h.name, expected, state: expected ? 'missing' : 'absent' };
        const state: HoldingState = !served
          ? 'unserved'
          : held === served.imageId || (byDigest !== undefined && held === byDigest)
            ? 'same'
            : served.imageId
              ? 'differs'
              : 'unknown';
        return { host: h.name, expected, imageId: held, state };
      });
      return {
        name: i.name,
        reference,
        ...(served?.digest ? { registryDigest: served.digest } : {}),
        ...(served?.imageId ? { registryImageId: served.imageId } : {}),
        hosts: holding,
        drift: !served || holding.some((h) => h.state === 'differs' || h.state === 'missing'),
      };
    });
}

/** Reads everything the page shows, reusing the open connections. */
export async function readState(run: Run, conns: HostConnections, now = new Date()): Promise<UiState> {
  const pb = run.playbook;
  const hosts = run.inventory.hosts;
  const p = tlsPaths(pb.tls.dir);
  const anchorPath = pb.tls.mode === 'ca' ? p.caCrt : p.serverCrt;
  const masterSpec = run.inventory.master;

  const master = (async () => {
    const conn = await conns.get(masterSpec);
    const { anchorPem, certificate, anchor } = await readMasterCerts(run, conn, now);
    // The anchor read now, not one kept from an earlier read: a renewal since then shows.
    const plain = pb.tls.mode === 'none';
    if (plain || (anchorPem && certificate.fingerprint))
      run.shared.tls = {
        ...(plain ? {} : { anchorPem: Later.known(anchorPem!) }),
        anchorChanged: false,
        serverFingerprint: Later.known(plain ? NO_TLS : certificate.fingerprint!),
        serverChanged: false,
      };
    return { conn, certificate, anchor };
  })();
  const masterOrError = master.catch((err: Error) => {
    // A master connection that failed is opened anew on the next read.
    conns.drop(masterSpec.name);
    return err;
  });
  const anchorFp = masterOrError.then((m) => (m instanceof Error ? undefined : m.anchor.fingerprint));

  const registrySide = (async () => {
    const m = await master;
    const container: ContainerStatus = { name: pb.registry.name, present: false };
    const probe = await probeRegistry(m.conn, run);
    const c = probe.container;
    if (c)
      Object.assign(container, {
        present: true,
        state: c.State?.Status ?? 'unknown',
        ...(c.Config?.Image ? { image: c.Config.Image } : {}),
        ...(c.Image ? { imageId: c.Image } : {}),
      });
    const api: ApiStatus = {};
    let repositories: RepositoryView[] = [];
    try {
      await ensureTlsKnown(run);
      const client = await registryClient(run);
      api.status = await client.ping();
      if (api.status === 200) repositories = await readRepositories(run);
      api.repositories = repositories.map((r) => ({
        repository: r.repository,
        tags: r.tags.map((t) => t.tag),
      }));
    } catch (err) {
      api.error = (err as Error).message;
    }
    return { container, api, repositories };
  })();

  const [m, reg, ...perHost] = await Promise.all([
    masterOrError,
    registrySide.catch((err: Error) => err),
    ...hosts.map((h) => readHost(run, conns, h, anchorFp)),
  ]);
  const unknown = (path: string): CertificateStatus => ({ path, present: false });
  const certificate = m instanceof Error ? unknown(p.serverCrt) : m.certificate;
  const anchor = m instanceof Error ? unknown(anchorPath) : m.anchor;
  const container = reg instanceof Error ? { name: pb.registry.name, present: false } : reg.container;
  const api: ApiStatus = reg instanceof Error ? { error: reg.message } : reg.api;
  const repositories = reg instanceof Error ? [] : reg.repositories;
  const hostStatuses = perHost.map((r) => r.status);
  const partial = {
    registry: pb.registry.address,
    ...(pb.tls.mode === 'none' ? { plainHttp: true as const } : {}),
    renewBeforeDays: pb.tls.renewBeforeDays,
    certificate,
    anchor,
    container,
    api,
    hosts: hostStatuses,
  };
  // The next apply's plan, in check mode, on the connections kept for the next read: the engine
  // closes the connections it is given when it ends, so it gets ones whose close leaves them open.
  // A fresh check-mode run per read: a plan must not see what an earlier read's run recorded.
  const planRun = createRun<Shared>(
    pb,
    run.inventory,
    run.secrets,
    { check: true, diff: false },
    () => undefined,
    {},
  );
  const health = await planHealth(
    planRun,
    new Map(
      hosts.map((h) => {
        const c = run.conns.get(h.name);
        return [h.name, c ? kept(c) : new Error(`${h.name} is not connected`)];
      }),
    ),
  );
  const { problems, warnings } = judge({ ...partial, pending: health.pending }, pb, health.failed);
  const facts = new Map(hosts.map((h, i) => [h.name, perHost[i]!.facts]));
  return {
    registry: pb.registry.address,
    readAt: now.toISOString(),
    plainHttp: pb.tls.mode === 'none',
    deleteEnabled: pb.registry.deleteEnabled,
    renewBeforeDays: pb.tls.renewBeforeDays,
    certificate,
    anchor,
    container,
    api,
    repositories,
    images: imageViews(run, repositories, facts),
    hosts: hostStatuses,
    problems,
    warnings,
    pending: health.pending.map(pendingLine),
  };
}
