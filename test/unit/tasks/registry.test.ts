// What the registry task tells the images task (on which host it added an image), through the
// engine with an in-memory master; then its plan as a table. That the container really runs is
// the lab's job.
import { startEarly } from '../../../src/engine/early.js';
import { runStage } from '../../../src/engine/run.js';
import { Later } from '../../../src/core/later.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec, Inventory, Playbook } from '../../../src/config/model.js';
import type { Cmd } from '../../../src/core/cmd.js';
import { createRun } from '../../../src/engine/setup.js';
import { registryStage, registryTask, type RegistryFacts } from '../../../src/tasks/registry.js';
import { desiredContainer, LABEL_CERT, type Inspected } from '../../../src/tasks/container.js';
import type { PlanInput } from '../../../src/engine/context.js';
import type { Shared } from '../../../src/tasks/shared.js';
import type { Connection, ExecResult } from '../../../src/transport/types.js';
import { EngineError } from '../../../src/transport/dockerEngine.js';
import { registrySettings } from './registry-settings.js';

const master = { name: 'master', role: 'master', address: '127.0.0.1', port: 22, user: 'root' } as HostSpec;
const playbook = {
  file: 'site.yaml',
  registry: registrySettings,
  tls: { dir: '/etc/regbook/certs', mode: 'ca' },
  images: [],
} as unknown as Playbook;
const inventory = { file: 'inv.yaml', master, workers: [], hosts: [master] } as unknown as Inventory;

/** The master: its probe finds no container and (or not) the image; `docker run` fails. */
function masterConn(hasImage: boolean, calls: string[]): Connection {
  // The engine: no container, and (or not) the image; it refuses to make a container.
  const docker = {
    hostName: 'master',
    json: async (method: string, path: string) => {
      calls.push(path === '/containers/create' ? 'docker run' : `${method} ${path}`);
      throw new EngineError('master', 500, 'no docker run here');
    },
    request: async (_method: string, path: string) => {
      if (path.startsWith('/containers/')) {
        calls.push('probe');
        return { status: 404, body: Buffer.from('{"message":"No such container: registry"}') };
      }
      return hasImage
        ? { status: 200, body: Buffer.from('{"Id":"sha256:reg"}') }
        : { status: 404, body: Buffer.from('{"message":"No such image: registry:2"}') };
    },
  };
  return {
    hostName: 'master',
    docker: () => docker,
    exec: async (c: Cmd): Promise<ExecResult> => {
      const script = c.argv[0] === 'sh' ? (c.argv[2] ?? '') : '';
      if (script.includes('stat -c "D')) {
        calls.push('read dirs');
        return { code: 0, stdout: 'M\n', stderr: '' };
      }
      calls.push(c.argv.slice(0, 2).join(' '));
      return { code: 0, stdout: '', stderr: '' };
    },
  } as unknown as Connection;
}

async function runOn(hasImage: boolean, check: boolean, readAhead = false) {
  const run = createRun<Shared>(playbook, inventory, new Map(), { check, diff: false }, () => {}, {});
  run.shared.tls = { serverFingerprint: Later.known('F'), anchorChanged: false, serverChanged: false };
  const calls: string[] = [];
  const conn = masterConn(hasImage, calls);
  run.conns.set('master', conn);
  if (readAhead) {
    startEarly(run, 'registry', conn.hostName, registryTask.readAhead!(run, conn)!);
    assert.deepEqual(calls, ['probe'], 'the read-ahead probes at once');
  }
  const outcome = await runStage(
    registryTask.stages[0]!,
    { host: master, conn, run, notify: () => undefined },
    'registry',
    true,
  ).then(
    (r) => r.status,
    () => 'failed',
  );
  return { outcome, calls, added: [...(run.shared.imagesAdded ?? [])] };
}

