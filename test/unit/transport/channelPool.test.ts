import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelPool } from '../../../src/transport/channelPool.js';

const tick = () => new Promise((r) => setImmediate(r));

test('never more than the limit at once; waiters run in order as slots free up', async () => {
  const pool = new ChannelPool(3);
  let open = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const release = await pool.acquire();
      open++;
      peak = Math.max(peak, open);
      order.push(i);
      await new Promise((r) => setTimeout(r, 2));
      open--;
      release();
    }),
  );
  assert.equal(peak, 3);
  assert.deepEqual(order, [...Array(20).keys()]);
  assert.equal(pool.active, 0);
});

test('lower() shrinks the limit to what the server accepted (at least 1)', async () => {
  const pool = new ChannelPool(10);
  pool.lower(4);
  assert.equal(pool.limit, 4);
  pool.lower(0);
  assert.equal(pool.limit, 1);
  const r1 = await pool.acquire();
  let second = false;
  const p = pool.acquire().then((r) => {
    second = true;
    return r;
  });
  await tick();
  assert.equal(second, false, 'a second holder waits when the limit is 1');
  r1();
  (await p)();
  assert.equal(second, true);
});

test('releasing twice frees one slot only', async () => {
  const pool = new ChannelPool(1);
  const r = await pool.acquire();
  r();
  r();
  assert.equal(pool.active, 0);
});

test('close() rejects waiters and later acquires', async () => {
  const pool = new ChannelPool(1);
  await pool.acquire();
  const waiting = pool.acquire();
  pool.close(new Error('gone'));
  await assert.rejects(waiting, /gone/);
  await assert.rejects(pool.acquire(), /gone/);
});
