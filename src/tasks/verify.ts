import { TaskFailure } from '../core/task.js';
import type { PlannedStage, TaskDef } from '../engine/context.js';
import type { RegistryClient } from '../registry/client.js';
import { ensureTlsKnown, registryClient, replicaRoute, routeClient } from './api.js';
import { masterName, replicasOf, singleOnMaster, type Run, type Shared } from './shared.js';
import { plural } from '../ui/size.js';

/** What one way to the registry lists: a replica on its own, or registry.address. */
export interface Listing {
  /** Which way, for messages: "worker1 directly", "lb:5000"; absent for the one registry. */
  through?: string;
  ping: number;
  catalog?: string[];
  tags?: Map<string, string[]>;
}

/** What the registry lists, or why there is nothing to read yet (a change of this run not made). */
export type VerifyFacts = { pending: string } | { listings: Listing[] };

async function list(run: Run, client: RegistryClient, through?: string): Promise<Listing> {
  const at = through ? { through } : {};
  const ping = await client.ping();
  if (ping !== 200) return { ...at, ping };
  const catalog = await client.catalog();
  const listed = new Set(catalog);
  const tags = new Map<string, string[]>();
  for (const repo of new Set(run.playbook.images.map((i) => i.repository)))
    tags.set(repo, listed.has(repo) ? await client.tags(repo) : []);
  return { ...at, ping, catalog, tags };
}

/** The master, then every replica (inventory order): the hosts verify reads the registry from. */
function verifyHosts(run: Run): string[] {
  const wanted = new Set([masterName(run), ...replicasOf(run)]);
  return run.inventory.hosts.map((h) => h.name).filter((h) => wanted.has(h));
}

/**
 * Reads the catalog and tags over TLS, checked against the anchor: on the master through the
 * name clients use (registry.address), and on each replica (when there are several, or one
 * elsewhere) directly on its own port under its own name, so a replica that serves another
 * storage or nothing at all is found even while the address answers. Fails when a declared image
 * is missing or an absent one is still listed. It never changes anything.
 */
export const verifyStage: PlannedStage<Shared, VerifyFacts> = {
  hosts: (run) => verifyHosts(run),
  async gather(ctx) {
    const { run, host } = ctx;
    const s = run.shared;
    // An earlier task of this run that has a change still to make (check mode stops before its
    // steps) leaves nothing to verify yet; a registry this run did not touch is read as it is.
    if (s.registry && !s.registry.serving) return { pending: 'the registry is not serving yet' };
    if (s.registry?.replicas?.[host.name]?.serving === false)
      return { pending: 'this replica is not serving yet' };
    if (s.images && s.images.pending.size > 0) return { pending: 'the images are not pushed yet' };
    await ensureTlsKnown(run);
    if (run.playbook.tls.mode !== 'none' && !run.shared.tls?.anchorPem)
      return { pending: 'the certificate is not made yet' };
    const listings: Listing[] = [];
    if (singleOnMaster(run)) {
      listings.push(await list(run, await registryClient(run)));
      return { listings };
    }
    if (replicasOf(run).includes(host.name)) {
      const client = await routeClient(run, replicaRoute(run, host.name, ctx.conn));
      try {
        listings.push(await list(run, client, `${host.name} directly`));
      } finally {
        client.close();
      }
    }
    if (host.name === masterName(run))
      listings.push(await list(run, await registryClient(run), run.playbook.registry.address));
    return { listings };
  },
  plan(facts, { playbook }) {
    if ('pending' in facts)
      return { changes: [], steps: [], skipped: 'what it would verify is not there yet' };
    const problems: string[] = [];
    for (const l of facts.listings) {
      const where = l.through ? ` (${l.through})` : '';
      if (l.ping !== 200) {
        problems.push(`GET /v2/ answered ${l.ping}${where}`);
        continue;
      }
      const wrong: string[] = [];
      for (const i of playbook.images) {
        const listed = (l.tags?.get(i.repository) ?? []).includes(i.tag);
        if (i.state === 'present' && !listed) wrong.push(`${i.repository}:${i.tag} is missing`);
        if (i.state === 'absent' && listed) wrong.push(`${i.repository}:${i.tag} is still listed`);
      }
      if (wrong.length > 0)
        problems.push(`the registry${where} does not hold what the playbook declares: ${wrong.join('; ')}`);
    }
    if (problems.length > 0) throw new TaskFailure(problems.join('; '));
    const repos = plural(facts.listings[0]?.catalog?.length ?? 0, 'repository', 'repositories');
    const through = facts.listings.map((l) => l.through).filter(Boolean);
    return {
      changes: [],
      steps: [],
      message: through.length > 0 ? `${repos}, through ${through.join(' and ')}` : repos,
    };
  },
};

export const verifyTask: TaskDef<Shared> = { id: 'verify', stages: [verifyStage] };
