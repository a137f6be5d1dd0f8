import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { Connection } from '../../../src/transport/types.js';
import { kept } from '../../../src/web/kept-connection.js';

describe('a kept connection lent to a run', () => {
  it('its close closes the tunnels opened through it, never the connection', async () => {
    let closed = 0;
    const opened: PassThrough[] = [];
    const conn = {
      hostName: 'master',
      openTcp: async () => {
        const s = new PassThrough();
        opened.push(s);
        return s;
      },
      close: async () => void closed++,
    } as unknown as Connection;
    const lent = kept(conn);
    assert.equal(lent.hostName, 'master');
    await lent.openTcp('127.0.0.1', 5000);
    await lent.openTcp('127.0.0.1', 5000);
    await lent.close();
    assert.equal(closed, 0, 'the connection itself was closed');
    assert.deepEqual(
      opened.map((s) => s.destroyed),
      [true, true],
    );
  });
});
