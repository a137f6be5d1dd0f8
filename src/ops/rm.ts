// `regbook rm FILE -i INV REF...`: the runbook's DELETE of a manifest, by tag or by digest, through
// the master's SSH connection, under the deploy lock.
import { asExitError, EXIT, ExitError, SIGNAL_EXIT, UsageError } from '../core/errors.js';
import { listenForStopSignals } from '../engine/stop-signals.js';
import { StoppedBySignal, withDeployLock } from '../lock/guard.js';
import { RegistryError } from '../registry/errors.js';
import { assertDigest, assertRepository, assertTag, InvalidReferenceError } from '../registry/reference.js';
import {
  applyRemovals,
  planRemovals,
  targetRef,
  type Removal,
  type RemovalTarget,
} from '../registry/removal.js';
import { ensureTlsKnown, registryClient } from '../tasks/api.js';
import { connect } from '../transport/index.js';
import { makeRedact } from '../ui/format.js';
import type { Run } from '../tasks/shared.js';
import { operatorRun } from './catalog.js';

export interface RmArgs {
  playbook: string;
  inventory: string;
  refs: string[];
  check: boolean;
  /** Seconds to wait for the deploy lock (0: stop at once when it is held). */
  lockTimeout: number;
}

/**
 * `repo:tag` or `repo@sha256:…`, optionally prefixed with the registry's address as clients write
 * it (`master:5000/app:0.1`). A bare repository is refused: removing `latest` by default would be
 * a surprise no one wants from a delete.
 */
export function parseRef(ref: string, registryAddress: string): RemovalTarget {
  const bare = ref.startsWith(`${registryAddress}/`) ? ref.slice(registryAddress.length + 1) : ref;
  try {
    const at = bare.indexOf('@');
    if (at >= 0)
      return { repository: assertRepository(bare.slice(0, at)), digest: assertDigest(bare.slice(at + 1)) };
    const colon = bare.lastIndexOf(':');
    if (colon > bare.lastIndexOf('/'))
      return { repository: assertRepository(bare.slice(0, colon)), tag: assertTag(bare.slice(colon + 1)) };
  } catch (err) {
    if (err instanceof InvalidReferenceError) throw new UsageError(`${ref}: ${err.message}`);
    throw err;
  }
  throw new UsageError(`${ref}: give a tag (REPOSITORY:TAG) or a digest (REPOSITORY@sha256:…)`);
}

export interface RmReport {
  registry: string;
  check: boolean;
  /** What went (or, with check, would go). */
  removed: Array<Omit<Removal, 'mediaType'>>;
}

/** The registry refuses deletes unless the playbook enables them: said before anything is read. */
export function assertDeleteEnabled(playbook: Run['playbook']): void {
  if (!playbook.registry.deleteEnabled) {
    throw new UsageError(
      `${playbook.file}: registry.deleteEnabled is false, so the registry refuses deletes; ` +
        `set it to true and run apply before rm`,
    );
  }
}

export interface RemoveOptions {
  check: boolean;
  /** Seconds to wait for the deploy lock (0: stop at once when it is held). */
  lockTimeout: number;
  /** What the lock records as its holder's command. */
  command: string[];
  signal?: AbortSignal;
  /** Lines about the lock (a stale one taken over), for callers that show them. */
  notice?: (line: string) => void;
}

/**
 * The removal itself, for `regbook rm` and the web view alike: planned from what the registry holds
 * (a tag sharing its digest goes alone), applied under the deploy lock through the master's
 * connection in `run.conns` (check mode reads only, and takes no lock, as apply --check takes
 * none). Throws ExitError 2 when a reference is not in the registry (nothing is removed) or the
 * registry refuses deletes.
 */
export async function removeUnderLock(
  run: Run,
  targets: RemovalTarget[],
  opts: RemoveOptions,
): Promise<RmReport> {
  const { playbook, inventory } = run;
  const conn = run.conns.get(inventory.master.name);
  if (!conn) throw new ExitError(`${inventory.master.name} is not connected`, EXIT.unreachable);
  const work = async (): Promise<RmReport> => {
    await ensureTlsKnown(run);
    const client = await registryClient(run);
    const plan = await planRemovals(client, targets);
    if (plan.missing.length > 0) {
      throw new ExitError(
        `not in the registry: ${plan.missing.map(targetRef).join(', ')}; nothing was removed`,
        EXIT.taskFailed,
      );
    }
    if (!opts.check) await applyRemovals(client, plan.removals);
    const removed = plan.removals.map(({ mediaType: _, ...r }) => r);
    return { registry: playbook.registry.address, check: opts.check, removed };
  };
  try {
    if (opts.check) return await work();
    return await withDeployLock(
      {
        conn,
        master: inventory.master.name,
        command: opts.command,
        redact: makeRedact([...run.secrets.values()].map((s) => s.reveal())),
        timeoutSeconds: opts.lockTimeout,
        ...(opts.signal ? { signal: opts.signal } : {}),
        releaseHint: `regbook lock release ${playbook.file} -i ${inventory.file}`,
        ...(opts.notice ? { notice: opts.notice } : {}),
      },
      work,
    );
  } catch (err) {
    if (err instanceof RegistryError && err.status === 405) {
      throw new ExitError(
        `the registry refuses deletes (${err.message}): it runs without ` +
          `REGISTRY_STORAGE_DELETE_ENABLED; run apply with registry.deleteEnabled: true`,
        EXIT.taskFailed,
      );
    }
    throw err;
  }
}

/**
 * `regbook rm`: removes the references under the deploy lock (check mode reads only, and takes no
 * lock). Throws ExitError: 4 the master is unreachable, 2 a reference is not in the registry
 * (nothing is removed), the lock is held or the registry refuses; a signal's code when one
 * stopped it.
 */
export async function removeRefs(a: RmArgs): Promise<RmReport> {
  const run = operatorRun(a.playbook, a.inventory);
  const { playbook, inventory } = run;
  const targets = a.refs.map((ref) => parseRef(ref, playbook.registry.address));
  assertDeleteEnabled(playbook);
  const conn = await connect(inventory.master).catch((err: Error) => {
    throw new ExitError(`${inventory.master.name} unreachable: ${err.message}`, EXIT.unreachable);
  });
  run.conns.set(inventory.master.name, conn);
  // A signal lets the removals in flight finish (each is a few requests), then the lock is released
  // and rm exits with the signal's code.
  const stop = listenForStopSignals({ exitCode: (sig) => SIGNAL_EXIT[sig] });
  try {
    const report = await removeUnderLock(run, targets, {
      check: a.check,
      lockTimeout: a.lockTimeout,
      command: ['regbook', ...process.argv.slice(2)],
      signal: stop.signal,
    });
    const sig = stop.which();
    if (sig) throw new StoppedBySignal(sig);
    return report;
  } catch (err) {
    const sig = stop.which();
    if (sig && !(err instanceof StoppedBySignal)) throw new StoppedBySignal(sig);
    throw asExitError(err);
  } finally {
    stop.dispose();
    for (const c of run.conns.values()) await c.close();
  }
}
