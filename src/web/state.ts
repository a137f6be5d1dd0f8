// What the web view shows, read through connections opened once and kept: the registry's tags (with
// size and creation time), each declared image as every host holds it, the certificate, each
// registry replica, and each host's trust and reachability. A read is `status`'s own
// (ops/status.ts): the next apply's plans in check mode gather every host once, the health is
// rendered from their facts (the host's images come with its facts), and the page's tables are
// status's tables. Only the tags' digests, sizes and creation dates are read beyond that, through
// the same registry client (the creation date from each image's config blob, as a pull would).
import type { HostSpec } from '../config/model.js';
import type { HostFacts } from '../core/task.js';
import {
  readStatus,
  type ApiStatus,
  type CertificateStatus,
  type ContainerStatus,
  type HostStatus,
  type ReplicaStatus,
  type StatusReport,
} from '../ops/status.js';
import { imageCreated } from '../registry/image-config.js';
import { registryClient } from '../tasks/api.js';
import type { Run, Shared } from '../tasks/shared.js';
import { createRun } from '../engine/setup.js';
import { connect } from '../transport/index.js';
import type { Connection } from '../transport/types.js';
import { formatBytes } from '../ui/size.js';
import { hostCells, pendingLine, replicaCells, type Cell } from '../ui/status-report.js';

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

/** A host as status reports it, with its row of status's hosts table. */
export type HostView = HostStatus & { cells: Cell[] };

/** A registry replica as status reports it, with its row of status's replicas table. */
export type ReplicaView = ReplicaStatus & { cells: Cell[] };

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
  /** Present when the registry runs on replicas, as in status. */
  replicas?: ReplicaView[];
  repositories: RepositoryView[];
  images: ImageView[];
  hosts: HostView[];
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

/**
 * The registry's repositories and tags, as status listed them, each with its manifest's digest,
 * size, image id and age, through the read's registry client.
 */
async function readRepositories(run: Run, listed: ApiStatus['repositories']): Promise<RepositoryView[]> {
  const client = await registryClient(run);
  const out: RepositoryView[] = [];
  for (const { repository, tags: names } of listed ?? []) {
    const tags: TagView[] = [];
    for (const tag of names) {
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

/** What the page shows beyond status's report: the tags in detail, and the images each host holds. */
interface Beyond {
  repositories: RepositoryView[];
  facts: Map<string, HostFacts | undefined>;
}

/** Reads everything the page shows, reusing the open connections. */
export async function readState(run: Run, conns: HostConnections, now = new Date()): Promise<UiState> {
  const pb = run.playbook;
  const hosts = run.inventory.hosts;
  const opened = await Promise.all(
    hosts.map((h) =>
      conns.get(h).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
    ),
  );
  // A fresh check-mode run per read: a plan must not see what an earlier read's run recorded.
  const readRun = createRun<Shared>(
    pb,
    run.inventory,
    run.secrets,
    { check: true, diff: false },
    () => undefined,
    {},
  );
  const { report, more } = await readStatus<Beyond>(
    readRun,
    new Map(hosts.map((h, i) => [h.name, opened[i]!])),
    now,
    async (r, rep: StatusReport) => ({
      repositories:
        rep.api.status === 200
          ? await readRepositories(r, rep.api.repositories).catch(() =>
              (rep.api.repositories ?? []).map((x) => ({
                repository: x.repository,
                tags: x.tags.map((tag) => ({ tag })),
              })),
            )
          : [],
      facts: new Map(hosts.map((h) => [h.name, r.facts.get(h.name)])),
    }),
  );
  // A connection that failed mid-read is opened anew on the next read.
  for (const h of report.hosts) if (h.reachable && h.error !== undefined) conns.drop(h.name);
  const repositories = more?.repositories ?? [];
  return {
    registry: pb.registry.address,
    readAt: now.toISOString(),
    plainHttp: pb.tls.mode === 'none',
    deleteEnabled: pb.registry.deleteEnabled,
    renewBeforeDays: pb.tls.renewBeforeDays,
    certificate: report.certificate,
    anchor: report.anchor,
    container: report.container,
    api: report.api,
    ...(report.replicas ? { replicas: report.replicas.map((x) => ({ ...x, cells: replicaCells(x) })) } : {}),
    repositories,
    images: imageViews(run, repositories, more?.facts ?? new Map()),
    hosts: report.hosts.map((h) => ({ ...h, cells: hostCells(h, true) })),
    problems: report.problems,
    warnings: report.warnings,
    pending: report.pending.map(pendingLine),
  };
}
