import { loadBoth } from '../config/index.js';
import { EXIT } from '../core/errors.js';
import { resolveSecrets } from '../engine/setup.js';
import { ensureTlsKnown, registryClient } from '../tasks/api.js';
import type { Run, Shared } from '../tasks/shared.js';
import { connect } from '../transport/index.js';
import { createRun } from '../engine/setup.js';
import { formatBytes, plural } from '../ui/size.js';

export interface CatalogArgs {
  playbook: string;
  inventory: string;
  repository?: string;
  output: 'text' | 'json';
}

export interface CatalogEntry {
  repository: string;
  tag: string;
  digest?: string;
  size?: number;
}

/** The repository asked for is not in the registry's catalog. */
export class UnknownRepositoryError extends Error {
  constructor(readonly repository: string) {
    super(`no repository ${repository} in the registry`);
    this.name = 'UnknownRepositoryError';
  }
}

/** Reads the trust anchor from the master, then the registry API through the same connection. */
export async function readCatalog(run: Run, repository?: string): Promise<CatalogEntry[]> {
  await ensureTlsKnown(run);
  const client = await registryClient(run);
  const repos = repository ? [repository] : await client.catalog();
  if (repository && !(await client.catalog()).includes(repository))
    throw new UnknownRepositoryError(repository);
  const out: CatalogEntry[] = [];
  for (const repo of repos) {
    for (const tag of (await client.tags(repo)).sort()) {
      const info = await client.manifestInfo(repo, tag);
      out.push({
        repository: repo,
        tag,
        ...(info ? { digest: info.digest } : {}),
        ...(info?.size !== undefined ? { size: info.size } : {}),
      });
    }
  }
  return out;
}

/**
 * The run context the operator commands (catalog, status, gc) share: the playbook and inventory
 * loaded and checked, secrets resolved (the registry client logs in with them), no tasks.
 */
export function operatorRun(playbookPath: string, inventoryPath: string): Run {
  const { playbook, inventory } = loadBoth(playbookPath, inventoryPath);
  return createRun<Shared>(
    playbook,
    inventory,
    resolveSecrets(playbook),
    { check: true, diff: false },
    () => undefined,
    {},
  );
}

export async function runCatalog(a: CatalogArgs): Promise<number> {
  const run = operatorRun(a.playbook, a.inventory);
  const { playbook, inventory } = run;
  try {
    run.conns.set(inventory.master.name, await connect(inventory.master));
  } catch (err) {
    process.stderr.write(`regbook: ${inventory.master.name} unreachable: ${(err as Error).message}\n`);
    return EXIT.unreachable;
  }
  try {
    const entries = await readCatalog(run, a.repository);
    if (a.output === 'json') {
      process.stdout.write(JSON.stringify({ registry: playbook.registry.address, images: entries }) + '\n');
    } else {
      const w = Math.max(10, ...entries.map((e) => `${e.repository}:${e.tag}`.length));
      process.stdout.write(`${'IMAGE'.padEnd(w)}  ${'DIGEST'.padEnd(71)}  SIZE\n`);
      for (const e of entries) {
        const size = e.size === undefined ? '-' : formatBytes(e.size);
        process.stdout.write(
          `${`${e.repository}:${e.tag}`.padEnd(w)}  ${(e.digest ?? '-').padEnd(71)}  ${size}\n`,
        );
      }
      const repos = new Set(entries.map((e) => e.repository)).size;
      if (a.repository && entries.length === 0) process.stdout.write(`(${a.repository} has no tags)\n`);
      else if (entries.length === 0) process.stdout.write('(the registry is empty)\n');
      else
        process.stdout.write(
          `${plural(repos, 'repository', 'repositories')}, ${plural(entries.length, 'tag')}\n`,
        );
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UnknownRepositoryError) {
      const known = await registryClient(run)
        .then((c) => c.catalog())
        .catch(() => []);
      process.stderr.write(
        `regbook: ${err.message} at ${playbook.registry.address} ` +
          `(repositories: ${known.length ? known.join(', ') : 'none'})\n`,
      );
      return EXIT.taskFailed;
    }
    process.stderr.write(`regbook: ${(err as Error).message}\n`);
    return EXIT.taskFailed;
  } finally {
    for (const c of run.conns.values()) await c.close();
  }
}
