// The verify task as a table: what the registry lists in, the verdict out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec, Inventory, Playbook } from '../../../src/config/model.js';
import type { PlanInput } from '../../../src/engine/context.js';
import type { Shared } from '../../../src/tasks/shared.js';
import { verifyStage, type Listing, type VerifyFacts } from '../../../src/tasks/verify.js';

const playbook = {
  images: [
    { repository: 'app', tag: '0.1', state: 'present' },
    { repository: 'old', tag: '0.1', state: 'absent' },
  ],
} as unknown as Playbook;
const input: PlanInput<Shared> = {
  playbook,
  inventory: {} as Inventory,
  host: { name: 'master' } as HostSpec,
  secrets: new Map(),
  shared: {},
  now: new Date(),
};
const seen = (app: string[], old: string[], through?: string): Listing => ({
  ...(through ? { through } : {}),
  ping: 200,
  catalog: ['app', 'old'],
  tags: new Map([
    ['app', app],
    ['old', old],
  ]),
});
const listing = (app: string[], old: string[]): VerifyFacts => ({ listings: [seen(app, old)] });

describe('verify plan', () => {
  const table: Array<[string, VerifyFacts, string | RegExp]> = [
    ['everything as declared', listing(['0.1', '0.2'], []), 'ok: 2 repositories'],
    ['a declared tag missing', listing(['0.2'], []), /app:0\.1 is missing/],
    ['an absent tag still listed', listing(['0.1'], ['0.1']), /old:0\.1 is still listed/],
    ['GET /v2/ refused', { listings: [{ ping: 503 }] }, /GET \/v2\/ answered 503/],
    [
      'a replica directly and the address agree',
      { listings: [seen(['0.1'], [], 'master directly'), seen(['0.1'], [], 'lb:5000')] },
      'ok: 2 repositories, through master directly and lb:5000',
    ],
    [
      'a replica that lacks what the address lists',
      { listings: [seen([], [], 'worker1 directly')] },
      /the registry \(worker1 directly\) does not hold what the playbook declares: app:0\.1 is missing/,
    ],
    [
      'a replica that does not answer',
      { listings: [seen(['0.1'], [], 'lb:5000'), { through: 'worker1 directly', ping: 502 }] },
      /GET \/v2\/ answered 502 \(worker1 directly\)/,
    ],
    ['an earlier change not made yet', { pending: 'x' }, 'skipped: what it would verify is not there yet'],
  ];
  for (const [name, facts, want] of table) {
    it(name, () => {
      if (want instanceof RegExp) {
        assert.throws(() => verifyStage.plan(facts, input), want);
        return;
      }
      const plan = verifyStage.plan(facts, input);
      assert.deepEqual(plan.changes, [], 'verify never changes anything');
      assert.deepEqual(plan.steps, []);
      assert.equal(plan.skipped ? `skipped: ${plan.skipped}` : `ok: ${plan.message}`, want);
    });
  }
});
