// `regbook lock status|release PLAYBOOK -i INVENTORY`: see or break the deploy lock on the master.
import { loadBoth } from '../config/index.js';
import { EXIT } from '../core/errors.js';
import { connect } from '../transport/index.js';
import { describeHolder, LOCK_DIR } from './holder.js';
import { lockStatus, releaseLock } from './remote.js';

export interface LockArgs {
  action: 'status' | 'release';
  playbook: string;
  inventory: string;
  output: 'text' | 'json';
}

/** Exit 0: status read (held or free) or lock released; 4: the master cannot be reached. */
export async function runLock(a: LockArgs, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  // The playbook is loaded for symmetry with apply and to validate it; the lock lives on its master.
  const { inventory } = loadBoth(a.playbook, a.inventory);
  const master = inventory.master;
  let conn;
  try {
    conn = await connect(master);
  } catch (err) {
    process.stderr.write(`regbook: ${(err as Error).message}\n`);
    return EXIT.unreachable;
  }
  try {
    const st = await lockStatus(conn);
    if (a.action === 'status') {
      if (a.output === 'json')
        out.write(JSON.stringify({ master: master.name, path: LOCK_DIR, ...st }) + '\n');
      else if (st.held) out.write(`deploy lock on ${master.name} is held by ${describeHolder(st.holder)}\n`);
      else out.write(`deploy lock on ${master.name} is free\n`);
      return EXIT.ok;
    }
    const r = await releaseLock(conn, undefined);
    const was = st.held ? ` (it was held by ${describeHolder(st.holder)})` : '';
    if (a.output === 'json')
      out.write(
        JSON.stringify({ master: master.name, path: LOCK_DIR, released: r === 'released', ...st }) + '\n',
      );
    else
      out.write(
        r === 'released'
          ? `released the deploy lock on ${master.name}${was}\n`
          : `deploy lock on ${master.name} was not held\n`,
      );
    return EXIT.ok;
  } catch (err) {
    process.stderr.write(`regbook: ${(err as Error).message}\n`);
    return EXIT.taskFailed;
  } finally {
    await conn.close().catch(() => undefined);
  }
}
