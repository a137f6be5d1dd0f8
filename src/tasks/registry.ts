import { TaskFailure, type Change, type Step } from '../core/task.js';
import type { TaskDef } from '../engine/context.js';
import type { Cmd } from '../core/cmd.js';
import type { Connection } from '../transport/types.js';
import { ensureAuthKnown, ensureTlsKnown, waitForRegistry } from './api.js';
import {
  desiredContainer,
  diffContainer,
  LABEL_AUTH,
  LABEL_CERT,
  runCmd,
  type Inspected,
} from './container.js';
import { applySteps, must, result } from './steps.js';
import { aheadSlot } from './ahead.js';
import { masterName, type Ctx, type Run, type Shared } from './shared.js';

// Container and image state in one round trip; names travel as positional arguments.
const PROBE =
  'docker container inspect "$1" 2>/dev/null; echo "@@regbook@@"; ' +
  'docker image inspect --format "{{.Id}}" "$2" 2>/dev/null || true';

/**
 * `docker run -v` would make a missing data directory itself, with the daemon's umask; it is made
 * first, 0755, in the same round trip as the container. The directory is a positional argument.
 */
export function afterMkdir(dir: string, cmd: Cmd): Cmd {
  return {
    ...cmd,
    argv: ['sh', '-c', 'mkdir -p -m 755 -- "$1" && shift && exec "$@"', 'sh', dir, ...cmd.argv],
  };
}

export function parseProbe(stdout: string): { container?: Inspected; imageId?: string } {
  const [inspectJson, imageLine] = stdout.split('@@regbook@@');
  // A missing container: docker prints `[]` (newer) or nothing (older) and exits 1.
  const list = JSON.parse((inspectJson ?? '').trim() || '[]') as Inspected[];
  const imageId = imageLine?.trim();
  return { ...(list[0] ? { container: list[0] } : {}), ...(imageId ? { imageId } : {}) };
}

function probe(run: Run, conn: Connection) {
  const { registry } = run.playbook;
  return must(
    conn,
    { argv: ['sh', '-c', PROBE, 'sh', registry.name, registry.image], privileged: true },
    'inspecting the registry container',
  );
}

// Read as soon as the master is connected: tls and auth write files, never the container.
const ahead = aheadSlot<Awaited<ReturnType<typeof probe>>>();

async function lastLogs(ctx: Ctx, name: string): Promise<string> {
  const r = await ctx.conn.exec({ argv: ['docker', 'logs', '--tail', '20', name], privileged: true });
  return (r.stdout + r.stderr).trim();
}

export const registryTask: TaskDef<Shared> = {
  id: 'registry',
  readAhead: (run, conn) => ahead.start(run, conn.hostName, probe(run, conn)),
  stages: [
    {
      hosts: (run) => [masterName(run)],
      async run(ctx) {
        const { registry } = ctx.run.playbook;
        await ensureTlsKnown(ctx.run);
        await ensureAuthKnown(ctx.run);
        const tls = ctx.run.shared.tls;
        const auth = ctx.run.shared.auth;
        const { container, imageId } = parseProbe(
          (await (ahead.take(ctx.run, ctx.host.name) ?? probe(ctx.run, ctx.conn))).stdout,
        );

        const changes: Change[] = [];
        const steps: Step[] = [];
        if (!imageId) {
          if (!ctx.run.check) (ctx.run.shared.imagesAdded ??= new Set()).add(ctx.host.name);
          if (registry.imageArchive) {
            changes.push({ what: `image ${registry.image}`, to: `loaded from ${registry.imageArchive}` });
            steps.push({
              kind: 'fn',
              describe: `docker load < ${registry.imageArchive}`,
              run: async (conn) => {
                const r = await conn.execWithFile(
                  { argv: ['docker', 'load'], privileged: true },
                  registry.imageArchive!,
                );
                if (r.code !== 0)
                  throw new TaskFailure(`docker load of ${registry.imageArchive} failed: ${r.stderr.trim()}`);
              },
            });
          } else {
            changes.push({ what: `image ${registry.image}`, to: 'pulled' });
            steps.push({
              kind: 'exec',
              describe: `docker pull ${registry.image}`,
              cmd: { argv: ['docker', 'pull', registry.image], privileged: true },
            });
          }
        }

        // In check mode a certificate or htpasswd that would be rewritten has no fingerprint yet:
        // compare everything else, and report the label as changing to what it cannot yet name.
        const pending: Record<string, string> = {};
        const labels = container?.Config?.Labels ?? {};
        let certFp = tls?.serverFingerprint;
        if (!certFp) {
          pending[LABEL_CERT] = '(new certificate)';
          certFp = labels[LABEL_CERT] ?? '';
        }
        let authSha = auth?.fileSha;
        if (registry.auth && !authSha) {
          pending[LABEL_AUTH] = '(new htpasswd)';
          authSha = labels[LABEL_AUTH] ?? '';
        }
        const spec = desiredContainer(ctx.run.playbook, certFp, authSha);
        const differs = container ? diffContainer(spec, container, imageId, pending) : [];
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
              kind: 'exec',
              describe: `docker rm -f ${registry.name}`,
              cmd: { argv: ['docker', 'rm', '-f', registry.name], privileged: true },
            });
          steps.push({
            kind: 'exec',
            describe: `mkdir ${registry.dataDir}; docker run ${registry.name}`,
            cmd: afterMkdir(registry.dataDir, runCmd(spec)),
          });
        } else if (!container.State?.Running) {
          changes.push({
            what: `container ${registry.name}`,
            from: container.State?.Status ?? 'stopped',
            to: 'running',
          });
          steps.push({
            kind: 'exec',
            describe: `docker start ${registry.name}`,
            cmd: { argv: ['docker', 'start', registry.name], privileged: true },
          });
        }

        ctx.run.shared.registry = { serving: changes.length === 0, changed: changes.length > 0 };
        if (changes.length > 0 && !ctx.run.check) {
          await applySteps(ctx, steps);
          const failure = await waitForRegistry(ctx.run);
          if (failure) {
            throw new TaskFailure(
              `the registry did not answer GET /v2/ over TLS: ${failure}`,
              await lastLogs(ctx, registry.name),
            );
          }
          ctx.run.shared.registry.serving = true;
        }
        return result(changes);
      },
    },
  ],
};
