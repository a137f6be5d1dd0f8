// The rolling restart's pieces that need no host: the slots a run's restarts share, and what the
// plan says a restart does to the containers running there. That restarts roll on real daemons is
// the lab's job (test/e2e/live-cluster.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunning, restartImpact } from '../../../src/tasks/trust/restart.js';
import { Rollout } from '../../../src/tasks/trust/rollout.js';

describe('rollout slots', () => {
  for (const serial of [1, 2]) {
    it(`serial ${serial}: never more than ${serial} holders at once, every waiter served`, async () => {
      const rollout = new Rollout(serial);
      let holding = 0;
      let most = 0;
      const order: number[] = [];
      await Promise.all(
        [0, 1, 2, 3, 4].map(async (i) => {
          const release = await rollout.acquire();
          holding++;
          most = Math.max(most, holding);
          await new Promise((r) => setImmediate(r));
          order.push(i);
          holding--;
          release();
          release(); // a second release gives nothing back
        }),
      );
      assert.equal(most, serial);
      assert.deepEqual([...order].sort(), [0, 1, 2, 3, 4]);
    });
  }
});

const info = (live: boolean) => JSON.stringify({ LiveRestoreEnabled: live, ServerVersion: '20.10' });
const container = (n: number, name: string, restart: string, running = true) =>
  JSON.stringify({
    Id: String(n).repeat(64),
    Name: `/${name}`,
    State: { Running: running },
    HostConfig: { RestartPolicy: { Name: restart } },
  });

describe('what a docker restart does, in the plan', () => {
  const out = [
    info(false),
    container(1, 'registry', 'always'),
    container(2, 'web', ''),
    container(3, 'job', 'unless-stopped'),
    container(4, 'gone', 'always', false),
    '',
  ].join('\n');
  it('reads live-restore and the running containers with their restart policy', () => {
    const state = parseRunning(out);
    assert.equal(state.liveRestore, false);
    assert.deepEqual(
      state.running.map((c) => [c.name, c.restart]),
      [
        ['registry', 'always'],
        ['web', 'no'],
        ['job', 'unless-stopped'],
      ],
    );
  });
  it('names the containers that would stay stopped', () => {
    assert.equal(
      restartImpact(parseRunning(out)),
      '3 running containers stop; 2 with a restart policy start again; stay stopped: web',
    );
  });
  it('says containers keep running where live-restore is on', () => {
    const live = parseRunning([info(true), container(2, 'web', 'no')].join('\n'));
    assert.equal(restartImpact(live), 'live-restore is on: containers keep running');
  });
});
