import { TaskFailure, type Change } from '../core/task.js';
import type { RunStage, TaskDef } from '../engine/context.js';
import { ensureTlsKnown, registryClient } from './api.js';
import { masterName, type Shared } from './shared.js';
import { plural } from '../ui/size.js';

/**
 * Reads the catalog and tags through the master's SSH connection, with TLS checked against the
 * anchor under the name clients use; fails when a declared image is missing or an absent one is
 * still listed. It never changes anything.
 */
export const verifyTask: TaskDef<Shared, RunStage<Shared>> = {
  id: 'verify',
  stages: [
    {
      hosts: (run) => [masterName(run)],
      async run(ctx) {
        const plain = ctx.run.playbook.tls.mode === 'none';
        if (!ctx.run.check || plain) await ensureTlsKnown(ctx.run);
        const s = ctx.run.shared;
        if (ctx.run.check && (!s.registry?.serving || s.images?.changed || (!s.tls?.anchorPem && !plain))) {
          return { status: 'skipped', changes: [], message: 'what it would verify is not there yet' };
        }
        const client = await registryClient(ctx.run);
        const status = await client.ping();
        if (status !== 200) throw new TaskFailure(`GET /v2/ answered ${status}`);
        const catalog = new Set(await client.catalog());
        const problems: string[] = [];
        const tagsOf = new Map<string, Set<string>>();
        const tags = async (repo: string) => {
          if (!tagsOf.has(repo)) tagsOf.set(repo, new Set(catalog.has(repo) ? await client.tags(repo) : []));
          return tagsOf.get(repo)!;
        };
        for (const i of ctx.run.playbook.images) {
          const listed = (await tags(i.repository)).has(i.tag);
          if (i.state === 'present' && !listed) problems.push(`${i.repository}:${i.tag} is missing`);
          if (i.state === 'absent' && listed) problems.push(`${i.repository}:${i.tag} is still listed`);
        }
        if (problems.length > 0)
          throw new TaskFailure(
            `the registry does not hold what the playbook declares: ${problems.join('; ')}`,
          );
        const changes: Change[] = [];
        return { status: 'ok', changes, message: plural(catalog.size, 'repository', 'repositories') };
      },
    },
  ],
};
