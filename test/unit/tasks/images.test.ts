// A unit test of the images task's staging, through the engine: hosts are in-memory connections
// whose docker engine answers GET /images/json. That pushes and pulls really work is the lab's e2e tests' job.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec, ImageSpec, Inventory, Playbook } from '../../../src/config/model.js';
import type { Cmd } from '../../../src/core/cmd.js';
import type { HostFacts } from '../../../src/core/task.js';
import { createRun } from '../../../src/engine/setup.js';
import { runStage as engineRunStage } from '../../../src/engine/run.js';
import type { Stage } from '../../../src/engine/context.js';
import { imagesTask } from '../../../src/tasks/images.js';
import { parseImageList } from '../../helpers/docker-client.js';
import type { Ctx, Shared } from '../../../src/tasks/shared.js';
import type { Connection, ExecResult } from '../../../src/transport/types.js';
import type { DockerApi, EngineRequest } from '../../../src/transport/dockerEngine.js';

function host(name: string, role: 'master' | 'worker'): HostSpec {
  return { name, role, address: '127.0.0.1', port: 22, user: 'root' } as unknown as HostSpec;
}

const image = (name: string, pullOn: string[]): ImageSpec =>
  ({
    name,
    repository: name.split(':')[0]!,
    tag: name.split(':')[1]!,
    state: 'present',
    source: { host: 'master' },
    pullOn,
  }) as unknown as ImageSpec;

function fixture() {
  const hosts = [host('master', 'master'), host('worker1', 'worker'), host('worker2', 'worker')];
  const inventory = { file: 'inv.yaml', master: hosts[0]!, workers: hosts.slice(1), hosts } as Inventory;
  const playbook = {
    file: 'site.yaml',
    registry: { address: 'master:5000' },
    images: [image('app:0.1', ['worker1', 'worker2']), image('app:0.2', ['worker1'])],
  } as unknown as Playbook;
  // Check mode: the stages plan and report, and no pull is run.
  const run = createRun<Shared>(playbook, inventory, new Map(), { check: true, diff: false }, () => {}, {});
  return { run, hosts };
}

/**
 * An in-memory docker engine holding `held` (ref → id): it lists them (told as `docker images`
 * in `calls`), and a tag then push (told as `tag and push`) adds the target reference.
 */
function engine(name: string, held: Map<string, string>, calls: string[]): DockerApi {
  const list = () =>
    JSON.stringify([...held].map(([ref, id]) => ({ Id: id, RepoTags: [ref], RepoDigests: [] })));
  return {
    hostName: name,
    request: async (method: string, path: string) => {
      if (method === 'GET' && path === '/images/json') {
        calls.push('docker images');
        return { status: 200, body: Buffer.from(list()) };
      }
      return { status: 404, body: Buffer.from(`{"message":"unexpected ${method} ${path}"}`) };
    },
    json: async <T>(method: string, path: string, req?: EngineRequest) => {
      const source = decodeURIComponent(/^\/images\/(.+)\/tag$/.exec(path)?.[1] ?? '');
      assert.equal(method, 'POST', path);
      assert.ok(held.has(source), `tag of ${source}`);
      held.set(`${String(req?.query?.repo)}:${String(req?.query?.tag)}`, held.get(source)!);
      return undefined as T;
    },
    stream: async (method: string, path: string) => {
      assert.match(`${method} ${path}`, /^POST \/images\/.+\/push$/);
      calls.push('tag and push');
      return [];
    },
  };
}

/** A connection whose engine holds `held` (ref → id) and records every request. */
function conn(name: string, held: Record<string, string>, calls: string[]): Connection {
  const docker = engine(name, new Map(Object.entries(held)), calls);
  return {
    hostName: name,
    exec: async (c: Cmd): Promise<ExecResult> => {
      calls.push(c.argv.slice(0, 2).join(' '));
      return { code: 1, stdout: '', stderr: `unexpected ${c.argv.join(' ')}` };
    },
    docker: () => docker,
  } as unknown as Connection;
}

/** Facts of a Debian host whose docker runs and lists `images` (`docker images` lines). */
const dockerFacts = (images: string): HostFacts => ({
  osFamily: 'debian',
  osId: 'debian',
  osVersion: '12',
  dockerPresent: true,
  dockerRunning: true,
  privileged: true,
  images: parseImageList(images),
});

const ctx = (run: ReturnType<typeof fixture>['run'], h: HostSpec, c: Connection): Ctx => ({
  host: h,
  conn: c,
  run,
  notify: () => undefined,
});

// A stage on one host through the engine: gather, plan, and (in an apply) the steps.
const runStage = (stage: Stage<Shared>, task: 'images', c: Ctx) => engineRunStage(stage, c, task, false);

