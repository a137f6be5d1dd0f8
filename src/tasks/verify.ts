import { TaskFailure } from '../core/task.js';
import type { PlannedStage, TaskDef } from '../engine/context.js';
import { ensureTlsKnown, registryClient } from './api.js';
import { masterName, type Shared } from './shared.js';
import { plural } from '../ui/size.js';

/** What the registry lists, or why there is nothing to read yet (a change of this run not made). */
export type VerifyFacts =
  { pending: string } | { ping: number; catalog?: string[]; tags?: Map<string, string[]> };

/**
 * Reads the catalog and tags through the master's SSH connection, with TLS checked against the
 * anchor under the name clients use; fails when a declared image is missing or an absent one is
 * still listed. It never changes anything.
 */
export const verifyStage: PlannedStage<Shared, VerifyFacts> = {
  hosts: (run) => [masterName(run)],
  async gather(ctx) {
    const { run } = ctx;
    const s = run.shared;
    // An earlier task of this run that has a change still to make (check mode stops before its
    // steps) leaves nothing to verify yet; a registry this run did not touch is read as it is.
    if (s.registry && !s.registry.serving) return { pending: 'the registry is not serving yet' };
    if (s.images && s.images.pending.size > 0) return { pending: 'the images are not pushed yet' };
    await ensureTlsKnown(run);
    if (run.playbook.tls.mode !== 'none' && !run.shared.tls?.anchorPem)
      return { pending: 'the certificate is not made yet' };
    const client = await registryClient(run);
    const ping = await client.ping();
    if (ping !== 200) return { ping };
    const catalog = await client.catalog();
    const listed = new Set(catalog);
    const tags = new Map<string, string[]>();
    for (const repo of new Set(run.playbook.images.map((i) => i.repository)))
      tags.set(repo, listed.has(repo) ? await client.tags(repo) : []);
    return { ping, catalog, tags };
  },
  plan(facts, { playbook }) {
    if ('pending' in facts)
      return { changes: [], steps: [], skipped: 'what it would verify is not there yet' };
    if (facts.ping !== 200) throw new TaskFailure(`GET /v2/ answered ${facts.ping}`);
    const problems: string[] = [];
    for (const i of playbook.images) {
      const listed = (facts.tags?.get(i.repository) ?? []).includes(i.tag);
      if (i.state === 'present' && !listed) problems.push(`${i.repository}:${i.tag} is missing`);
      if (i.state === 'absent' && listed) problems.push(`${i.repository}:${i.tag} is still listed`);
    }
    if (problems.length > 0)
      throw new TaskFailure(`the registry does not hold what the playbook declares: ${problems.join('; ')}`);
    return {
      changes: [],
      steps: [],
      message: plural(facts.catalog?.length ?? 0, 'repository', 'repositories'),
    };
  },
};

export const verifyTask: TaskDef<Shared> = { id: 'verify', stages: [verifyStage] };
