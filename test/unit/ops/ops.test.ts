import assert from 'node:assert/strict';
import type { PendingChange } from '../../../src/ops/plan-health.js';
import { describe, it } from 'node:test';
import type { Playbook } from '../../../src/config/model.js';
import { createCa, createServerCert, inspectCert } from '../../../src/pki/index.js';
import {
  blobDataPath,
  garbageCollectArgv,
  parseGarbageCollect,
  registryCommandOf,
} from '../../../src/ops/gc.js';
import { formatBytes, plural } from '../../../src/ui/size.js';
import { certificateStatus, judge, trustState, type StatusReport } from '../../../src/ops/status.js';
import { parseV2 } from '../../../src/facts/registry-reach.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

describe('gc', () => {
  it('finds the registry binary and config from the container command, upstream or otherwise', () => {
    assert.deepEqual(
      registryCommandOf({
        Config: { Entrypoint: ['/entrypoint.sh'], Cmd: ['/etc/docker/registry/config.yml'] },
      }),
      {
        binary: '/bin/registry',
        config: '/etc/docker/registry/config.yml',
      },
    );
    assert.deepEqual(
      registryCommandOf({
        Config: { Entrypoint: ['/usr/bin/docker-registry', 'serve', '/etc/r.yml'], Cmd: null },
      }),
      {
        binary: '/usr/bin/docker-registry',
        config: '/etc/r.yml',
      },
    );
  });
  it('builds garbage-collect with dry-run and untagged as asked', () => {
    const argv = garbageCollectArgv('/bin/registry', '/c.yml', { dryRun: true, untagged: true });
    assert.deepEqual(argv, ['/bin/registry', 'garbage-collect', '--dry-run', '--delete-untagged', '/c.yml']);
    assert.ok(!garbageCollectArgv('/b', '/c', { dryRun: false, untagged: false }).includes('--dry-run'));
  });
  it("parses the collector's output", () => {
    const out = [
      `app: marking manifest ${D1}`,
      `blob eligible for deletion: ${D2}`,
      `blob eligible for deletion: ${D2}`,
      `manifest eligible for deletion: app@${D1}`,
      '3 blobs marked, 1 blobs and 1 manifests eligible for deletion',
    ].join('\n');
    assert.deepEqual(parseGarbageCollect(out), {
      blobs: [D2],
      manifests: [D1],
      summary: '3 blobs marked, 1 blobs and 1 manifests eligible for deletion',
    });
    assert.deepEqual(parseGarbageCollect(''), { blobs: [], manifests: [] });
  });
  it('knows where the filesystem driver keeps a blob and prints sizes', () => {
    assert.equal(blobDataPath('/d', D2), `/d/docker/registry/v2/blobs/sha256/22/${'2'.repeat(64)}/data`);
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(3 * 1024 * 1024), '3.0 MiB');
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(5 * 1024 ** 4), '5.0 TiB');
    assert.equal(plural(1, 'repository', 'repositories'), '1 repository');
    assert.equal(plural(2, 'repository', 'repositories'), '2 repositories');
    assert.equal(plural(0, 'blob'), '0 blobs');
  });
});

