import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { Cmd } from '../../../src/core/cmd.js';
import { lend } from '../../../src/ops/lent-connection.js';
import type { Connection, ExecResult } from '../../../src/transport/types.js';

describe('a connection lent to the plans of a status read', () => {
  const fake = () => {
    let closed = 0;
    const opened: PassThrough[] = [];
    const ran: Cmd[] = [];
    const conn = {
      hostName: 'master',
      openTcp: async () => {
        const s = new PassThrough();
        opened.push(s);
        return s;
      },
      exec: async (c: Cmd): Promise<ExecResult> => {
        ran.push(c);
        return { code: 0, stdout: 'out\n', stderr: '' };
      },
      close: async () => void closed++,
    } as unknown as Connection;
    return { conn, opened, ran, closed: () => closed };
  };

  it('its close leaves the connection open; release closes the tunnels opened through it', async () => {
    const f = fake();
    const lent = lend(f.conn);
    assert.equal(lent.conn.hostName, 'master');
    await lent.conn.openTcp('127.0.0.1', 5000);
    await lent.conn.openTcp('127.0.0.1', 5000);
    await lent.conn.close();
    assert.equal(f.closed(), 0, 'the connection itself was closed');
    assert.deepEqual(
      f.opened.map((s) => s.destroyed),
      [false, false],
      'a tunnel was closed before the reader was done',
    );
    lent.release();
    assert.equal(f.closed(), 0);
    assert.deepEqual(
      f.opened.map((s) => s.destroyed),
      [true, true],
    );
  });

  it('the extra command runs alone when no trust probe went by, and only when asked for', async () => {
    const f = fake();
    const extra: Cmd = { argv: ['true'] };
    const lent = lend(f.conn, extra);
    await lent.conn.exec({ argv: ['echo', 'other'] });
    assert.deepEqual(
      f.ran.map((c) => c.argv[0]),
      ['echo'],
    );
    assert.equal((await lent.extra()).code, 0);
    assert.deepEqual(
      f.ran.map((c) => c.argv[0]),
      ['echo', 'true'],
    );
    await assert.rejects(lend(f.conn).extra(), /nothing to run/);
  });
});
