import { TaskFailure, type Change, type Step } from '../core/task.js';
import type { PlannedStage, TaskDef } from '../engine/context.js';
import type { Cmd } from '../core/cmd.js';
import type { Connection } from '../transport/types.js';
import { daemonMessage, type DockerApi } from '../transport/dockerEngine.js';
import { ensureAuthKnown, ensureTlsKnown, replicaRoute, waitForRegistry } from './api.js';
import {
  desiredContainer,
  diffContainer,
  HTTP_SECRET_ENV,
  LABEL_AUTH,
  LABEL_CERT,
  type Inspected,
} from './container.js';
import { containerLogs, removeContainer, runContainer, startContainer } from './container-engine.js';
import { loadImage } from './image-transfer.js';
import { apiPathSegment } from '../transport/dockerEngine.js';
import { must } from './steps.js';
import { privateDirFixes, readDirs, type RemoteDir } from '../facts/dirs.js';
import { takeEarly } from '../engine/early.js';
import { ensureHttpSecretKnown } from './replicas.js';
import { replicasOf, singleOnMaster, withReplicaState, type Ctx, type Run, type Shared } from './shared.js';
import type { Playbook } from '../config/model.js';
import { MASK, Secret } from '../core/secret.js';

/**
 * `docker run -v` would make a missing data directory itself, with the daemon's umask; it is made
 * first, root's alone (0700: the registry runs as root in its container). `-m` applies to the last
 * directory only: its parents keep the defaults.
 */
const mkdirDataDir = (dir: string): Cmd => ({
  argv: ['mkdir', '-p', '-m', '700', '--', dir],
  privileged: true,
});

/** A setting of the container's environment as docker inspect shows it. */
function envOf(container: Inspected | undefined, name: string): string | undefined {
  const line = container?.Config?.Env?.find((e) => e.startsWith(`${name}=`));
  return line?.slice(name.length + 1);
}

/**
 * The registry's container and image, as `docker inspect` shows them, through the host's engine.
 * As with the docker client, whatever is not found (404, or 400 for a reference the daemon cannot
 * read) counts as absent, and the step that then creates or pulls it reports the daemon's error.
 */
export async function inspectRegistry(
  docker: DockerApi,
  registry: { name: string; image: string },
): Promise<{ container?: Inspected; imageId?: string }> {
  const found = async <T>(path: string): Promise<T | undefined> => {
    const r = await docker.request('GET', path, { timeoutMs: 30_000 });
    if (r.status === 404 || r.status === 400) return undefined;
    if (r.status !== 200)
      throw new TaskFailure(`inspecting the registry container failed: ${daemonMessage(r.body)}`);
    return JSON.parse(r.body.toString('utf8')) as T;
  };
  const container = await found<Inspected>(`/containers/${apiPathSegment(registry.name)}/json`);
  const image = await found<{ Id?: string }>(`/images/${apiPathSegment(registry.image)}/json`);
  return { ...(container ? { container } : {}), ...(image?.Id ? { imageId: image.Id } : {}) };
}

function probe(run: Run, conn: Connection) {
  return inspectRegistry(conn.docker(), run.playbook.registry);
}

type Probe = Awaited<ReturnType<typeof probe>>;

/** What the registry task reads on the master: its container, its image, its data directory. */
export interface RegistryFacts {
  container?: Inspected;
  imageId?: string;
  dataDirs: Map<string, RemoteDir | undefined>;
}

const lastLogs = (ctx: Ctx, name: string): Promise<string> => containerLogs(ctx.conn.docker(), name, 20);

const onFilesystem = (pb: Playbook) => (pb.registry.storage?.kind ?? 'filesystem') === 'filesystem';

/**
 * The registry container on every replica (the master alone by default), each one the same:
 * the same settings, certificate, storage and, with several, the same http.secret.
 */