describe('status', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const ca = createCa({ commonName: 'm', subjectAltNames: ['DNS:m'], days: 100, keyBits: 2048, now });
  const server = createServerCert({
    commonName: 'm',
    subjectAltNames: ['DNS:m'],
    days: 20,
    keyBits: 2048,
    ca,
    now,
  });

  it('reads a certificate, its days left and its fingerprint; reports unreadable ones', () => {
    const s = certificateStatus('/c', server.certPem, now);
    assert.equal(s.daysLeft, 20);
    assert.deepEqual(s.sans, ['DNS:m']);
    assert.equal(s.fingerprint, inspectCert(server.certPem).fingerprintSha256);
    assert.deepEqual(certificateStatus('/c', undefined, now), { path: '/c', present: false });
    assert.ok(certificateStatus('/c', 'garbage', now).error);
  });
  it('compares trust files by fingerprint', () => {
    const fp = inspectCert(ca.certPem).fingerprintSha256;
    assert.equal(trustState(ca.certPem, fp), 'ok');
    assert.equal(trustState(server.certPem, fp), 'differs');
    assert.equal(trustState(undefined, fp), 'missing');
    assert.equal(trustState('not a pem', fp), 'differs');
  });
  it('reads the GET /v2/ probe: 200 and 401 are reachable, the rest is not', () => {
    assert.deepEqual(parseV2('200 0\n'), { code: '200', ok: true });
    assert.equal(parseV2('401 0').ok, true);
    assert.deepEqual(parseV2('000 60'), { code: '000', ok: false, detail: 'curl exit 60' });
    assert.equal(parseV2('nocurl').ok, false);
  });

  const pb = { tls: { subjectAltNames: ['DNS:m'] } } as unknown as Playbook;
  const base = (): Omit<StatusReport, 'problems' | 'warnings' | 'exitCode'> & {
    pending: PendingChange[];
  } => ({
    registry: 'm:5000',
    renewBeforeDays: 5,
    certificate: certificateStatus('/s', server.certPem, now),
    anchor: certificateStatus('/ca', ca.certPem, now),
    container: { name: 'registry', present: true, state: 'running', differences: [] },
    api: { status: 200 },
    hosts: [
      {
        name: 'm',
        role: 'master',
        reachable: true,
        docker: 'running',
        trustExpected: true,
        trust: [{ path: '/t', kind: 'certs.d', state: 'ok' }],
        v2: { code: '200', ok: true },
      },
      {
        name: 'w',
        role: 'worker',
        reachable: true,
        docker: 'running',
        trustExpected: true,
        trust: [],
        v2: { code: '200', ok: true },
      },
    ],
    pending: [],
  });
  it('judges a healthy cluster 0, a problem 2, an unreachable host 4', () => {
    assert.deepEqual(judge(base(), pb), { problems: [], warnings: [], exitCode: 0 });
    const missing = base();
    missing.hosts[1]!.trust = [
      { path: '/etc/docker/certs.d/m:5000/ca.crt', kind: 'certs.d', state: 'missing' },
    ];
    const j = judge(missing, pb);
    assert.equal(j.exitCode, 2);
    assert.deepEqual(j.problems, ['w: /etc/docker/certs.d/m:5000/ca.crt is missing']);
    const down = base();
    down.hosts[1] = { name: 'w', role: 'worker', reachable: false, error: 'refused', trustExpected: true };
    assert.equal(judge(down, pb).exitCode, 4);
  });
  it('a change the plan holds makes a host unhealthy (2), and a task that cannot be planned is a problem', () => {
    const drift = base();
    drift.pending = [{ host: 'w', task: 'trust', what: '/t mode', from: '644', to: '444' }];
    assert.deepEqual(judge(drift, pb), { problems: [], warnings: [], exitCode: 2 });
    const failed = judge(base(), pb, [{ host: 'w', task: 'trust', message: 'no docker' }]);
    assert.deepEqual(failed.problems, ['w: trust cannot be planned: no docker']);
    assert.equal(failed.exitCode, 2);
  });
  it('warns inside renewBeforeDays and when the SANs differ', () => {
    const r = base();
    r.renewBeforeDays = 30;
    const j = judge(r, { tls: { subjectAltNames: ['DNS:m', 'DNS:other'] } } as unknown as Playbook);
    assert.equal(j.exitCode, 2);
    assert.ok(
      j.warnings.some((w) => /expires in 20 days/.test(w)),
      j.warnings.join('\n'),
    );
    assert.ok(
      j.warnings.some((w) => /SANs DNS:m differ/.test(w)),
      j.warnings.join('\n'),
    );
  });
});
