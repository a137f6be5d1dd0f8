import { posix } from 'node:path';
import { TaskFailure, type Change, type Step } from '../core/task.js';
import type { ImageSpec, Playbook } from '../config/model.js';
import type { RunStage, TaskDef } from '../engine/context.js';
import { archiveImageIds } from '../facts/archive.js';
import { IMAGE_LIST_FORMAT, parseImageList } from '../facts/images.js';
import { readFiles } from '../facts/files.js';
import { API_FAIL, API_STREAM_END, ENGINE_API_GATE, apiPathSegment } from '../facts/engine-api.js';
import type { Cmd } from '../core/cmd.js';
import { declareShellScript } from '../core/shell-script.js';
import { applyRemovals, planRemovals, type RemovalTarget } from '../registry/removal.js';
import { Secret } from '../core/secret.js';
import { ensureTlsKnown, registryClient } from './api.js';
import { authUsers } from './auth.js';
import { applySteps, must, parallel, result } from './steps.js';
import { masterName, type Ctx, type Run, type Shared } from './shared.js';

const key = (i: ImageSpec) => `${i.repository}:${i.tag}`;
export const targetRef = (pb: Playbook, i: ImageSpec) => `${pb.registry.address}/${i.repository}:${i.tag}`;

/** The host whose docker pushes an image: its source host, or the master for archives and pulls. */
export function pusherOf(run: Run, i: ImageSpec): string {
  return i.source && 'host' in i.source ? i.source.host : masterName(run);
}

// One docker client call lists every local image: starting the client once per image (a loop of
// `docker image inspect`) was the slowest part of a no-change run.
const LIST_IMAGES = ['docker', 'images', '--no-trunc', '--format', IMAGE_LIST_FORMAT];

// Pulls and pushes go through the engine API with curl where that reaches the daemon the docker
// client would (facts/engine-api.ts). With registry auth the credentials travel as the API's
// X-Registry-Auth header, which curl reads from its stdin (`-H @-`): never in argv, never in a
// file. The docker client can only use credentials that `docker login` wrote to disk, so with auth
// there is no fallback to it: a host whose daemon curl cannot reach is told so.
const AUTH_NEEDS_API =
  'echo "with registry.auth regbook pushes and pulls through the engine API, which needs curl and the daemon at /var/run/docker.sock (no DOCKER_HOST or docker context)" >&2; exit 1';

// A pull from the registry: the POST /images/create the client makes, without starting the
// client, which costs a host more CPU than the pull request itself. Elsewhere, `docker pull`.
// $1 the reference, $2 and $3 its repository and tag as URL query values, $4 `auth` when the
// X-Registry-Auth header is on stdin.
const PULL = [
  API_FAIL,
  `if ${ENGINE_API_GATE}; then`,
  `  if [ "\${4:-}" = auth ]; then h=@-; else h='X-Registry-Auth: e30='; fi`,
  `  r=$(curl -sSg -X POST -H "$h" --unix-socket "$s" -w ' @@%{http_code}' "http://docker/images/create?fromImage=$2&tag=$3") || exit 1`,
  API_STREAM_END,
  'fi',
  `if [ "\${4:-}" = auth ]; then ${AUTH_NEEDS_API}; fi`,
  'exec docker pull "$1"',
].join('\n');
declareShellScript('tasks/images: pull', PULL);

/**
 * The X-Registry-Auth header for the registry's first user, as curl reads it from stdin: the
 * daemon decodes URL-safe base64 of {username, password, serveraddress}, with padding.
 */
