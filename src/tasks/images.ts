import { posix } from 'node:path';
import { TaskFailure, type Change, type Step } from '../core/task.js';
import type { ImageSpec, Playbook } from '../config/model.js';
import type { GatherContext, PlannedStage, TaskDef } from '../engine/context.js';
import type { RegistryClient } from '../registry/client.js';
import { archiveImageIds } from '../facts/archive.js';
import { readFiles } from '../facts/files.js';
import { applyRemovals, planRemovals, type RemovalTarget } from '../registry/removal.js';
import type { Secret } from '../core/secret.js';
import type { RegistryAuth } from '../transport/dockerEngine.js';
import { loadImage, pullImage, pushImage, targetRef } from './image-transfer.js';
import { listImages } from '../facts/images.js';
import { ensureTlsKnown, registryClient } from './api.js';
import { usersOf } from './auth.js';
import { parallel } from './steps.js';
import { masterName, type Run, type Shared } from './shared.js';

const key = (i: ImageSpec) => `${i.repository}:${i.tag}`;
export { targetRef };

/** The host whose docker pushes an image: its source host, or the master for archives and pulls. */
export function pusherOf(run: Pick<Run, 'playbook' | 'inventory'>, i: ImageSpec): string {
  return i.source && 'host' in i.source ? i.source.host : run.inventory.master.name;
}

/** The registry's first user, as X-Registry-Auth carries it on pushes and pulls. */
export function registryAuthOf(pb: Playbook, secrets: ReadonlyMap<string, Secret>): RegistryAuth | undefined {
  const user = usersOf(pb, secrets)[0];
  if (!user) return undefined;
  return { username: user.username, password: user.password, serveraddress: pb.registry.address };
}

/** A reference as `docker images` shows it: no docker.io/library/ prefix, `:latest` when untagged. */
export function normaliseRef(ref: string): string {
  const short = ref.replace(/^(docker\.io|index\.docker\.io)\/(library\/)?/, '');
  if (short.includes('@')) return short;
  const last = short.slice(short.lastIndexOf('/') + 1);
  return last.includes(':') ? short : `${short}:latest`;
}

/**
 * Local image ids of many references (names, name@digest or image ids). From the list the facts
 * round trip took, unless this run has loaded, pulled or tagged images on the host since (see
 * Shared.imagesAdded); then read again.
 */
export async function localIds(
  ctx: GatherContext<Shared>,
  refs: readonly string[],
): Promise<Map<string, string | undefined>> {
  if (refs.length === 0) return new Map();
  const facts = ctx.run.facts.get(ctx.host.name);
  const list =
    facts?.dockerRunning && !ctx.run.shared.imagesAdded?.has(ctx.host.name)
      ? facts.images
      : await listImages(ctx.conn.docker());
  return new Map(refs.map((ref) => [ref, list.get(ref.startsWith('sha256:') ? ref : normaliseRef(ref))]));
}

/**
 * What the registry holds for a tag: its manifest's config digest (= the image id docker pushed)
 * and the manifest digest. Through the API when the registry serves; in check mode with the
 * registry not (yet) serving, from its storage on the master, which a recreated container reuses.
 */
async function registryState(
  ctx: GatherContext<Shared>,
  images: ImageSpec[],
): Promise<Map<string, { configDigest?: string; digest?: string } | undefined>> {
  const out = new Map<string, { configDigest?: string; digest?: string } | undefined>();
  const onFilesystem = (ctx.run.playbook.registry.storage?.kind ?? 'filesystem') === 'filesystem';
  // Without the registry task in this run (--tags): on S3 only the registry itself can say.
  if (!onFilesystem && !ctx.run.shared.registry) {
    await ensureTlsKnown(ctx.run);
    await ensureServing(ctx.run);
  }
  if (ctx.run.shared.registry?.serving) {
    const client = await registryClient(ctx.run);
    for (const i of images) {
      const info = await client.manifestInfo(i.repository, i.tag);
      out.set(
        key(i),
        info
          ? { digest: info.digest, ...(info.configDigest ? { configDigest: info.configDigest } : {}) }
          : undefined,
      );
    }
    return out;
  }
  const master = ctx.run.conns.get(masterName(ctx.run));
  // With s3 no host's disk holds the images: a registry that serves nowhere yet is read as empty.
  if (!master || !onFilesystem) return out;
  const root = posix.join(ctx.run.playbook.registry.dataDir, 'docker/registry/v2');
  const linkPath = (i: ImageSpec) =>
    posix.join(root, 'repositories', i.repository, '_manifests/tags', i.tag, 'current/link');
  const links = await readFiles(master, images.map(linkPath));
  const digests = new Map(
    images.map((i) => [key(i), links.get(linkPath(i))?.content.toString('utf8').trim()]),
  );
  const blobPath = (d: string) => posix.join(root, 'blobs/sha256', d.slice(7, 9), d.slice(7), 'data');
  const present = [...digests.values()].filter((d): d is string => !!d && d.startsWith('sha256:'));
  const blobs = await readFiles(master, present.map(blobPath));
  for (const i of images) {
    const d = digests.get(key(i));
    const blob = d ? blobs.get(blobPath(d)) : undefined;
    let configDigest: string | undefined;
    try {
      configDigest = blob
        ? (JSON.parse(blob.content.toString('utf8')) as { config?: { digest?: string } }).config?.digest
        : undefined;
    } catch {
      configDigest = undefined;
    }
    out.set(key(i), d ? { digest: d, ...(configDigest ? { configDigest } : {}) } : undefined);
  }
  return out;
}