describe('images task stages', () => {
  const [sweepStage, pushStage, pullStage] = imagesTask.stages;

  it('sweeps the docker logins older versions left under /tmp, on any host that has them, check mode included', async () => {
    const { run, hosts } = fixture();
    assert.deepEqual(sweepStage!.hosts(run), []);
    run.facts.set('worker2', { ...dockerFacts(''), staleLogins: ['/tmp/regbook-docker.Ab12Cd'] });
    assert.deepEqual(sweepStage!.hosts(run), ['worker2']);
    const calls: string[] = [];
    const r = await runStage(sweepStage!, 'images', ctx(run, hosts[2]!, conn('worker2', {}, calls)));
    assert.equal(r.status, 'changed');
    assert.deepEqual(
      r.changes.map((c) => c.what),
      ['/tmp/regbook-docker.Ab12Cd'],
    );
    assert.deepEqual(calls, [], 'check mode removed something');
  });

  it('has the hosts that only pull take part in the push stage', () => {
    const { run } = fixture();
    assert.deepEqual(pushStage!.hosts(run).sort(), ['master', 'worker1', 'worker2']);
    assert.deepEqual(pullStage!.hosts(run).sort(), ['worker1', 'worker2']);
  });

  it('reads a puller’s images in the push stage, and the pull stage plans from that read alone', async () => {
    const { run, hosts } = fixture();
    run.shared.images = {
      sourceIds: new Map([
        ['app:0.1', 'sha256:one'],
        ['app:0.2', 'sha256:two'],
      ]),
      held: new Map(),
      changed: false,
      pending: new Set(),
    };
    const calls: string[] = [];
    const w1 = conn('worker1', { 'master:5000/app:0.1': 'sha256:one' }, calls);
    const first = await runStage(pushStage!, 'images', ctx(run, hosts[1]!, w1));
    assert.equal(first.status, 'ok');
    assert.deepEqual(calls, ['docker images']);

    const second = await runStage(pullStage!, 'images', ctx(run, hosts[1]!, w1));
    assert.deepEqual(calls, ['docker images'], 'the pull stage read the images again');
    assert.equal(second.status, 'changed');
    assert.deepEqual(
      second.changes.map((c) => [c.what, c.to]),
      [['master:5000/app:0.2', 'sha256:two']],
    );
  });

  it('reads the images in the pull stage when the push stage did not (a host that also pushes)', async () => {
    const { run, hosts } = fixture();
    run.shared.images = {
      sourceIds: new Map([['app:0.1', 'sha256:one']]),
      held: new Map(),
      changed: false,
      pending: new Set(),
    };
    const calls: string[] = [];
    const w2 = conn('worker2', { 'master:5000/app:0.1': 'sha256:old' }, calls);
    const r = await runStage(pullStage!, 'images', ctx(run, hosts[2]!, w2));
    assert.deepEqual(calls, ['docker images']);
    assert.deepEqual(
      r.changes.map((c) => [c.what, c.from, c.to]),
      [['master:5000/app:0.1', 'sha256:old', 'sha256:one']],
    );
  });
  it('takes the image list of the facts round trip unless this run has added an image on the host', async () => {
    for (const added of [false, true]) {
      const { run, hosts } = fixture();
      run.shared.images = {
        sourceIds: new Map([['app:0.1', 'sha256:one']]),
        held: new Map(),
        changed: false,
        pending: new Set(),
      };
      run.facts.set('worker2', dockerFacts('master:5000/app 0.1 <none> sha256:one\n'));
      if (added) run.shared.imagesAdded = new Set(['worker2']);
      const calls: string[] = [];
      // What the host holds now differs from the facts' list: only a new read can see it.
      const w2 = conn('worker2', { 'master:5000/app:0.1': 'sha256:old' }, calls);
      await runStage(pushStage!, 'images', ctx(run, hosts[2]!, w2));
      const r = await runStage(pullStage!, 'images', ctx(run, hosts[2]!, w2));
      assert.deepEqual(calls, added ? ['docker images'] : []);
      assert.equal(r.status, added ? 'changed' : 'ok');
    }
  });
  it('has a host that pushes and also pulls read its images again after tagging them', async () => {
    const { hosts } = fixture();
    const playbook = {
      file: 'site.yaml',
      registry: { address: 'master:5000', dataDir: '/var/lib/regbook/registry' },
      images: [image('app:0.1', ['master', 'worker1'])],
    } as unknown as Playbook;
    const inventory = { file: 'inv.yaml', master: hosts[0]!, workers: hosts.slice(1), hosts } as Inventory;
    // An apply this time: the push stage tags and pushes for real (on the in-memory master).
    const run = createRun<Shared>(
      playbook,
      inventory,
      new Map(),
      { check: false, diff: false },
      () => {},
      {},
    );
    const held = new Map([['app:0.1', 'sha256:one']]);
    const calls: string[] = [];
    const docker = engine('master', held, calls);
    const master = {
      hostName: 'master',
      docker: () => docker,
      exec: async (c: Cmd): Promise<ExecResult> => {
        const [cmd, sub] = c.argv;
        if (cmd === 'sh') {
          // The registry's storage, read while the registry is not known to serve: empty.
          const paths = c.argv.length - 4;
          return { code: 0, stdout: 'M\n'.repeat(paths), stderr: '' };
        }
        calls.push(`${cmd} ${sub}`);
        return { code: 0, stdout: '', stderr: '' };
      },
    } as unknown as Connection;
    run.conns.set('master', master);
    run.facts.set('master', dockerFacts('app 0.1 <none> sha256:one\n'));
    const pushed = await runStage(pushStage!, 'images', ctx(run, hosts[0]!, master));
    assert.equal(pushed.status, 'changed');
    assert.deepEqual(calls, ['tag and push'], 'the facts list served the push stage');
    const pulled = await runStage(pullStage!, 'images', ctx(run, hosts[0]!, master));
    assert.deepEqual(calls, ['tag and push', 'docker images'], 'read again, and no pull');
    assert.equal(pulled.status, 'ok');
  });
});