export function registryAuthHeader(run: Run): Secret | undefined {
  const user = authUsers(run)[0];
  if (!user) return undefined;
  const json = JSON.stringify({
    username: user.username,
    password: user.password.reveal(),
    serveraddress: run.playbook.registry.address,
  });
  const b64 = Buffer.from(json, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  return new Secret(`X-Registry-Auth: ${b64}\n`);
}

/** `docker pull` of an image the registry holds, through the engine API where it can. */
export function pullCmd(pb: Playbook, i: ImageSpec, auth?: Secret): Cmd {
  const ref = targetRef(pb, i);
  const repository = `${pb.registry.address}/${i.repository}`;
  return {
    argv: [
      'sh',
      '-c',
      PULL,
      'regbook-pull',
      ref,
      encodeURIComponent(repository),
      encodeURIComponent(i.tag),
      ...(auth ? ['auth'] : []),
    ],
    ...(auth ? { stdin: auth } : {}),
    privileged: true,
  };
}

// `docker tag` and `docker push` in one round trip, through the engine API where it can, as the
// pull is: the master otherwise starts the client twice per image pushed, on the first apply's
// path between the last docker restart and the workers' pulls. The daemon wants the
// X-Registry-Auth header present even where no credentials are needed: `e30=` is `{}`.
// $1 the source (a reference or an image id), $2 the target reference; then, for the URLs, $3 the
// source and $4 the target repository as path segments, $5 that repository and $6 its tag as
// query values; $7 `auth` when the X-Registry-Auth header is on stdin.
const PUSH = [
  API_FAIL,
  `if ${ENGINE_API_GATE}; then`,
  `  r=$(curl -sSg -X POST --unix-socket "$s" -w ' @@%{http_code}' "http://docker/images/$3/tag?repo=$5&tag=$6") || exit 1`,
  `  case "$r" in *' @@201') ;; *) api_fail "\${r% @@*}" "docker tag $1 $2: " ;; esac`,
  `  if [ "\${7:-}" = auth ]; then h=@-; else h='X-Registry-Auth: e30='; fi`,
  `  r=$(curl -sSg -X POST -H "$h" --unix-socket "$s" -w ' @@%{http_code}' "http://docker/images/$4/push?tag=$6") || exit 1`,
  API_STREAM_END,
  'fi',
  `if [ "\${7:-}" = auth ]; then ${AUTH_NEEDS_API}; fi`,
  'docker tag "$1" "$2" && exec docker push "$2"',
].join('\n');
declareShellScript('tasks/images: tag and push', PUSH);

/** Tags `source` as the image's reference in the registry and pushes it, through the engine API where it can. */
export function pushCmd(pb: Playbook, i: ImageSpec, source: string, auth?: Secret): Cmd {
  const repository = `${pb.registry.address}/${i.repository}`;
  return {
    argv: [
      'sh',
      '-c',
      PUSH,
      'regbook-push',
      source,
      targetRef(pb, i),
      apiPathSegment(source),
      apiPathSegment(repository),
      encodeURIComponent(repository),
      encodeURIComponent(i.tag),
      ...(auth ? ['auth'] : []),
    ],
    ...(auth ? { stdin: auth } : {}),
    privileged: true,
  };
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
export async function localIds(ctx: Ctx, refs: readonly string[]): Promise<Map<string, string | undefined>> {
  if (refs.length === 0) return new Map();
  const facts = ctx.run.facts.get(ctx.host.name);
  const list =
    facts?.dockerRunning && !ctx.run.shared.imagesAdded?.has(ctx.host.name)
      ? facts.images
      : parseImageList(
          (await must(ctx.conn, { argv: LIST_IMAGES, privileged: true }, 'listing local images')).stdout,
        );
  return new Map(refs.map((ref) => [ref, list.get(ref.startsWith('sha256:') ? ref : normaliseRef(ref))]));
}

/**
 * What the registry holds for a tag: its manifest's config digest (= the image id docker pushed)
 * and the manifest digest. Through the API when the registry serves; in check mode with the
 * registry not (yet) serving, from its storage on the master, which a recreated container reuses.
 */
async function registryState(
  ctx: Ctx,
  images: ImageSpec[],
): Promise<Map<string, { configDigest?: string; digest?: string } | undefined>> {
  const out = new Map<string, { configDigest?: string; digest?: string } | undefined>();
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
  if (!master) return out;
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
const pulledBy = (run: Run, host: string) =>
  run.playbook.images.filter((i) => i.state === 'present' && i.pullOn.includes(host));

/** The same, as `<registry>/<repository>:<tag>`. */
const pullRefs = (run: Run, host: string) => pulledBy(run, host).map((i) => targetRef(run.playbook, i));

// The first stage pushes; meanwhile every host that only pulls takes what it holds (the facts'
// list, or a new read where the run added an image there), so the pull stage starts with its
// pulls. A host that pushes reads again in the pull stage: its own tagging changed what it holds.
const pushStage = {
  hosts: (run: Run) => [...new Set([...pushers(run), ...pullers(run)])],
  async run(ctx: Ctx) {
    const pb = ctx.run.playbook;
    ctx.run.shared.images ??= { sourceIds: new Map(), held: new Map(), changed: false, pending: new Set() };
    const shared = ctx.run.shared.images;
    if (!pushers(ctx.run).has(ctx.host.name)) {
      shared.held.set(ctx.host.name, await localIds(ctx, pullRefs(ctx.run, ctx.host.name)));
      return result([]);
    }
    const mine = pb.images.filter(
      (i) => (i.state === 'absent' ? masterName(ctx.run) : pusherOf(ctx.run, i)) === ctx.host.name,
    );
    const present = mine.filter((i) => i.state === 'present');
    const absent = mine.filter((i) => i.state === 'absent');

    // Where each image comes from on this host, and its id there.
    const archiveIds = new Map<string, string>();
    for (const i of present) {
      if (i.source && 'archive' in i.source) {
        const ids = await archiveImageIds(i.source.archive);
        if (ids.length !== 1)
          throw new TaskFailure(`${i.source.archive} holds ${ids.length} images; regbook needs exactly one`);
        archiveIds.set(key(i), ids[0]!.id);
      }
    }
    const localRef = (i: ImageSpec) =>
      i.source && 'archive' in i.source
        ? archiveIds.get(key(i))!
        : i.source && 'pull' in i.source
          ? i.source.pull
          : i.name;
    const [local, remote] = await Promise.all([
      localIds(ctx, present.map(localRef)),
      registryState(ctx, mine),
    ]);

    const changes: Change[] = [];
    // One lane per image (load or pull, tag, push), several images at once.
    const lanes: Step[][] = [];
    for (const i of present) {
      const steps: Step[] = [];
      let id = local.get(localRef(i));
      if (i.source && 'archive' in i.source) id = archiveIds.get(key(i));
      const inRegistry = remote.get(key(i))?.configDigest;
      if (!id && i.source && 'host' in i.source)
        throw new TaskFailure(`image ${i.name} is not on ${ctx.host.name}`);
      shared.sourceIds.set(key(i), id);
      if (id && id === inRegistry) continue;
      changes.push({
        what: targetRef(pb, i),
        ...(inRegistry ? { from: inRegistry } : {}),
        to: id ?? `(pulled from ${localRef(i)})`,
        why: 'push',
      });
      lanes.push(steps);
      if (i.source && 'archive' in i.source && !local.get(localRef(i))) {
        const archive = i.source.archive;
        steps.push({
          kind: 'fn',
          describe: `docker load < ${archive}`,
          run: async (conn) => {
            const r = await conn.execWithFile({ argv: ['docker', 'load'], privileged: true }, archive);
            if (r.code !== 0) throw new TaskFailure(`docker load of ${archive} failed: ${r.stderr.trim()}`);
          },
        });
      }
      if (i.source && 'pull' in i.source) {
        steps.push({
          kind: 'exec',
          describe: `docker pull ${i.source.pull}`,
          cmd: { argv: ['docker', 'pull', i.source.pull], privileged: true },
        });
      }
      const src = i.source && 'archive' in i.source ? archiveIds.get(key(i))! : localRef(i);
      steps.push({
        kind: 'exec',
        describe: `docker tag ${src} ${targetRef(pb, i)} && docker push ${targetRef(pb, i)}`,
        cmd: pushCmd(pb, i, src, registryAuthHeader(ctx.run)),
      });
    }
    const deletes: RemovalTarget[] = [];
    for (const i of absent) {
      const have = remote.get(key(i));
      if (!have?.digest) continue;
      changes.push({ what: targetRef(pb, i), from: have.digest, why: 'state: absent' });
      deletes.push({ repository: i.repository, tag: i.tag });
    }
    shared.changed ||= changes.length > 0;
    if (changes.length > 0) shared.pending.add(ctx.host.name);
    const steps: Step[] = [];
    if (lanes.length > 0) {
      steps.push(
        {
          kind: 'fn',
          describe: 'the pushes change what this host holds',
          // Loads, pulls and tags change what this host holds: a pull stage here must read again.
          run: async () => void (ctx.run.shared.imagesAdded ??= new Set()).add(ctx.host.name),
        },
        ...parallel('push', lanes),
        {
          kind: 'fn',
          describe: 'reading what the registry holds now',
          // docker may rewrite the config when pushing an image built by an old builder; what
          // workers must end up with is what the registry now holds.
          run: async () => {
            const after = await registryState(ctx, present);
            for (const i of present) {
              const cfg = after.get(key(i))?.configDigest;
              if (cfg) shared.sourceIds.set(key(i), cfg);
            }
          },
        },
      );
    }
    if (deletes.length > 0) {
      steps.push({
        kind: 'fn',
        describe: `deleting ${deletes.map((d) => ('tag' in d ? `${d.repository}:${d.tag}` : d.repository)).join(', ')}`,
        // Planned now, after this run's pushes: a tag just pushed may share a digest with an
        // absent one, and it must stay.
        run: async () => {
          const client = await registryClient(ctx.run);
          await applyRemovals(client, (await planRemovals(client, deletes)).removals);
        },
      });
    }
    if (await applySteps(ctx, steps)) shared.pending.delete(ctx.host.name);
    return result(changes);
  },
};

const pullStage = {
  hosts: pullers,
  async run(ctx: Ctx) {
    const pb = ctx.run.playbook;
    const mine = pulledBy(ctx.run, ctx.host.name);
    const expected = new Map(ctx.run.shared.images?.sourceIds ?? []);
    // Images the push stage did not handle in this run (--limit without their source host): what
    // the workers must hold is what the registry holds.
    const unknown = mine.filter((i) => !expected.has(key(i)));
    if (unknown.length > 0) {
      await ensureTlsKnown(ctx.run);
      await ensureServing(ctx.run);
      const held = await registryState(ctx, unknown);
      for (const i of unknown) expected.set(key(i), held.get(key(i))?.configDigest);
    }
    const local =
      ctx.run.shared.images?.held.get(ctx.host.name) ??
      (await localIds(ctx, pullRefs(ctx.run, ctx.host.name)));
    const changes: Change[] = [];
    const pulls: Step[][] = [];
    const missing: string[] = [];
    for (const i of mine) {
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
          kind: 'exec',
          describe: `docker pull ${targetRef(pb, i)}`,
          cmd: pullCmd(pb, i, registryAuthHeader(ctx.run)),
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
                  `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not in the registry (was its push skipped or did it fail?), so ${ctx.host.name} cannot pull ${missing.length > 1 ? 'them' : 'it'}`,
                ),
              ),
          },
        ]
      : [];
    await applySteps(ctx, [...unpullable, ...parallel('pull', pulls)]);
    return result(changes);
  },
};

const staleLogins = (run: Run, host: string) => run.facts.get(host)?.staleLogins ?? [];

// Older versions logged docker in to a private DOCKER_CONFIG under /tmp, which holds the
// registry password as base64 and outlived a run cut by a signal or a dropped link. Any host that
// still has one loses it here, whatever this playbook pushes or pulls there.
const sweepStage = {
  hosts: (run: Run) => run.inventory.hosts.map((h) => h.name).filter((h) => staleLogins(run, h).length > 0),
  async run(ctx: Ctx) {
    const dirs = staleLogins(ctx.run, ctx.host.name);
    await applySteps(ctx, [
      {
        kind: 'exec',
        describe: `rm -rf ${dirs.join(' ')}`,
        cmd: { argv: ['rm', '-rf', '--', ...dirs], privileged: true },
      },
    ]);
    return result(
      dirs.map((d) => ({
        what: d,
        to: '(removed)',
        why: 'a docker login an older regbook left, with a credential',
      })),
    );
  },
};

export const imagesTask: TaskDef<Shared, RunStage<Shared>> = {
  id: 'images',
  stages: [sweepStage, pushStage, pullStage],
};