/** When the registry task did not run in this invocation, find out whether the registry answers. */
async function ensureServing(run: Run): Promise<void> {
  if (run.shared.registry) return;
  let serving: boolean;
  try {
    serving = [200, 401].includes(await (await registryClient(run)).ping());
  } catch {
    serving = false;
  }
  run.shared.registry = { serving, changed: false };
}

/** Hosts that push an image or delete one from the registry (through the master). */
function pushers(run: Run): Set<string> {
  return new Set(run.playbook.images.map((i) => (i.state === 'absent' ? masterName(run) : pusherOf(run, i))));
}

function pullers(run: Run): string[] {
  return [...new Set(run.playbook.images.filter((i) => i.state === 'present').flatMap((i) => i.pullOn))];
}

/** The images a host pulls. */
const pulledBy = (run: Pick<Run, 'playbook'>, host: string) =>
  run.playbook.images.filter((i) => i.state === 'present' && i.pullOn.includes(host));

/** The same, as `<registry>/<repository>:<tag>`. */
const pullRefs = (run: Run, host: string) => pulledBy(run, host).map((i) => targetRef(run.playbook, i));

/** What the registry holds for a tag: its manifest digest and config digest (the image id). */
type Held = Map<string, { configDigest?: string; digest?: string } | undefined>;

/**
 * What the push stage reads on a host: on one that only pulls, the images it holds; on one that
 * pushes, the ids of its sources and what the registry holds for them.
 */
export type PushFacts =
  | { held: Map<string, string | undefined> }
  | {
      archiveIds: Map<string, string>;
      local: Map<string, string | undefined>;
      remote: Held;
      /** How the steps that delete reach the registry (through the master's connection). */
      client: () => Promise<RegistryClient>;
    };

type Scope = Pick<Run, 'playbook' | 'inventory'>;

/** The images a host pushes (present) or deletes (absent, on the master). */
function pushedBy(run: Scope, host: string) {
  const mine = run.playbook.images.filter(
    (i) => (i.state === 'absent' ? run.inventory.master.name : pusherOf(run, i)) === host,
  );
  return {
    mine,
    present: mine.filter((i) => i.state === 'present'),
    absent: mine.filter((i) => i.state === 'absent'),
  };
}

/** Where an image comes from on its pushing host: an archive's image id, a pull source, or its name. */
const localRef = (i: ImageSpec, archiveIds: ReadonlyMap<string, string>) =>
  i.source && 'archive' in i.source
    ? archiveIds.get(key(i))!
    : i.source && 'pull' in i.source
      ? i.source.pull
      : i.name;

const emptyImages = (): NonNullable<Shared['images']> => ({
  sourceIds: new Map(),
  held: new Map(),
  changed: false,
  pending: new Set(),
});

