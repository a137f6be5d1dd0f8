// The deploy lock's entry point (takeDeployLock, withDeployLock) on this machine's own shell and a
// lock directory in a temporary directory: take-over of a dead holder of this machine, never of a
// live or foreign one, release whatever ends the work, and never work unlocked.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { HostSpec } from '../../../src/config/model.js';
import { isStaleHere, makeHolder, type LockHolder } from '../../../src/lock/holder.js';
import {
  LockError,
  LockHeld,
  StoppedBySignal,
  takeDeployLock,
  withDeployLock,
} from '../../../src/lock/guard.js';
import { acquireLock, lockStatus } from '../../../src/lock/remote.js';
import { LocalConnection } from '../../../src/transport/local.js';
import type { Connection } from '../../../src/transport/types.js';

const conn = new LocalConnection({ name: 'here', connection: 'local' } as unknown as HostSpec);
const lockDir = () => join(mkdtempSync(join(tmpdir(), 'regbook-guard-')), 'lock');

/** A pid that surely runs no process any more: a child that has exited. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

function recordOf(over: Partial<LockHolder>): LockHolder {
  return { ...makeHolder(['regbook', 'apply', 'old'], (s) => s), ...over };
}

function options(dir: string, notices: string[] = []) {
  return {
    conn,
    master: 'here',
    command: ['regbook', 'apply', 'site.yaml'],
    timeoutSeconds: 0,
    releaseHint: 'regbook lock release site.yaml -i inv.yaml',
    notice: (l: string) => void notices.push(l),
    dir,
  };
}

describe('deploy lock entry point', () => {
  it('takes over a lock whose holder ran here and whose process is gone, with a notice', async () => {
    const dir = lockDir();
    const dead = recordOf({ pid: deadPid() });
    assert.deepEqual(await acquireLock(conn, dead, { timeoutSeconds: 0, dir }), { taken: true });
    const notices: string[] = [];
    const lock = await takeDeployLock(options(dir, notices));
    const st = await lockStatus(conn, dir);
    assert.equal(st.held && st.holder?.id, lock.holder.id, 'the new run holds it');
    assert.equal(notices.length, 1);
    assert.match(
      notices[0]!,
      new RegExp(`taking over the deploy lock on here: .*pid ${dead.pid}.*process is gone`),
    );
    await lock.release();
    assert.deepEqual(await lockStatus(conn, dir), { held: false });
  });

  it('never takes over a live holder, nor one from another machine, nor one without an id', async () => {
    for (const other of [
      recordOf({ pid: process.pid }),
      recordOf({ pid: deadPid(), holder: 'root@another-control-machine' }),
      recordOf({ pid: deadPid(), id: '' }),
    ]) {
      const dir = lockDir();
      await acquireLock(conn, other, { timeoutSeconds: 0, dir });
      const err = await takeDeployLock(options(dir)).then(
        () => assert.fail('took a lock it must not take'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof LockHeld, String(err));
      assert.match(err.message, /nothing was changed/);
      assert.match(err.message, /regbook lock release site\.yaml -i inv\.yaml/);
      const st = await lockStatus(conn, dir);
      assert.equal(st.held && st.holder?.pid, other.pid, 'the holder lost its lock');
    }
  });

  it('isStaleHere judges only records of this machine', () => {
    const here = hostname();
    const alive = (pid: number) => pid === 1;
    assert.equal(isStaleHere(recordOf({ pid: 42, holder: `u@${here}` }), here, alive), true);
    assert.equal(isStaleHere(recordOf({ pid: 1, holder: `u@${here}` }), here, alive), false);
    assert.equal(isStaleHere(recordOf({ pid: 42, holder: 'u@elsewhere' }), here, alive), false);
    assert.equal(isStaleHere(recordOf({ pid: 0, holder: `u@${here}` }), here, alive), false);
    assert.equal(isStaleHere(undefined, here, alive), false);
  });

  it('withDeployLock releases after the work, after a failure of the work, and after a signal', async () => {
    const dir = lockDir();
    assert.equal(
      await withDeployLock(options(dir), async () => {
        assert.equal((await lockStatus(conn, dir)).held, true, 'the work ran unlocked');
        return 7;
      }),
      7,
    );
    assert.deepEqual(await lockStatus(conn, dir), { held: false });
    await assert.rejects(
      withDeployLock(options(dir), async () => {
        throw new Error('work failed');
      }),
      /work failed/,
    );
    assert.deepEqual(await lockStatus(conn, dir), { held: false });
    const ac = new AbortController();
    await assert.rejects(
      withDeployLock({ ...options(dir), signal: ac.signal }, async () => {
        ac.abort('SIGTERM');
        return 1;
      }),
      (e: unknown) => e instanceof StoppedBySignal && e.signal === 'SIGTERM',
    );
    assert.deepEqual(await lockStatus(conn, dir), { held: false });
  });

  it('a lock that cannot be taken or checked stops the work: it never runs unlocked', async () => {
    const broken = {
      hostName: 'here',
      exec: async () => ({ code: 3, stdout: '', stderr: 'mkdir: Permission denied' }),
      close: async () => undefined,
    } as unknown as Connection;
    let ran = false;
    await assert.rejects(
      withDeployLock({ ...options(lockDir()), conn: broken }, async () => {
        ran = true;
      }),
      (e: unknown) => e instanceof LockError && /Permission denied/.test(e.message),
    );
    const lost = { ...broken, exec: async () => Promise.reject(new Error('here: connection lost')) };
    await assert.rejects(
      withDeployLock({ ...options(lockDir()), conn: lost as unknown as Connection }, async () => {
        ran = true;
      }),
      (e: unknown) => e instanceof LockError && /connection lost/.test(e.message),
    );
    assert.equal(ran, false);
  });

  it('a signal while waiting stops the wait: StoppedBySignal, the holder keeps its lock', async () => {
    const dir = lockDir();
    const other = recordOf({ pid: process.pid });
    await acquireLock(conn, other, { timeoutSeconds: 0, dir });
    const ac = new AbortController();
    setTimeout(() => ac.abort('SIGHUP'), 300);
    await assert.rejects(
      takeDeployLock({ ...options(dir), timeoutSeconds: 60, signal: ac.signal }),
      (e: unknown) => e instanceof StoppedBySignal && e.signal === 'SIGHUP',
    );
    const st = await lockStatus(conn, dir);
    assert.equal(st.held && st.holder?.id, other.id);
  });
});
