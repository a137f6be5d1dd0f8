// The deploy lock's take / wait / release logic, on this machine's own shell (LocalConnection) and
// a lock directory in a temporary directory. The lab's e2e tests cover it on a real master.
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import type { HostSpec } from '../../../src/config/model.js';
import { makeHolder } from '../../../src/lock/holder.js';
import { acquireLock, lockStatus, releaseLock } from '../../../src/lock/remote.js';
import { LocalConnection } from '../../../src/transport/local.js';

const conn = new LocalConnection({ name: 'here', connection: 'local' } as unknown as HostSpec);
const holder = (cmd: string) => makeHolder(['regbook', cmd], (s) => s);

describe('deploy lock', () => {
  it('is taken once: a second taker gets the first holder back', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'regbook-lock-')), 'lock');
    const a = holder('a');
    assert.deepEqual(await acquireLock(conn, a, { timeoutSeconds: 0, dir }), { taken: true });
    const second = await acquireLock(conn, holder('b'), { timeoutSeconds: 0, dir });
    assert.equal(second.taken, false);
    assert.equal(second.taken === false && second.holder?.id, a.id);
    await releaseLock(conn, a.id, dir);
    assert.deepEqual(await lockStatus(conn, dir), { held: false });
  });

  it('makes a missing parent 0755 and keeps the holder record byte for byte', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'regbook-lock-')), 'var', 'lib', 'lock');
    const odd = makeHolder(['regbook', 'apply', 'a b\\c "d" $e %s'], (x) => x);
    assert.deepEqual(await acquireLock(conn, odd, { timeoutSeconds: 0, dir }), { taken: true });
    assert.equal((statSync(dirname(dir)).mode & 0o777).toString(8), '755');
    const st = await lockStatus(conn, dir);
    assert.deepEqual(st.held && st.holder, odd);
  });

  it('a waiting taker gets the lock once it is released', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'regbook-lock-')), 'lock');
    const a = holder('a');
    await acquireLock(conn, a, { timeoutSeconds: 0, dir });
    let told = 0;
    const waiting = acquireLock(conn, holder('b'), {
      timeoutSeconds: 60,
      pollMs: 50,
      dir,
      onWait: () => told++,
    });
    setTimeout(() => void releaseLock(conn, a.id, dir), 300);
    assert.deepEqual(await waiting, { taken: true });
    assert.equal(told, 1, 'the wait is announced once');
  });

  it('a waiting taker gives up when its signal aborts (Ctrl-C), long before its timeout', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'regbook-lock-')), 'lock');
    const a = holder('a');
    await acquireLock(conn, a, { timeoutSeconds: 0, dir });
    const stop = new AbortController();
    const started = Date.now();
    const waiting = acquireLock(conn, holder('b'), { timeoutSeconds: 600, dir, signal: stop.signal });
    setTimeout(() => stop.abort(), 200);
    const r = await waiting;
    assert.equal(r.taken, false);
    assert.equal(r.taken === false && r.holder?.id, a.id);
    // With the default 1 s poll and a 600 s timeout, only the abort can end it this soon.
    assert.ok(Date.now() - started < 60_000, `waited ${Date.now() - started} ms`);
    assert.equal((await lockStatus(conn, dir)).held, true, 'the holder kept its lock');
  });
});
