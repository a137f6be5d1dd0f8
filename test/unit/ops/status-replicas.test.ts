// Each registry replica's health as status judges and renders it: fixture facts in (the container
// as `docker inspect` shows it, the replica's own answer to GET /v2/), problems and lines out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Playbook } from '../../../src/config/model.js';
import { containerStatus, replicaHealth, type ReplicaStatus } from '../../../src/ops/registry-status.js';
import { judge, type StatusReport } from '../../../src/ops/status.js';
import { formatStatus, replicaCells } from '../../../src/ui/status-report.js';

const now = new Date('2030-01-01T01:00:00Z');
const running = {
  Image: 'sha256:img',
  Config: { Image: 'registry:2' },
  State: { Status: 'running', Running: true, StartedAt: '2030-01-01T00:00:00Z' },
};
const exited = { ...running, State: { Status: 'exited', Running: false, StartedAt: '2030-01-01T00:00:00Z' } };

const replica = (host: string, over: Partial<Omit<ReplicaStatus, 'health'>> = {}): ReplicaStatus => {
  const r: Omit<ReplicaStatus, 'health'> = {
    host,
    reachable: true,
    container: containerStatus('registry', { container: running, imageId: 'sha256:img' }, undefined, now),
    v2: { url: `https://${host}:5000/v2/`, status: 401, ok: true },
    ...over,
  };
  return { ...r, health: replicaHealth(r) };
};

describe("a registry replica's health", () => {
  it('reads the container as docker inspect shows it: state, uptime, image', () => {
    assert.deepEqual(
      containerStatus('registry', { container: running, imageId: 'sha256:img' }, undefined, now),
      {
        name: 'registry',
        present: true,
        state: 'running',
        startedAt: '2030-01-01T00:00:00.000Z',
        uptimeSeconds: 3600,
        image: 'registry:2',
        imageId: 'sha256:img',
      },
    );
    assert.deepEqual(containerStatus('registry', {}, undefined, now), { name: 'registry', present: false });
    const stopped = containerStatus('registry', { container: exited }, undefined, now);
    assert.equal(stopped.state, 'exited');
    assert.equal(stopped.uptimeSeconds, undefined);
  });

  it('up, differs, down or unknown, from its container and its own answer', () => {
    const table: Array<[string, Partial<Omit<ReplicaStatus, 'health'>>, ReplicaStatus['health']]> = [
      ['running, answering 401, as the playbook wants it', {}, 'up'],
      [
        'running and answering, but its settings differ',
        {
          container: { name: 'registry', present: true, state: 'running', differences: ['container.image'] },
        },
        'differs',
      ],
      ['stopped', { container: containerStatus('registry', { container: exited }, undefined, now) }, 'down'],
      ['no container', { container: { name: 'registry', present: false } }, 'down'],
      [
        'running, but no answer on its port',
        { v2: { url: 'https://w1:5000/v2/', error: 'connect ECONNREFUSED 127.0.0.1:5000', ok: false } },
        'down',
      ],
      ['answering 503', { v2: { url: 'https://w1:5000/v2/', status: 503, ok: false } }, 'down'],
      ['running, not asked (no trust anchor yet)', { v2: undefined }, 'unknown'],
      ['its host unreachable', { reachable: false }, 'unknown'],
    ];
    for (const [name, over, want] of table) {
      const r = replica('w1', over);
      if ('v2' in over && over.v2 === undefined) delete r.v2;
      assert.equal(replicaHealth(r), want, name);
    }
  });
});

