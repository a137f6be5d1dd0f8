// The auth task as a table: the master's htpasswd file and directory in, the plan out. No
// connection: the facts are what facts/files.ts and facts/dirs.ts parse from a host.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec, Inventory, Playbook } from '../../../src/config/model.js';
import { Secret } from '../../../src/core/secret.js';
import type { PlanInput } from '../../../src/engine/context.js';
import type { RemoteDir } from '../../../src/facts/dirs.js';
import { sha256 } from '../../../src/facts/files.js';
import { renderHtpasswd } from '../../../src/registry/htpasswd.js';
import { authStage, type AuthFacts } from '../../../src/tasks/auth.js';
import type { Shared } from '../../../src/tasks/shared.js';

const FILE = '/etc/regbook/auth/htpasswd';
const DIR = '/etc/regbook/auth';
const master = { name: 'master', role: 'master' } as HostSpec;
const playbook = {
  registry: { auth: { file: FILE, users: [{ username: 'ci', password: { env: 'CI_PW' } }] } },
} as unknown as Playbook;
const secrets = new Map([['CI_PW', new Secret('a long enough password')]]);
const input: PlanInput<Shared> = {
  playbook,
  inventory: {} as Inventory,
  host: master,
  secrets,
  shared: {},
  now: new Date(),
};
const good = renderHtpasswd([{ username: 'ci', password: secrets.get('CI_PW')! }]);
const other = renderHtpasswd([{ username: 'ci', password: new Secret('another long password') }]);
const rootDir: RemoteDir = { mode: '700', uid: 0, gid: 0 };

function facts(content: string | undefined, mode = '600', dir: RemoteDir | undefined = rootDir): AuthFacts {
  return {
    file: content === undefined ? undefined : { mode, content: Buffer.from(content) },
    dirs: new Map([[DIR, dir]]),
  };
}

describe('auth plan', () => {
  const table: Array<[string, AuthFacts, string[], string[], 'known' | 'pending']> = [
    ['up to date', facts(good), [], [], 'known'],
    ['missing file', facts(undefined, '600', undefined), [FILE], [`write ${FILE}`], 'pending'],
    ['another password', facts(other), [FILE], [`write ${FILE}`], 'pending'],
    ['not bcrypt', facts('ci:{SHA}abc\n'), [FILE], [`write ${FILE}`], 'pending'],
    ['mode 644', facts(good, '644'), [`${FILE} mode`], [`chmod ${FILE}`], 'known'],
    [
      'a directory others can read',
      facts(good, '600', { mode: '755', uid: 0, gid: 0 }),
      [`${DIR} (directory)`],
      [`chown root:root and chmod 700 ${DIR}`],
      'known',
    ],
  ];
  for (const [name, f, changes, steps, sha] of table) {
    it(`${name}: ${changes.length ? changes.join(', ') : 'no change'}`, () => {
      const plan = authStage.plan(f, input);
      assert.deepEqual(
        plan.changes.map((c) => c.what),
        changes,
      );
      assert.deepEqual(
        plan.steps.map((s) => s.describe),
        steps,
      );
      const fileSha = plan.record?.auth?.fileSha;
      assert.equal(plan.record?.auth?.changed, steps.includes(`write ${FILE}`));
      if (sha === 'known') assert.equal(fileSha?.value, sha256(f.file!.content));
      else assert.equal(fileSha?.known, false, 'the new file’s checksum waits for its step');
    });
  }

  it('the same facts give the same plan (pure), and no secret appears in it', () => {
    const a = authStage.plan(facts(other), input);
    const b = authStage.plan(facts(other), input);
    assert.deepEqual(a.changes, b.changes);
    assert.doesNotMatch(JSON.stringify(a.changes), /a long enough password/);
  });
});
