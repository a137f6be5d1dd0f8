// The tls task as a table: what tls.dir holds in, the plan out (changes, steps, and what later
// tasks learn). That the certificates are right and land on a real host is the pki tests' and
// the lab's job.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec, Inventory, Playbook } from '../../../src/config/model.js';
import type { PlanInput } from '../../../src/engine/context.js';
import type { RemoteDir } from '../../../src/facts/dirs.js';
import type { RemoteFile } from '../../../src/facts/files.js';
import { createCa, createServerCert, generateRsaKeyPem, inspectCert } from '../../../src/pki/index.js';
import type { Shared } from '../../../src/tasks/shared.js';
import { tlsStage, type TlsFacts } from '../../../src/tasks/tls.js';
import type { Step } from '../../../src/core/task.js';

const DIR = '/etc/regbook/certs';
const tls = {
  dir: DIR,
  mode: 'ca',
  commonName: 'master',
  subjectAltNames: ['DNS:master'],
  days: 800,
  keyBits: 2048,
  renewBeforeDays: 30,
};
const playbook = { tls } as unknown as Playbook;
const input = (pb: Playbook = playbook): PlanInput<Shared> => ({
  playbook: pb,
  inventory: {} as Inventory,
  host: { name: 'master' } as HostSpec,
  secrets: new Map(),
  shared: {},
  now: new Date(),
});

// One CA and server pair as the task would have made them.
const ca = createCa({ ...tls, keyPem: generateRsaKeyPem(2048) });
const server = createServerCert({ ...tls, keyPem: generateRsaKeyPem(2048), ca });
const file = (content: string, mode: string): RemoteFile => ({ mode, content: Buffer.from(content) });
const rootDir: RemoteDir = { mode: '700', uid: 0, gid: 0 };

function facts(
  over: Partial<Record<'ca.crt' | 'ca.key' | 'server.crt' | 'server.key', RemoteFile | undefined>> = {},
  dir: RemoteDir | undefined = rootDir,
): TlsFacts {
  const have = {
    'ca.crt': file(ca.certPem, '444'),
    'ca.key': file(ca.keyPem, '600'),
    'server.crt': file(server.certPem, '444'),
    'server.key': file(server.keyPem, '600'),
    ...over,
  };
  return {
    files: new Map(Object.entries(have).map(([k, v]) => [`${DIR}/${k}`, v])),
    dirs: new Map([[DIR, dir]]),
  };
}
const none = { 'ca.crt': undefined, 'ca.key': undefined, 'server.crt': undefined, 'server.key': undefined };

const describeSteps = (steps: Step[]): string[] =>
  steps.flatMap((s) =>
    s.kind === 'parallel' ? s.lanes.map((l) => l.map((x) => x.describe).join(' → ')) : [s.describe],
  );

describe('tls plan', () => {
  const fp = inspectCert(server.certPem).fingerprintSha256;
  const table: Array<
    [string, TlsFacts, Playbook, string[], string[], 'known' | 'pending', 'known' | 'pending']
  > = [
    ['in place', facts(), playbook, [], [], 'known', 'known'],
    [
      'an empty tls.dir',
      facts(none, undefined),
      playbook,
      [`${DIR}/ca.crt`, `${DIR}/server.crt`],
      [
        'make the certificates',
        `write ${DIR}/ca.key → write ${DIR}/ca.crt`,
        `write ${DIR}/server.key → write ${DIR}/server.crt`,
      ],
      'pending',
      'pending',
    ],
    [
      'a server key that is not the certificate’s',
      facts({ 'server.key': file(generateRsaKeyPem(2048), '600') }),
      playbook,
      [`${DIR}/server.crt`],
      ['make the certificates', `write ${DIR}/server.key`, `write ${DIR}/server.crt`],
      'known',
      'pending',
    ],
    [
      'a SAN the playbook added',
      facts(),
      { tls: { ...tls, subjectAltNames: ['DNS:master', 'IP:127.0.0.1'] } } as unknown as Playbook,
      [`${DIR}/ca.crt`, `${DIR}/server.crt`],
      [
        'make the certificates',
        `write ${DIR}/ca.key → write ${DIR}/ca.crt`,
        `write ${DIR}/server.key → write ${DIR}/server.crt`,
      ],
      'pending',
      'pending',
    ],
    [
      'a key others can read',
      facts({ 'server.key': file(server.keyPem, '644') }),
      playbook,
      [`${DIR}/server.key mode`],
      [`chmod ${DIR}/server.key`],
      'known',
      'known',
    ],
    [
      'a directory others can enter',
      facts({}, { mode: '755', uid: 0, gid: 0 }),
      playbook,
      [`${DIR} (directory)`],
      [`chown root:root and chmod 700 ${DIR}`],
      'known',
      'known',
    ],
  ];
  for (const [name, f, pb, changes, steps, anchor, fingerprint] of table) {
    it(`${name}: ${changes.length ? changes.join(', ') : 'no change'}`, () => {
      const plan = tlsStage.plan(f, input(pb));
      assert.deepEqual(
        plan.changes.map((c) => c.what),
        changes,
      );
      assert.deepEqual(describeSteps(plan.steps), steps);
      const rec = plan.record!.tls!;
      assert.equal(rec.anchorPem?.known, anchor === 'known', 'the anchor later tasks see');
      if (anchor === 'known') assert.equal(rec.anchorPem?.value, ca.certPem);
      assert.equal(rec.serverFingerprint?.known, fingerprint === 'known');
      if (fingerprint === 'known') assert.equal(rec.serverFingerprint?.value, fp);
      assert.equal(rec.anchorChanged, changes.includes(`${DIR}/ca.crt`));
    });
  }

  it('the step that makes the certificates resolves what later tasks were told is pending', async () => {
    const plan = tlsStage.plan(facts(none), input());
    const make = plan.steps.find((s) => s.describe === 'make the certificates');
    assert.ok(make?.kind === 'fn');
    await make.run(undefined as never);
    const rec = plan.record!.tls!;
    const made = rec.anchorPem!.value!;
    assert.match(made, /BEGIN CERTIFICATE/);
    const writes = plan.steps.flatMap((s) => (s.kind === 'parallel' ? s.lanes.flat() : [s]));
    const caWrite = writes.find((s) => s.kind === 'write' && s.path === `${DIR}/ca.crt`);
    assert.ok(caWrite?.kind === 'write' && typeof caWrite.data === 'object' && 'value' in caWrite.data);
    assert.equal(caWrite.data.value, made, 'the write carries the certificate the step made');
    assert.equal(rec.serverFingerprint!.known, true);
  });
});
