// A tag deleted from the page: `regbook rm REPOSITORY:TAG`'s own removal (ops/rm.ts), under the
// deploy lock, through the master's kept connection; its log lines are rm's.
import { assertDeleteEnabled, removeUnderLock } from '../ops/rm.js';
import { assertRepository, assertTag } from '../registry/reference.js';
import { targetRef } from '../registry/removal.js';
import type { Run } from '../tasks/shared.js';
import { describeRemoval } from '../ui/operator-reports.js';
import type { HostConnections } from './state.js';
import type { RemoveRequest } from './server.js';

export async function removeTag(
  run: Run,
  conns: HostConnections,
  req: RemoveRequest,
  signal?: AbortSignal,
): Promise<string[]> {
  const { playbook, inventory } = run;
  assertDeleteEnabled(playbook);
  const target = { repository: assertRepository(req.repository), tag: assertTag(req.tag) };
  const notices: string[] = [];
  // Opens the master's connection again if it was lost; removeUnderLock uses it from run.conns.
  await conns.get(inventory.master);
  const report = await removeUnderLock(run, [target], {
    check: false,
    lockTimeout: 0,
    command: ['regbook', 'ui', playbook.file, '-i', inventory.file, 'rm', targetRef(target)],
    ...(signal ? { signal } : {}),
    notice: (line) => notices.push(line),
  });
  return [...notices, ...report.removed.map((r) => describeRemoval(r, false))];
}
