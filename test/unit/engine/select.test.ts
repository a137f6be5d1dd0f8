import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec } from '../../../src/config/model.js';
import { UsageError } from '../../../src/core/errors.js';
import { selectHosts } from '../../../src/engine/select.js';

const host = (name: string, role: 'master' | 'worker'): HostSpec => ({
  name,
  role,
  connection: 'ssh',
  address: name,
  port: 22,
  user: 'root',
  knownHosts: '/dev/null',
  hostKeyChecking: 'strict',
  source: { file: 'inv.yaml', line: 1, col: 1 },
});

const HOSTS = [
  host('master', 'master'),
  host('worker1', 'worker'),
  host('worker2', 'worker'),
  host('worker10', 'worker'),
  host('builder', 'worker'),
];

describe('--limit host selection', () => {
  const table: Array<[string, string[] | undefined, string[]]> = [
    ['no limit: every host', undefined, ['master', 'worker1', 'worker2', 'worker10', 'builder']],
    ['a host name', ['worker2'], ['worker2']],
    ['the group all', ['all'], ['master', 'worker1', 'worker2', 'worker10', 'builder']],
    ['the group master', ['master'], ['master']],
    ['the group workers', ['workers'], ['worker1', 'worker2', 'worker10', 'builder']],
    ['a glob', ['worker*'], ['worker1', 'worker2', 'worker10']],
    ['a single-character glob', ['worker?'], ['worker1', 'worker2']],
    ['a bracket glob', ['worker[12]'], ['worker1', 'worker2']],
    ['entries add up, in inventory order', ['builder', 'master'], ['master', 'builder']],
    [
      'overlapping entries name a host once',
      ['worker*', 'worker1', 'workers'],
      ['worker1', 'worker2', 'worker10', 'builder'],
    ],
  ];
  for (const [what, limit, want] of table) {
    it(what, () => {
      assert.deepEqual(
        selectHosts(HOSTS, limit).map((h) => h.name),
        want,
      );
    });
  }

  it('a host named like a group is the host, not the group', () => {
    const hosts = [host('m', 'master'), host('workers', 'worker'), host('w2', 'worker')];
    assert.deepEqual(
      selectHosts(hosts, ['workers']).map((h) => h.name),
      ['workers'],
    );
  });

  const bad: Array<[string, string[], RegExp]> = [
    [
      'an unknown name',
      ['nope'],
      /--limit nope matches no host \(known: master, worker1, worker2, worker10, builder;/,
    ],
    ['a glob that matches nothing', ['db*'], /--limit db\* matches no host/],
    ['one bad entry among good ones', ['worker1', 'wroker2'], /--limit wroker2 matches no host/],
  ];
  for (const [what, limit, message] of bad) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => selectHosts(HOSTS, limit),
        (err: unknown) => err instanceof UsageError && message.test(err.message),
      );
    });
  }

  it('the group workers with no workers is an error', () => {
    assert.throws(() => selectHosts([host('m', 'master')], ['workers']), /--limit workers matches no host/);
  });
});
