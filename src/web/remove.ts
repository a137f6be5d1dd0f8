// A tag deleted from the page: the same removal as `regbook rm REPOSITORY:TAG` (planned from what the
// registry holds, so a tag sharing its digest goes alone), under the deploy lock, through the
// master's kept connection.
import { withDeployLock } from '../lock/guard.js';
import { assertRepository, assertTag } from '../registry/reference.js';
import { applyRemovals, planRemovals, targetRef, type Removal } from '../registry/removal.js';
import { ensureTlsKnown, registryClient } from '../tasks/api.js';
import type { Run } from '../tasks/shared.js';
import { makeRedact } from '../ui/format.js';
import type { HostConnections } from './state.js';
import type { RemoveRequest } from './server.js';

/** What `regbook rm` prints for a removal, so the page's log reads the same. */
export function describeRemoval(r: Removal): string {
  if (r.how === 'tag-alone')
    return `removed ${r.repository}:${r.reference} alone (${r.digest} stays, tagged ${r.kept.join(', ')})`;
  const tags = r.tags.length ? `, tagged ${r.tags.join(', ')}` : ', untagged';
  return `removed ${r.repository}@${r.digest}${tags}`;
}

export async function removeTag(
  run: Run,
  conns: HostConnections,
  req: RemoveRequest,
  signal?: AbortSignal,
): Promise<string[]> {
  const { playbook, inventory } = run;
  if (!playbook.registry.deleteEnabled)
    throw new Error(
      `${playbook.file}: registry.deleteEnabled is false, so the registry refuses deletes; ` +
        `set it to true and run apply`,
    );
  const target = { repository: assertRepository(req.repository), tag: assertTag(req.tag) };
  const notices: string[] = [];
  const conn = await conns.get(inventory.master);
  const lines = await withDeployLock(
    {
      conn,
      master: inventory.master.name,
      command: ['regbook', 'ui', playbook.file, '-i', inventory.file, 'rm', targetRef(target)],
      redact: makeRedact([...run.secrets.values()].map((s) => s.reveal())),
      timeoutSeconds: 0,
      ...(signal ? { signal } : {}),
      releaseHint: `regbook lock release ${playbook.file} -i ${inventory.file}`,
      notice: (line) => notices.push(line),
    },
    async () => {
      await ensureTlsKnown(run);
      const client = await registryClient(run);
      const plan = await planRemovals(client, [target]);
      if (plan.missing.length > 0)
        throw new Error(
          `not in the registry: ${plan.missing.map(targetRef).join(', ')}; nothing was removed`,
        );
      await applyRemovals(client, plan.removals);
      return plan.removals.map(describeRemoval);
    },
  );
  return [...notices, ...lines];
}