// The first stage pushes; meanwhile every host that only pulls takes what it holds (the facts'
// list, or a new read where the run added an image there), so the pull stage starts with its
// pulls. A host that pushes reads again in the pull stage: its own tagging changed what it holds.
export const pushStage: PlannedStage<Shared, PushFacts> = {
  hosts: (run) => [...new Set([...pushers(run), ...pullers(run)])],
  async gather(ctx) {
    const { run } = ctx;
    if (!pushers(run).has(ctx.host.name)) return { held: await localIds(ctx, pullRefs(run, ctx.host.name)) };
    const { mine, present } = pushedBy(run, ctx.host.name);
    const archiveIds = new Map<string, string>();
    for (const i of present) {
      if (i.source && 'archive' in i.source) {
        const ids = await archiveImageIds(i.source.archive);
        if (ids.length !== 1)
          throw new TaskFailure(`${i.source.archive} holds ${ids.length} images; regbook needs exactly one`);
        archiveIds.set(key(i), ids[0]!.id);
      }
    }
    const [local, remote] = await Promise.all([
      localIds(
        ctx,
        present.map((i) => localRef(i, archiveIds)),
      ),
      registryState(ctx, mine),
    ]);
    return { archiveIds, local, remote, client: () => registryClient(run) };
  },
  plan(facts, input) {
    const { playbook: pb, host, shared } = input;
    const prev = shared.images ?? emptyImages();
    if ('held' in facts) {
      return {
        changes: [],
        steps: [],
        record: { images: { ...prev, held: new Map([...prev.held, [host.name, facts.held]]) } },
      };
    }
    const { present, absent } = pushedBy(input, host.name);
    const { archiveIds, local, remote } = facts;
    const sourceIds = new Map(prev.sourceIds);
    const auth = registryAuthOf(pb, input.secrets);
    const changes: Change[] = [];
    // One lane per image (load or pull, tag, push), several images at once.
    const lanes: Step[][] = [];
    for (const i of present) {
      const steps: Step[] = [];
      const ref = localRef(i, archiveIds);
      const id = i.source && 'archive' in i.source ? archiveIds.get(key(i)) : local.get(ref);
      const inRegistry = remote.get(key(i))?.configDigest;
      if (!id && i.source && 'host' in i.source)
        throw new TaskFailure(`image ${i.name} is not on ${host.name}`);
      sourceIds.set(key(i), id);
      if (id && id === inRegistry) continue;
      changes.push({
        what: targetRef(pb, i),
        ...(inRegistry ? { from: inRegistry } : {}),
        to: id ?? `(pulled from ${ref})`,
        why: 'push',
      });
      lanes.push(steps);
      if (i.source && 'archive' in i.source && !local.get(ref)) {
        const archive = i.source.archive;
        steps.push({
          kind: 'fn',
          describe: `docker load < ${archive}`,
          run: (conn) => loadImage(conn.docker(), archive),
        });
      }
      if (i.source && 'pull' in i.source) {
        // The docker client, not the engine API: a source registry's credentials are what
        // `docker login` left in the host's client config, which only the client reads.
        steps.push({
          kind: 'exec',
          describe: `docker pull ${i.source.pull}`,
          cmd: { argv: ['docker', 'pull', i.source.pull], privileged: true },
        });
      }
      steps.push({
        kind: 'fn',
        describe: `docker tag ${ref} ${targetRef(pb, i)} && docker push ${targetRef(pb, i)}`,
        run: (conn) => pushImage(conn.docker(), pb, i, ref, auth),
      });
    }
    const deletes: RemovalTarget[] = [];
    for (const i of absent) {
      const have = remote.get(key(i));
      if (!have?.digest) continue;
      changes.push({ what: targetRef(pb, i), from: have.digest, why: 'state: absent' });
      deletes.push({ repository: i.repository, tag: i.tag });
    }
    const pending = new Set(prev.pending);
    if (changes.length > 0) pending.add(host.name);
    const steps: Step[] = [];
    if (lanes.length > 0) {
      // Loads, pulls and tags change what this host holds: a pull stage here must read again.
      steps.push(
        {
          kind: 'fn',
          describe: 'the pushes change what this host holds',
          run: async () => void (shared.imagesAdded ??= new Set()).add(host.name),
        },
        ...parallel('push', lanes),
      );
    }
    if (deletes.length > 0) {
      steps.push({
        kind: 'fn',
        describe: `deleting ${deletes.map((d) => ('tag' in d ? `${d.repository}:${d.tag}` : d.repository)).join(', ')}`,
        // Planned after this run's pushes: a tag just pushed may share a digest with an absent
        // one, and it must stay. The removal is decided from what the registry says then.
        run: async () => {
          const client = await facts.client();
          await applyRemovals(client, (await planRemovals(client, deletes)).removals);
        },
      });
    }
    return {
      changes,
      steps,
      record: { images: { ...prev, sourceIds, changed: prev.changed || changes.length > 0, pending } },
    };
  },
  async settle(ctx) {
    // docker may rewrite the config when pushing an image built by an old builder; what workers
    // must end up with is what the registry now holds. The host's part is made: no longer pending.
    const images = ctx.run.shared.images!;
    const { present } = pushedBy(ctx.run, ctx.host.name);
    if (present.length > 0) {
      const after = await registryState(ctx, present);
      for (const i of present) {
        const cfg = after.get(key(i))?.configDigest;
        if (cfg) images.sourceIds.set(key(i), cfg);
      }
    }
    images.pending.delete(ctx.host.name);
  },
};
/** What the pull stage reads on a host: the image id each of its images must have, and what it holds. */
export interface PullFacts {
  expected: Map<string, string | undefined>;
  local: Map<string, string | undefined>;
}