export const registryStage: PlannedStage<Shared, RegistryFacts> = {
  hosts: (run) => replicasOf(run),
  async gather(ctx) {
    const { registry } = ctx.run.playbook;
    // The certificate, htpasswd and http.secret the container is made with, when tls and auth did not run.
    await ensureTlsKnown(ctx.run);
    await ensureAuthKnown(ctx.run);
    await ensureHttpSecretKnown(ctx.run);
    const [probed, dataDirs] = await Promise.all([
      takeEarly<Probe, Shared>(ctx.run, 'registry', ctx.host.name) ?? probe(ctx.run, ctx.conn),
      onFilesystem(ctx.run.playbook)
        ? readDirs(ctx.conn, [registry.dataDir])
        : new Map<string, RemoteDir | undefined>(),
    ]);
    return { ...probed, dataDirs };
  },
  plan(facts, { playbook, inventory, shared, host, secrets }) {
    const { registry } = playbook;
    const { container, imageId } = facts;
    const changes: Change[] = [];
    const steps: Step[] = [];
    // Hosts where this run added images: the step that adds one says so once it has.
    const imagesAdded = shared.imagesAdded ?? new Set<string>();
    if (!imageId) {
      const load = registry.imageArchive;
      changes.push(
        load
          ? { what: `image ${registry.image}`, to: `loaded from ${load}` }
          : { what: `image ${registry.image}`, to: 'pulled' },
      );
      steps.push({
        kind: 'fn',
        describe: load ? `docker load < ${load}` : `docker pull ${registry.image}`,
        run: async (conn) => {
          // A pull goes through the docker client: the image's registry may want the host's own
          // `docker login`, which only the client reads.
          if (load) await loadImage(conn.docker(), load);
          else {
            await must(
              conn,
              { argv: ['docker', 'pull', registry.image], privileged: true },
              `docker pull ${registry.image}`,
            );
          }
          imagesAdded.add(host.name);
        },
      });
    }

    // Earlier tasks' steps ran before this plan was made, except in check mode: there a
    // certificate or htpasswd still to be made has no fingerprint yet: compare everything
    // else, and report the label as changing to what it cannot yet name.
    const pending: Record<string, string> = {};
    const labels = container?.Config?.Labels ?? {};
    let certFp = shared.tls?.serverFingerprint?.value;
    if (!certFp) {
      pending[LABEL_CERT] = '(new certificate)';
      certFp = labels[LABEL_CERT] ?? '';
    }
    let authSha = shared.auth?.fileSha?.value;
    if (registry.auth && !authSha) {
      pending[LABEL_AUTH] = '(new htpasswd)';
      authSha = labels[LABEL_AUTH] ?? '';
    }
    // A new http.secret (check mode) is compared as the one the container has, and reported.
    let httpSecret = shared.httpSecret?.value;
    const secretPending = shared.httpSecret !== undefined && !shared.httpSecret.known;
    if (secretPending) httpSecret = new Secret(envOf(container, HTTP_SECRET_ENV) ?? '');
    const spec = desiredContainer(playbook, certFp, authSha, secrets, httpSecret);
    const differs = container ? diffContainer(spec, container, imageId, pending) : [];
    if (container && secretPending)
      differs.push({ what: `container.env.${HTTP_SECRET_ENV}`, to: MASK, why: 'a new http.secret is made' });
    const recreate = !container || differs.length > 0;
    if (!container)
      changes.push({
        what: `container ${registry.name}`,
        to: `${registry.image} on port ${registry.port}`,
        why: 'missing',
      });
    changes.push(...differs);
    if (recreate) {
      if (container)
        steps.push({
          kind: 'fn',
          describe: `docker rm -f ${registry.name}`,
          run: (conn) => removeContainer(conn.docker(), registry.name),
        });
      const dataDir = onFilesystem(playbook) ? registry.dataDir : undefined;
      steps.push({
        kind: 'fn',
        describe: `${dataDir ? `mkdir ${dataDir}; ` : ''}docker run ${registry.name}`,
        run: async (conn) => {
          if (dataDir) await must(conn, mkdirDataDir(dataDir), `mkdir ${dataDir}`);
          await runContainer(conn.docker(), spec);
        },
      });
    } else if (!container.State?.Running) {
      changes.push({
        what: `container ${registry.name}`,
        from: container.State?.Status ?? 'stopped',
        to: 'running',
      });
      steps.push({
        kind: 'fn',
        describe: `docker start ${registry.name}`,
        run: (conn) => startContainer(conn.docker(), registry.name),
      });
    }

    // A looser data directory is tightened in place; the container needs no restart for it.
    const dirFixes = privateDirFixes(facts.dataDirs);
    return {
      changes: [...dirFixes.changes, ...changes],
      steps: [...dirFixes.steps, ...(changes.length > 0 ? steps : [])],
      record: {
        registry: withReplicaState(replicasOf({ playbook, inventory }), shared.registry, host.name, {
          serving: changes.length === 0,
          changed: changes.length + dirFixes.changes.length > 0,
        }),
        imagesAdded,
      },
    };
  },
  settleDescribe: 'waiting for the registry to answer',
  async settle(ctx) {
    const { run, host } = ctx;
    const mine = run.shared.registry?.replicas?.[host.name];
    if (!mine || mine.serving) return;
    // This replica itself, on its own port: the others may answer through the address already.
    const failure = await waitForRegistry(run, 30_000, replicaRoute(run, host.name, ctx.conn));
    if (failure) {
      throw new TaskFailure(
        `the registry did not answer GET /v2/ over TLS: ${failure}`,
        await lastLogs(ctx, run.playbook.registry.name),
      );
    }
    run.shared.registry = withReplicaState(replicasOf(run), run.shared.registry, host.name, {
      ...mine,
      serving: true,
    });
    // Through the address, the load balancer sends nothing to a replica until its own health
    // checks see it up, a few seconds after the replica answers: once the last replica of the run
    // is serving, the address must answer too before images go through it.
    const replicas = Object.values(run.shared.registry?.replicas ?? {});
    if (!singleOnMaster(run) && replicas.every((r) => r.serving)) {
      const through = await waitForRegistry(run, 60_000);
      if (through) {
        throw new TaskFailure(
          `the registry serves on every replica but not through ${run.playbook.registry.address}: ${through}`,
        );
      }
    }
  },
};

export const registryTask: TaskDef<Shared> = {
  id: 'registry',
  // Read as soon as the master is connected: tls and auth write files, never the container.
  readAhead: (run, conn) => probe(run, conn),
  stages: [registryStage],
};
