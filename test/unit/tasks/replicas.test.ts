// Registry replicas as tables: what each host holds in, the plan out. The http.secret the master
// keeps, the certificate, key and htpasswd copied to the other replicas, the container every
// replica runs on S3 (its keys and secret in the create request only), the registry state as the replicas'
// plans add up, verify's and gc's choice of hosts. That it all runs is the lab's job
// (test/e2e/replicas.test.ts).
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import type { HostSpec, Inventory, Playbook, StorageConfig } from '../../../src/config/model.js';
import { Later } from '../../../src/core/later.js';
import { Secret } from '../../../src/core/secret.js';
import type { Step } from '../../../src/core/task.js';
import type { PlanInput } from '../../../src/engine/context.js';
import type { RemoteFile } from '../../../src/facts/files.js';
import { sharedStorage } from '../../../src/ops/gc.js';
import {
  desiredContainer,
  HTTP_SECRET_ENV,
  LABEL_SECRET_ENV,
  type Inspected,
} from '../../../src/tasks/container.js';
import { createBody } from '../../../src/tasks/container-engine.js';
import { registryStage } from '../../../src/tasks/registry.js';
import {
  httpSecretStage,
  makesHttpSecret,
  replicaAuthStage,
  replicaCertPlan,
} from '../../../src/tasks/replicas.js';
import { withReplicaState, type Shared } from '../../../src/tasks/shared.js';
import { verifyStage } from '../../../src/tasks/verify.js';
import type { Connection } from '../../../src/transport/types.js';
import { registrySettings } from './registry-settings.js';

const DIR = '/etc/regbook/certs';
const host = (name: string, role: 'master' | 'worker' = 'worker') => ({ name, role }) as HostSpec;
const inventory = {
  file: 'inv.yaml',
  master: host('master', 'master'),
  workers: [host('worker1'), host('worker2')],
  hosts: [host('master', 'master'), host('worker1'), host('worker2')],
} as unknown as Inventory;

const S3: StorageConfig = {
  kind: 's3',
  s3: {
    endpoint: 'http://ceph:7480',
    bucket: 'registry',
    region: 'us-east-1',
    secure: false,
    skipVerify: false,
    v4auth: true,
    encrypt: false,
    redirect: false,
    accessKey: { env: 'S3_ACCESS' },
    secretKey: { env: 'S3_SECRET' },
  },
};
const ACCESS = 'AKIAEXAMPLEACCESS';
const SECRET_KEY = 'secret/key+with=odd&chars';
const HTTP_SECRET = 'f'.repeat(64);
const secrets = new Map([
  ['S3_ACCESS', new Secret(ACCESS)],
  ['S3_SECRET', new Secret(SECRET_KEY)],
]);

function playbookWith(over: { replicas?: string[]; storage?: StorageConfig; env?: object; auth?: object }) {
  return {
    file: 'site.yaml',
    registry: {
      ...registrySettings,
      address: 'lb:5000',
      addressHost: 'lb',
      replicas: over.replicas ?? ['master', 'worker1'],
      storage: over.storage ?? S3,
      env: over.env ?? {},
      ...(over.auth ? { auth: over.auth } : {}),
    },
    tls: { dir: DIR, mode: 'ca' },
    images: [],
  } as unknown as Playbook;
}
const replicated = playbookWith({});
const input = (pb: Playbook, shared: Shared = {}, name = 'worker1'): PlanInput<Shared> => ({
  playbook: pb,
  inventory,
  host: host(name, name === 'master' ? 'master' : 'worker'),
  secrets,
  shared,
  now: new Date(),
});
const file = (content: string, mode: string): RemoteFile => ({ mode, content: Buffer.from(content) });
const describeSteps = (steps: Step[]) => steps.map((s) => s.describe);

/** A connection that records the files written through it. */
function writer(): { conn: Connection; writes: Array<{ path: string; data: string; mode: number }> } {
  const writes: Array<{ path: string; data: string; mode: number }> = [];
  const conn = {
    hostName: 'h',
    writeFile: async (path: string, data: Buffer | string, opts: { mode: number }) =>
      void writes.push({ path, data: data.toString(), mode: opts.mode }),
  } as unknown as Connection;
  return { conn, writes };
}

