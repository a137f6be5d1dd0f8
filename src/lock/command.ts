// `regbook lock status|release PLAYBOOK -i INVENTORY`: see or break the deploy lock on the master.
// It returns what it found; cli/commands/lock.ts renders it.
import { loadBoth } from '../config/index.js';
import { EXIT, ExitError } from '../core/errors.js';
import { connect } from '../transport/index.js';
import { LOCK_DIR, type LockHolder } from './holder.js';
import { lockStatus, releaseLock } from './remote.js';

export interface LockArgs {
  action: 'status' | 'release';
  playbook: string;
  inventory: string;
}

export interface LockReport {
  master: string;
  path: string;
  held: boolean;
  holder?: LockHolder | undefined;
  /** With `release`: whether a lock was there to break. */
  released?: boolean;
}

/** Throws ExitError 4 when the master cannot be reached, 2 when the lock cannot be read or broken. */
export async function lockCommand(a: LockArgs): Promise<LockReport> {
  // The playbook is loaded for symmetry with apply and to validate it; the lock lives on its master.
  const { inventory } = loadBoth(a.playbook, a.inventory);
  const master = inventory.master;
  const conn = await connect(master).catch((err: Error) => {
    throw new ExitError(err.message, EXIT.unreachable);
  });
  try {
    const st = await lockStatus(conn);
    const report: LockReport = { master: master.name, path: LOCK_DIR, ...st };
    if (a.action === 'status') return report;
    return { ...report, released: (await releaseLock(conn, undefined)) === 'released' };
  } catch (err) {
    throw err instanceof ExitError ? err : new ExitError((err as Error).message, EXIT.taskFailed);
  } finally {
    await conn.close().catch(() => undefined);
  }
}
