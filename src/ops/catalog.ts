import { loadBoth } from '../config/index.js';
import { asExitError, EXIT, ExitError } from '../core/errors.js';
import { resolveSecrets } from '../engine/setup.js';
import { ensureTlsKnown, registryClient } from '../tasks/api.js';
import type { Run, Shared } from '../tasks/shared.js';
import { connect } from '../transport/index.js';
import { createRun } from '../engine/setup.js';

export interface CatalogArgs {
  playbook: string;
  inventory: string;
  repository?: string;
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

export interface CatalogReport {
  registry: string;
  /** The one repository asked for, if one was. */
  repository?: string;
  images: CatalogEntry[];
}

/** Throws ExitError: 4 the master is unreachable, 2 an unknown repository or a registry failure. */
export async function catalog(a: CatalogArgs): Promise<CatalogReport> {
  const run = operatorRun(a.playbook, a.inventory);
  const { playbook, inventory } = run;
  const conn = await connect(inventory.master).catch((err: Error) => {
    throw new ExitError(`${inventory.master.name} unreachable: ${err.message}`, EXIT.unreachable);
  });
  run.conns.set(inventory.master.name, conn);
  try {
    const images = await readCatalog(run, a.repository);
    return {
      registry: playbook.registry.address,
      ...(a.repository ? { repository: a.repository } : {}),
      images,
    };
  } catch (err) {
    if (err instanceof UnknownRepositoryError) {
      const known = await registryClient(run)
        .then((c) => c.catalog())
        .catch(() => []);
      throw new ExitError(
        `${err.message} at ${playbook.registry.address} ` +
          `(repositories: ${known.length ? known.join(', ') : 'none'})`,
        EXIT.taskFailed,
      );
    }
    throw asExitError(err);
  } finally {
    for (const c of run.conns.values()) await c.close();
  }
}
