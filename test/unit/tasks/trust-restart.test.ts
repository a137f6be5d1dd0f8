// The rolling restart's pieces that need no host: the slots a run's restarts share, and what the
// plan says a restart does to the containers running there. That restarts roll on real daemons is
// the lab's job (test/e2e/live-cluster.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec, Inventory, Playbook } from '../../../src/config/model.js';
import type { Cmd } from '../../../src/core/cmd.js';
import { createRun } from '../../../src/engine/setup.js';
import type { Shared } from '../../../src/tasks/shared.js';
import { parseRunning } from '../../../src/facts/docker-state.js';
import { restartDockerHandler, restartImpact, waitRunning } from '../../../src/tasks/trust/restart.js';
import type { Connection, ExecResult } from '../../../src/transport/types.js';
import { registrySettings } from './registry-settings.js';
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
    container(5, 'batch', 'on-failure'),
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
        ['batch', 'on-failure'],
      ],
    );
  });
  it('names the containers that would stay stopped', () => {
    assert.equal(
      restartImpact(parseRunning(out)),
      '4 running containers stop; 3 with a restart policy start again; stay stopped: web',
    );
  });
  it('says containers keep running where live-restore is on', () => {
    const live = parseRunning([info(true), container(2, 'web', 'no')].join('\n'));
    assert.equal(restartImpact(live), 'live-restore is on: containers keep running');
  });
});

describe('the restart handler stops the rollout at the first host that does not come back', () => {
  const host = (name: string) =>
    ({ name, role: 'worker', address: name, port: 22, user: 'root' }) as HostSpec;
  const hosts = ['w1', 'w2', 'w3'].map(host);
  const playbook = {
    registry: registrySettings,
    trust: { serial: 1, restartDocker: 'always' },
  } as unknown as Playbook;
  const inventory = { master: host('master'), workers: hosts, hosts } as unknown as Inventory;
  // A host whose docker restart fails ("w1") or succeeds; it notes the restarts it was asked for.
  const conn = (name: string, restarts: string[]): Connection =>
    ({
      hostName: name,
      docker: () => ({
        json: async (method: string, path: string) => {
          if (path === '/info') return JSON.parse(info(false)) as unknown;
          if (path === '/containers/json') return [];
          throw new Error(`unexpected ${method} ${path} on ${name}`);
        },
      }),
      exec: async (c: Cmd): Promise<ExecResult> => {
        const script = c.argv[2] ?? '';
        if (script.includes('restart docker')) {
          restarts.push(name);
          return name === 'w1'
            ? { code: 1, stdout: '', stderr: 'docker did not come back' }
            : { code: 0, stdout: '', stderr: '' };
        }
        throw new Error(`unexpected command on ${name}: ${c.argv.join(' ')}`);
      },
    }) as unknown as Connection;

  it('w1 fails; the hosts after it are left untouched, not failed', async () => {
    const run = createRun<Shared>(
      playbook,
      inventory,
      new Map(),
      { check: false, diff: false },
      () => {},
      {},
    );
    const restarts: string[] = [];
    const outcomes: string[] = [];
    for (const h of hosts) {
      try {
        const r = await restartDockerHandler.run({
          host: h,
          conn: conn(h.name, restarts),
          run,
          notify: () => undefined,
        });
        outcomes.push(r ? `${h.name} ${r.skipped}` : `${h.name} restarted`);
      } catch (err) {
        outcomes.push(`${h.name} failed: ${(err as Error).message}`);
      }
    }
    assert.deepEqual(restarts, ['w1']);
    assert.match(outcomes[0]!, /^w1 failed: restarting docker failed: docker did not come back/);
    assert.match(outcomes[1]!, /^w2 untouched: the rollout stopped at w1/);
    assert.match(outcomes[2]!, /^w3 untouched: the rollout stopped at w1/);
  });
});

describe('after a restart, the containers that ran before run again', () => {
  // An engine stand-in: a container runs once `start` was asked for it, as dockerd does with an
  // unless-stopped container it left stopped.
  it('starts one that docker left stopped, then succeeds', async () => {
    const calls: string[] = [];
    const docker = {
      hostName: 'h',
      json: async <T>(method: string, path: string) => {
        calls.push(`${method} ${path}`);
        const id = /^\/containers\/(\w+)\/json$/.exec(path)?.[1];
        return { State: { Running: calls.includes(`POST /containers/${id}/start`) } } as T;
      },
      request: async (method: string, path: string) => {
        calls.push(`${method} ${path}`);
        return { status: 204, body: Buffer.alloc(0) };
      },
      stream: async () => [],
    };
    const left = await waitRunning(docker, ['c0ffee000001', 'c0ffee000002'], 30_000);
    assert.deepEqual(left, []);
    assert.ok(calls.includes('POST /containers/c0ffee000001/start'), calls.join('\n'));
    assert.ok(calls.includes('POST /containers/c0ffee000002/start'), calls.join('\n'));
  });

  it('gives up naming the ones still stopped', async () => {
    const docker = {
      hostName: 'h',
      json: async <T>() => ({ State: { Running: false } }) as T,
      request: async () => ({ status: 204, body: Buffer.alloc(0) }),
      stream: async () => [],
    };
    assert.deepEqual(await waitRunning(docker, ['c0ffee000001aaaa'], 300), ['c0ffee000001']);
  });
});