describe('status with registry replicas', () => {
  const pb = { tls: { mode: 'ca', subjectAltNames: ['DNS:lb'] } } as unknown as Playbook;
  const base = (replicas: ReplicaStatus[]): Omit<StatusReport, 'problems' | 'warnings' | 'exitCode'> => ({
    registry: 'lb:5000',
    renewBeforeDays: 5,
    certificate: { path: '/s', present: true, sans: ['DNS:lb'], daysLeft: 100, notAfter: '2030-04-11' },
    anchor: { path: '/ca', present: true, daysLeft: 100 },
    container: replicas[0]!.container,
    api: { via: 'lb:5000', status: 200, repositories: [{ repository: 'app', tags: ['0.1'] }] },
    replicas,
    hosts: [
      {
        name: 'master',
        role: 'master',
        reachable: true,
        docker: 'running',
        trustExpected: true,
        trust: [{ path: '/t', kind: 'certs.d', state: 'ok' }],
        v2: { code: '200', ok: true },
      },
    ],
    pending: [],
  });
  const worker1Down = () =>
    replica('worker1', {
      container: containerStatus('registry', { container: exited }, undefined, now),
      v2: { url: 'https://worker1:5000/v2/', error: 'connect ECONNREFUSED 127.0.0.1:5000', ok: false },
    });

  it('healthy when every replica is up', () => {
    assert.deepEqual(judge(base([replica('master'), replica('worker1')]), pb), {
      problems: [],
      warnings: [],
      exitCode: 0,
    });
  });

  it('a replica down is that replica’s problem (exit 2), though the address answers', () => {
    const j = judge(base([replica('master'), worker1Down()]), pb);
    assert.equal(j.exitCode, 2);
    assert.deepEqual(j.problems, [
      'replica worker1 is down: container registry is exited; ' +
        'GET https://worker1:5000/v2/ failed: connect ECONNREFUSED 127.0.0.1:5000',
    ]);
    // The first replica's container is the report's container; it is judged as that replica, once.
    const first = judge(base([worker1Down(), replica('master')]), pb);
    assert.equal(first.problems.length, 1, first.problems.join('\n'));
  });

  it('a replica whose settings differ is a warning naming what apply changes; the address failing names it', () => {
    const r = judge(
      base([
        replica('master'),
        replica('worker1', {
          container: { name: 'registry', present: true, state: 'running', differences: ['container.image'] },
        }),
      ]),
      pb,
    );
    assert.deepEqual(r.warnings, [
      'replica worker1: the container differs from the playbook (container.image): apply recreates it',
    ]);
    const report = base([replica('master'), replica('worker1')]);
    report.api = { via: 'lb:5000', error: 'connect ECONNREFUSED' };
    assert.deepEqual(judge(report, pb).problems, ['registry through lb:5000: connect ECONNREFUSED']);
  });

  it('as text: a table of the replicas, the api read through the address, no single container line', () => {
    const partial = base([replica('master'), worker1Down()]);
    const text = formatStatus({ ...partial, ...judge(partial, pb) });
    const lines = text.split('\n');
    assert.ok(!lines.some((l) => l.startsWith('  container ')), text);
    assert.match(text, /^ {2}api {10}GET \/v2\/ 200 through lb:5000; app \(0\.1\)$/m);
    assert.match(text, /^REPLICA\s+CONTAINER\s+SETTINGS\s+\/v2\/ DIRECTLY\s+HEALTH$/m);
    assert.match(text, /^master\s+registry running, up 1h 0m\s+\?\s+ok \(401\)\s+up$/m);
    assert.match(
      text,
      /^worker1\s+registry exited\s+\?\s+failed \(connect ECONNREFUSED 127\.0\.0\.1:5000\)\s+down$/m,
    );
    assert.match(text, /^PROBLEM {2}replica worker1 is down: container registry is exited; /m);
    assert.match(text, /^1 problem, 0 warnings$/m);
  });

  it('the cells the web view shows are the text’s, with their tones', () => {
    assert.deepEqual(replicaCells(worker1Down()), [
      { text: 'worker1' },
      { text: 'registry exited', tone: 'bad' },
      { text: '?' },
      { text: 'failed (connect ECONNREFUSED 127.0.0.1:5000)', tone: 'bad' },
      { text: 'down', tone: 'bad' },
    ]);
    assert.deepEqual(
      replicaCells(replica('master', { reachable: false })).map((c) => c.text),
      ['master', '?', '?', 'ok (401)', 'unreachable'],
    );
  });
});