export const pullStage: PlannedStage<Shared, PullFacts> = {
  hosts: pullers,
  async gather(ctx) {
    const { run } = ctx;
    const mine = pulledBy(run, ctx.host.name);
    const expected = new Map(run.shared.images?.sourceIds ?? []);
    // Images the push stage did not handle in this run (--limit without their source host): what
    // the workers must hold is what the registry holds.
    const unknown = mine.filter((i) => !expected.has(key(i)));
    if (unknown.length > 0) {
      await ensureTlsKnown(run);
      await ensureServing(run);
      const held = await registryState(ctx, unknown);
      for (const i of unknown) expected.set(key(i), held.get(key(i))?.configDigest);
    }
    const local =
      run.shared.images?.held.get(ctx.host.name) ?? (await localIds(ctx, pullRefs(run, ctx.host.name)));
    return { expected, local };
  },
  plan({ expected, local }, input) {
    const { playbook: pb, host } = input;
    const auth = registryAuthOf(pb, input.secrets);
    const changes: Change[] = [];
    const pulls: Step[][] = [];
    const missing: string[] = [];
    for (const i of pulledBy(input, host.name)) {
      const want = expected.get(key(i));
      const have = local.get(targetRef(pb, i));
      if (!want) missing.push(i.name);
      if (want && have === want) continue;
      changes.push({
        what: targetRef(pb, i),
        ...(have ? { from: have } : {}),
        ...(want ? { to: want } : {}),
        why: 'pull',
      });
      pulls.push([
        {
          kind: 'fn',
          describe: `docker pull ${targetRef(pb, i)}`,
          run: (conn) => pullImage(conn.docker(), pb, i, auth),
        },
      ]);
    }
    // An image the registry does not hold (its push was left out by --limit, or is still to be
    // made in check mode, which stops before the steps) fails the host when the pulls would start.
    const unpullable: Step[] = missing.length
      ? [
          {
            kind: 'fn',
            describe: `checking ${missing.join(', ')} is in the registry`,
            run: () =>
              Promise.reject(
                new TaskFailure(
                  `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not in the registry (was its push skipped or did it fail?), so ${host.name} cannot pull ${missing.length > 1 ? 'them' : 'it'}`,
                ),
              ),
          },
        ]
      : [];
    return { changes, steps: [...unpullable, ...parallel('pull', pulls)] };
  },
};

const staleLogins = (run: Run, host: string) => run.facts.get(host)?.staleLogins ?? [];

// Older versions logged docker in to a private DOCKER_CONFIG under /tmp, which holds the
// registry password as base64 and outlived a run cut by a signal or a dropped link. Any host that
// still has one loses it here, whatever this playbook pushes or pulls there.
export const sweepStage: PlannedStage<Shared, readonly string[]> = {
  hosts: (run: Run) => run.inventory.hosts.map((h) => h.name).filter((h) => staleLogins(run, h).length > 0),
  // The facts round trip found them.
  gather: async (ctx) => staleLogins(ctx.run, ctx.host.name),
  plan: (dirs) => ({
    changes: dirs.map((d) => ({
      what: d,
      to: '(removed)',
      why: 'a docker login an older regbook left, with a credential',
    })),
    steps: [
      {
        kind: 'exec',
        describe: `rm -rf ${dirs.join(' ')}`,
        cmd: { argv: ['rm', '-rf', '--', ...dirs], privileged: true },
      },
    ],
  }),
};

export const imagesTask: TaskDef<Shared> = {
  id: 'images',
  stages: [sweepStage, pushStage, pullStage],
};