describe('registry task: images it adds', () => {
  it('marks the master when it pulls its image, so the images task reads the list again', async () => {
    const r = await runOn(false, false);
    assert.deepEqual(r.calls, ['probe', 'read dirs', 'docker pull', 'mkdir -p', 'docker run']);
    assert.deepEqual(r.added, ['master']);
    assert.equal(r.outcome, 'failed', 'the fake master has no docker run');
  });
  it('marks nothing when the image was there, nor in check mode', async () => {
    const present = await runOn(true, false);
    assert.ok(!present.calls.includes('docker pull'));
    assert.ok(present.calls.includes('docker run'), 'the container is still created');
    assert.deepEqual(present.added, []);
    const check = await runOn(false, true);
    assert.deepEqual(check.calls, ['probe', 'read dirs']);
    assert.equal(check.outcome, 'changed');
    assert.deepEqual(check.added, []);
  });
  it('takes the probe its read-ahead made instead of probing again', async () => {
    const r = await runOn(false, true, true);
    assert.deepEqual(r.calls, ['probe', 'read dirs']);
    assert.equal(r.outcome, 'changed');
  });
});

const inspected = (spec: ReturnType<typeof desiredContainer>, running = true): Inspected => ({
  Image: 'sha256:reg',
  Config: {
    Image: spec.image,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...spec.labels },
  },
  HostConfig: {
    Binds: [...spec.binds],
    PortBindings: { '5000/tcp': [{ HostIp: '', HostPort: String(spec.hostPort) }] },
    RestartPolicy: { Name: spec.restart },
  },
  State: { Running: running, Status: running ? 'running' : 'exited' },
});

describe('registry plan', () => {
  const pb = { ...playbook, registry: { ...registrySettings, auth: undefined } } as unknown as Playbook;
  const spec = desiredContainer(pb, 'F', undefined, new Map());
  const input = (fingerprint: Later<string>): PlanInput<Shared> => ({
    playbook: pb,
    inventory,
    host: master,
    secrets: new Map(),
    shared: { tls: { serverFingerprint: fingerprint, anchorChanged: false, serverChanged: false } },
    now: new Date(),
  });
  const dirs = (mode = '700') => new Map([[registrySettings.dataDir, { mode, uid: 0, gid: 0 }]]);
  const table: Array<[string, RegistryFacts, Later<string>, string[], string[], boolean]> = [
    [
      'as the playbook wants it',
      { container: inspected(spec), imageId: 'sha256:reg', dataDirs: dirs() },
      Later.known('F'),
      [],
      [],
      true,
    ],
    [
      'no container, no image',
      { dataDirs: new Map([[registrySettings.dataDir, undefined]]) },
      Later.known('F'),
      [`image ${registrySettings.image}`, `container ${registrySettings.name}`],
      [
        `docker pull ${registrySettings.image}`,
        `mkdir ${registrySettings.dataDir}; docker run ${registrySettings.name}`,
      ],
      false,
    ],
    [
      'a new certificate (pending): the label changes, the container is made again',
      { container: inspected(spec), imageId: 'sha256:reg', dataDirs: dirs() },
      Later.pending('a new server certificate is made'),
      [`container.labels.${LABEL_CERT}`],
      [
        `docker rm -f ${registrySettings.name}`,
        `mkdir ${registrySettings.dataDir}; docker run ${registrySettings.name}`,
      ],
      false,
    ],
    [
      'stopped',
      { container: inspected(spec, false), imageId: 'sha256:reg', dataDirs: dirs() },
      Later.known('F'),
      [`container ${registrySettings.name}`],
      [`docker start ${registrySettings.name}`],
      false,
    ],
    [
      'a data directory others can read: tightened, the container kept',
      { container: inspected(spec), imageId: 'sha256:reg', dataDirs: dirs('755') },
      Later.known('F'),
      [`${registrySettings.dataDir} (directory)`],
      [`chown root:root and chmod 700 ${registrySettings.dataDir}`],
      true,
    ],
  ];
  for (const [name, facts, fingerprint, changes, steps, serving] of table) {
    it(name, () => {
      const plan = registryStage.plan(facts, input(fingerprint));
      assert.deepEqual(
        plan.changes.map((c) => c.what),
        changes,
      );
      assert.deepEqual(
        plan.steps.map((s) => s.describe),
        steps,
      );
      assert.equal(plan.record?.registry?.serving, serving, 'whether it serves as it is');
      assert.deepEqual([...(plan.record?.imagesAdded ?? [])], [], 'nothing is added by planning');
    });
  }
});