describe('the replicas’ http.secret', () => {
  it('is made by regbook for several replicas only, and never beside registry.env’s own', () => {
    const run = (pb: Playbook) => ({ playbook: pb, inventory });
    assert.equal(makesHttpSecret(run(replicated)), true);
    assert.equal(makesHttpSecret(run(playbookWith({ replicas: ['master'] }))), false);
    assert.equal(makesHttpSecret(run(playbookWith({ env: { [HTTP_SECRET_ENV]: { env: 'MINE' } } }))), false);
    assert.deepEqual(
      httpSecretStage.hosts({ playbook: replicated, inventory } as never),
      ['master'],
      'kept on the master',
    );
  });

  it('in place: read, never shown, nothing to do', () => {
    const plan = httpSecretStage.plan({ file: file(`${HTTP_SECRET}\n`, '600') }, input(replicated));
    assert.deepEqual(plan.changes, []);
    assert.deepEqual(plan.steps, []);
    const secret = plan.record!.httpSecret!;
    assert.equal(secret.value?.reveal(), HTTP_SECRET);
    assert.ok(!JSON.stringify(plan).includes(HTTP_SECRET), 'the secret is in the plan’s JSON');
    assert.ok(!inspect(plan, { depth: 10 }).includes(HTTP_SECRET), 'the secret is in the plan’s inspection');
  });

  it('readable by others: its mode is fixed, its value kept', () => {
    const plan = httpSecretStage.plan({ file: file(HTTP_SECRET, '644') }, input(replicated));
    assert.deepEqual(describeSteps(plan.steps), [`chmod ${DIR}/http.secret`]);
    assert.equal(plan.record!.httpSecret!.value?.reveal(), HTTP_SECRET);
  });

  for (const [name, facts, why] of [
    ['missing', {}, 'missing'],
    ['empty', { file: file('\n', '600') }, 'unreadable (not one line of text)'],
  ] as const) {
    it(`${name}: a new random one is made by its step (pending until then), written 0600`, async () => {
      const plan = httpSecretStage.plan(facts, input(replicated));
      assert.deepEqual(plan.changes, [{ what: `${DIR}/http.secret`, to: 'a new random secret', why }]);
      const made = plan.record!.httpSecret!;
      assert.equal(made.known, false, 'check mode plans with a pending secret');
      const { conn, writes } = writer();
      const step = plan.steps[0]!;
      assert.equal(step.kind, 'fn');
      if (step.kind === 'fn') await step.run(conn);
      assert.equal(writes.length, 1);
      assert.equal(writes[0]!.mode, 0o600);
      assert.match(writes[0]!.data, /^[0-9a-f]{64}\n$/);
      assert.equal(made.value?.reveal(), writes[0]!.data.trim());
    });
  }
});

