// The images task's plans as tables: what the hosts and the registry hold in, the plan out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec, ImageSpec, Inventory, Playbook } from '../../../src/config/model.js';
import type { PlanInput } from '../../../src/engine/context.js';
import type { Step } from '../../../src/core/task.js';
import { pullStage, pushStage, type PullFacts, type PushFacts } from '../../../src/tasks/images.js';
import type { Shared } from '../../../src/tasks/shared.js';

const hosts = ['master', 'worker1'].map((name, i) => ({ name, role: i ? 'worker' : 'master' }) as HostSpec);
const inventory = { master: hosts[0]!, workers: [hosts[1]!], hosts } as unknown as Inventory;
const image = (name: string, state: 'present' | 'absent' = 'present'): ImageSpec =>
  ({
    name,
    repository: name.split(':')[0]!,
    tag: name.split(':')[1]!,
    state,
    source: { host: 'master' },
    pullOn: ['worker1'],
  }) as unknown as ImageSpec;
const playbook = {
  registry: { address: 'master:5000' },
  images: [image('app:0.1'), image('old:0.1', 'absent')],
} as unknown as Playbook;
const input = (host: HostSpec, shared: Shared = {}): PlanInput<Shared> => ({
  playbook,
  inventory,
  host,
  secrets: new Map(),
  shared,
  now: new Date(),
});
const describeSteps = (steps: Step[]) =>
  steps.flatMap((s) =>
    s.kind === 'parallel' ? s.lanes.map((l) => l.map((x) => x.describe).join(' → ')) : [s.describe],
  );
const pusher = (local: string | undefined, inRegistry: string | undefined, old?: string): PushFacts => ({
  archiveIds: new Map(),
  local: new Map([['app:0.1', local]]),
  remote: new Map<string, { configDigest?: string; digest?: string } | undefined>([
    ['app:0.1', inRegistry ? { configDigest: inRegistry, digest: 'sha256:m1' } : undefined],
    ['old:0.1', old ? { digest: old } : undefined],
  ]),
  client: () => Promise.reject(new Error('no registry in a plan')),
});

describe('images push plan (the master)', () => {
  const table: Array<[string, PushFacts, string[], string[]]> = [
    ['the registry holds the source image; the absent tag is gone', pusher('sha256:a', 'sha256:a'), [], []],
    [
      'the registry lacks it',
      pusher('sha256:a', undefined),
      ['master:5000/app:0.1'],
      [
        'the pushes change what this host holds',
        'docker tag app:0.1 master:5000/app:0.1 && docker push master:5000/app:0.1',
      ],
    ],
    [
      'an absent tag still there',
      pusher('sha256:a', 'sha256:a', 'sha256:m2'),
      ['master:5000/old:0.1'],
      ['deleting old:0.1'],
    ],
  ];
  for (const [name, facts, changes, steps] of table) {
    it(name, () => {
      const plan = pushStage.plan(facts, input(hosts[0]!));
      assert.deepEqual(
        plan.changes.map((c) => c.what),
        changes,
      );
      assert.deepEqual(describeSteps(plan.steps), steps);
      const images = plan.record!.images!;
      assert.equal(images.sourceIds.get('app:0.1'), 'sha256:a', 'the pull stage learns the source id');
      assert.deepEqual([...images.pending], changes.length ? ['master'] : [], 'pending until applied');
    });
  }
  it('a source image missing on its host fails the host', () => {
    assert.throws(
      () => pushStage.plan(pusher(undefined, undefined), input(hosts[0]!)),
      /image app:0\.1 is not on master/,
    );
  });
  it('a host that only pulls records what it holds for the pull stage', () => {
    const plan = pushStage.plan({ held: new Map([['master:5000/app:0.1', 'sha256:a']]) }, input(hosts[1]!));
    assert.deepEqual(plan.changes, []);
    assert.equal(plan.record!.images!.held.get('worker1')!.get('master:5000/app:0.1'), 'sha256:a');
  });
});

describe('images pull plan (a worker)', () => {
  const pull = (want: string | undefined, have: string | undefined): PullFacts => ({
    expected: new Map([['app:0.1', want]]),
    local: new Map([['master:5000/app:0.1', have]]),
  });
  const table: Array<[string, PullFacts, Array<[string, string | undefined]>, string[]]> = [
    ['holds what the registry holds', pull('sha256:a', 'sha256:a'), [], []],
    [
      'holds another',
      pull('sha256:a', 'sha256:b'),
      [['master:5000/app:0.1', 'sha256:a']],
      ['docker pull master:5000/app:0.1'],
    ],
    [
      'the registry lacks it: the pull is predicted, and the apply fails before it',
      pull(undefined, undefined),
      [['master:5000/app:0.1', undefined]],
      ['checking app:0.1 is in the registry', 'docker pull master:5000/app:0.1'],
    ],
  ];
  for (const [name, facts, changes, steps] of table) {
    it(name, () => {
      const plan = pullStage.plan(facts, input(hosts[1]!));
      assert.deepEqual(
        plan.changes.map((c) => [c.what, c.to]),
        changes,
      );
      assert.deepEqual(describeSteps(plan.steps), steps);
    });
  }
  it('the step for an image the registry lacks fails with its name', async () => {
    const plan = pullStage.plan(pull(undefined, undefined), input(hosts[1]!));
    const first = plan.steps[0]!;
    assert.ok(first.kind === 'fn');
    await assert.rejects(first.run(undefined as never), /app:0\.1 is not in the registry/);
  });
});