describe('the master’s certificate and key on the other replicas', () => {
  const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
  const known = { cert: Later.known(CERT), key: Later.known(new Secret(KEY)) };
  const shared = (pair = known): Shared => ({
    tls: { anchorChanged: false, serverChanged: false, serverPair: pair },
  });
  const facts = (crt?: RemoteFile, key?: RemoteFile, dirMode = '700') => ({
    files: new Map([
      [`${DIR}/server.crt`, crt],
      [`${DIR}/server.key`, key],
    ]),
    dirs: new Map([[DIR, crt || key ? { mode: dirMode, uid: 0, gid: 0 } : undefined]]),
  });
  const table: Array<[string, ReturnType<typeof facts>, Shared, string[], string[]]> = [
    ['the same pair', facts(file(CERT, '444'), file(KEY, '600')), shared(), [], []],
    [
      'none yet: key first, then the certificate',
      facts(),
      shared(),
      [`${DIR}/server.key: missing`, `${DIR}/server.crt: missing`],
      [`write ${DIR}/server.key`, `write ${DIR}/server.crt`],
    ],
    [
      'an older pair',
      facts(file('old', '444'), file('old', '600')),
      shared(),
      [`${DIR}/server.key: differs from the master's`, `${DIR}/server.crt: differs from the master's`],
      [`write ${DIR}/server.key`, `write ${DIR}/server.crt`],
    ],
    [
      'the master gets a new pair (check mode: pending)',
      facts(file(CERT, '444'), file(KEY, '600')),
      shared({ cert: Later.pending('new'), key: Later.pending('new') }),
      [`${DIR}/server.key: the master gets a new one`, `${DIR}/server.crt: the master gets a new one`],
      [`write ${DIR}/server.key`, `write ${DIR}/server.crt`],
    ],
    [
      'the right pair, loose modes and directory',
      facts(file(CERT, '644'), file(KEY, '644'), '755'),
      shared(),
      [`${DIR} (directory): `, `${DIR}/server.key mode: `, `${DIR}/server.crt mode: `],
      [`chown root:root and chmod 700 ${DIR}`, `chmod ${DIR}/server.key`, `chmod ${DIR}/server.crt`],
    ],
  ];
  for (const [name, f, s, changes, steps] of table) {
    it(name, () => {
      const plan = replicaCertPlan(replicated, f, s);
      assert.deepEqual(
        plan.changes.map((c) => `${c.what}: ${c.why ?? ''}`),
        changes,
      );
      assert.deepEqual(describeSteps(plan.steps), steps);
      assert.ok(!JSON.stringify(plan.changes).includes('MIIE'), 'the key is in a change');
    });
  }
  it('the key is written 0600 from the master’s, the certificate 0444', async () => {
    const plan = replicaCertPlan(replicated, facts(), shared());
    const { conn, writes } = writer();
    const [key, cert] = plan.steps;
    if (key?.kind === 'fn') await key.run(conn);
    assert.deepEqual(writes, [{ path: `${DIR}/server.key`, data: KEY, mode: 0o600 }]);
    assert.equal(cert?.kind === 'write' && cert.mode, 0o444);
    assert.equal(cert?.kind === 'write' && cert.data, known.cert);
  });
  it('without the master’s pair, fails rather than guess', () => {
    assert.throws(() => replicaCertPlan(replicated, facts(), {}), /the master's certificate is unknown/);
  });
});

describe('the master’s htpasswd file on the other replicas', () => {
  const auth = { file: '/etc/regbook/auth/htpasswd', users: [] };
  const pb = playbookWith({ auth });
  const HT = 'ci:$2y$12$abcdefghijklmnopqrstuv\n';
  const plan = (have: RemoteFile | undefined, content: Later<string>) =>
    replicaAuthStage.plan(
      { file: have, dirs: new Map([['/etc/regbook/auth', { mode: '700', uid: 0, gid: 0 }]]) },
      input(pb, { auth: { content, changed: false } }),
    );
  it('runs on the replicas besides the master, only with auth', () => {
    assert.deepEqual(replicaAuthStage.hosts({ playbook: pb, inventory } as never), ['worker1']);
    assert.deepEqual(replicaAuthStage.hosts({ playbook: replicated, inventory } as never), []);
  });
  it('the same file: nothing; missing or new: written 0600', () => {
    assert.deepEqual(plan(file(HT, '600'), Later.known(HT)).changes, []);
    const missing = plan(undefined, Later.known(HT));
    assert.deepEqual(missing.changes, [{ what: auth.file, why: 'missing' }]);
    const step = missing.steps[0]!;
    assert.ok(step.kind === 'write' && step.mode === 0o600 && step.path === auth.file);
    assert.deepEqual(plan(file(HT, '600'), Later.pending('new')).changes, [
      { what: auth.file, why: 'the master gets a new one' },
    ]);
  });
});

describe('the container of a replica on S3', () => {
  const spec = desiredContainer(replicated, 'F', undefined, secrets, new Secret(HTTP_SECRET));
  it('selects the s3 driver and mounts no host directory for images', () => {
    assert.equal(spec.env.REGISTRY_STORAGE, 's3');
    assert.equal(spec.env.REGISTRY_STORAGE_S3_REGIONENDPOINT, 'http://ceph:7480');
    assert.equal(spec.env.REGISTRY_STORAGE_DELETE_ENABLED, 'true');
    assert.ok(!spec.binds.some((b) => b.endsWith(':/var/lib/registry')), spec.binds.join(' '));
    assert.equal(
      spec.labels[LABEL_SECRET_ENV],
      [HTTP_SECRET_ENV, 'REGISTRY_STORAGE_S3_ACCESSKEY', 'REGISTRY_STORAGE_S3_SECRETKEY'].sort().join(','),
    );
  });
  it('its keys and http.secret reach the daemon in the create request, and print as masks', () => {
    const env = (createBody(spec) as { Env: string[] }).Env.join('\n');
    for (const v of [ACCESS, SECRET_KEY, HTTP_SECRET]) {
      assert.ok(env.includes(v), `${v} is not in the request`);
      assert.ok(!JSON.stringify(spec).includes(v), `${v} prints`);
    }
  });
  it('a key with a line break is refused, named by its field', () => {
    const bad = new Map([...secrets, ['S3_SECRET', new Secret('a\nREGISTRY_STORAGE=inmemory')]]);
    assert.throws(
      () => desiredContainer(replicated, 'F', undefined, bad),
      /\$\{env:S3_SECRET\} \(registry\.storage\.s3\.secretKey\) holds a line break/,
    );
  });
  it('with a new http.secret to make (check mode), a running replica is reported changing, masked', () => {
    const actual: Inspected = {
      Image: 'sha256:reg',
      Config: {
        Image: spec.image,
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v instanceof Secret ? v.reveal() : v}`),
        Labels: { ...spec.labels },
      },
      HostConfig: {
        Binds: [...spec.binds],
        PortBindings: { '5000/tcp': [{ HostIp: '', HostPort: String(spec.hostPort) }] },
        RestartPolicy: { Name: spec.restart },
      },
      State: { Running: true, Status: 'running' },
    };
    const shared = (httpSecret: Later<Secret>): Shared => ({
      tls: { serverFingerprint: Later.known('F'), anchorChanged: false, serverChanged: false },
      httpSecret,
    });
    const facts = { container: actual, imageId: 'sha256:reg', dataDirs: new Map() };
    const same = registryStage.plan(facts, input(replicated, shared(Later.known(new Secret(HTTP_SECRET)))));
    assert.deepEqual(same.changes, []);
    assert.equal(same.record?.registry?.serving, true);
    const pending = registryStage.plan(facts, input(replicated, shared(Later.pending('new'))));
    assert.deepEqual(pending.changes, [
      { what: `container.env.${HTTP_SECRET_ENV}`, to: '***', why: 'a new http.secret is made' },
    ]);
    assert.deepEqual(describeSteps(pending.steps), ['docker rm -f registry', 'docker run registry']);
    const other = registryStage.plan(
      facts,
      input(replicated, shared(Later.known(new Secret('x'.repeat(64))))),
    );
    assert.deepEqual(
      other.changes.map((c) => [c.what, c.from, c.to]),
      [[`container.env.${HTTP_SECRET_ENV}`, '***', '***']],
    );
  });
});

describe('the registry as the replicas’ plans add up', () => {
  it('serves while one replica does; changes when one does', () => {
    const all = ['master', 'worker1'];
    let state = withReplicaState(all, undefined, 'master', { serving: true, changed: false });
    state = withReplicaState(all, state, 'worker1', { serving: false, changed: true });
    assert.deepEqual(state, {
      serving: true,
      changed: true,
      replicas: { master: { serving: true, changed: false }, worker1: { serving: false, changed: true } },
    });
    let down = withReplicaState(all, undefined, 'worker1', { serving: false, changed: true });
    assert.equal(down.serving, true, 'the master, not planned yet or not in --limit, is taken as serving');
    down = withReplicaState(all, down, 'master', { serving: false, changed: true });
    assert.equal(down.serving, false);
    assert.equal(
      withReplicaState(['master'], undefined, 'master', { serving: false, changed: true }).serving,
      false,
    );
  });
  it('the container runs on every replica; verify reads the master and every replica', () => {
    const run = { playbook: replicated, inventory } as never;
    assert.deepEqual(registryStage.hosts(run), ['master', 'worker1']);
    assert.deepEqual(
      verifyStage.hosts({ playbook: playbookWith({ replicas: ['worker1'] }), inventory } as never),
      ['master', 'worker1'],
    );
    const single = { playbook: { ...replicated, registry: registrySettings }, inventory } as never;
    assert.deepEqual(registryStage.hosts(single), ['master']);
    assert.deepEqual(verifyStage.hosts(single), ['master']);
  });
});

describe('gc', () => {
  it('sweeps shared storage with every replica read-only: S3, or replicas away from the master', () => {
    const run = (pb: Playbook) => ({ playbook: pb, inventory });
    assert.equal(sharedStorage(run(replicated)), true);
    assert.equal(
      sharedStorage(run(playbookWith({ replicas: ['worker1'], storage: { kind: 'filesystem' } }))),
      true,
    );
    assert.equal(
      sharedStorage(run({ ...replicated, registry: registrySettings } as unknown as Playbook)),
      false,
    );
  });
});
