// Large inputs: a file of thousands of items still validates, and a problem deep in it is still
// reported at its own line and path (the lookups that find positions are indexed, not rescanned).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic } from '../../../src/core/errors.js';
import { diagnosticsOf, GOOD_INVENTORY, GOOD_PLAYBOOK, load } from './helpers.js';

const HOSTS = 5000;
const INV_HEAD = 'master:\n  name: master\n  address: 10.0.0.10\nworkers:\n';
/** Line of worker i's `- name:` (3 lines per worker after the 4-line head). */
const workerLine = (i: number) => 5 + 3 * i;
const worker = (i: number, address = `10.1.${i >> 8}.${i & 255}`) =>
  `  - name: w${i}\n    address: ${address}\n    ${i === HOSTS - 2 ? 'user: deploy' : 'port: 22'}\n`;
const inventory = (last: (i: number) => string = worker) =>
  INV_HEAD + Array.from({ length: HOSTS }, (_, i) => (i === HOSTS - 1 ? last(i) : worker(i))).join('');

describe('large inputs', () => {
  it('an inventory of thousands of hosts validates; every host keeps its own line and settings', () => {
    const { inventory: inv } = load(GOOD_PLAYBOOK, inventory());
    assert.equal(inv.workers.length, HOSTS);
    assert.equal(inv.workers[HOSTS - 1]!.source.line, workerLine(HOSTS - 1));
    assert.equal(inv.workers[1234]!.source.line, workerLine(1234));
    // Only the host that writes `user` has it explicit; `port` is written on all the others.
    assert.equal(inv.workers[HOSTS - 2]!.explicit?.user, true);
    assert.equal(inv.workers[HOSTS - 3]!.explicit?.user, false);
    assert.equal(inv.workers[HOSTS - 3]!.explicit?.port, true);
  });

  it('a problem in the last of thousands of hosts is reported at its line and path', () => {
    const diagnostics = diagnosticsOf(
      GOOD_PLAYBOOK,
      inventory((i) => worker(i, '"not an address"')),
    );
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0]!.line, workerLine(HOSTS - 1) + 1);
    assert.equal(diagnostics[0]!.col, 14);
    assert.equal(diagnostics[0]!.path, `workers.${HOSTS - 1}.address`);
  });

  it('a key repeated at the end of a mapping of thousands of keys is reported there', () => {
    const keys = Array.from({ length: HOSTS }, (_, i) => `    REGISTRY_X${i}: v${i}\n`).join('');
    const diagnostics = diagnosticsOf(
      `${GOOD_PLAYBOOK}  env:\n${keys}    REGISTRY_X7: again\n`,
      GOOD_INVENTORY,
    );
    assert.deepEqual(
      diagnostics.map((d) => [d.line, d.col, d.path, d.message]),
      [[5 + HOSTS, 5, 'registry.env.REGISTRY_X7', 'duplicate key (each key may appear once in a mapping)']],
    );
  });

  it('a duplicate key after a key with no value is reported at the duplicate itself', () => {
    const diagnostics = diagnosticsOf(
      GOOD_PLAYBOOK,
      'master:\n  name: master\n  address: 10.0.0.10\n  port:\n  name: again\n',
    );
    assert.deepEqual(diagnostics.map(formatDiagnostic), [
      `${diagnostics[0]!.file}:5:3: master.name: duplicate key (each key may appear once in a mapping)`,
    ]);
  });

  it('in a file of thousands of aliases, an alias with no anchor before it is found at its line', () => {
    const images = Array.from(
      { length: HOSTS },
      (_, i) => `  - name: app${i}:1\n    pullOn: ${i === HOSTS - 1 ? '*later' : '*pullers'}\n`,
    ).join('');
    const playbook = `${GOOD_PLAYBOOK}x-hosts: &pullers [worker1]\nimages:\n${images}`;
    const diagnostics = diagnosticsOf(playbook, GOOD_INVENTORY);
    assert.deepEqual(
      diagnostics.map((d) => [d.line, d.col, d.message]),
      [[5 + 2 * HOSTS, 13, 'alias *later has no anchor &later before it']],
    );
  });

  it('a problem reached through an alias, deep in a large file, points at the anchored value', () => {
    const plain = Array.from({ length: HOSTS }, (_, i) => `  - name: app${i}:1\n`).join('');
    // Fewer uses of one anchor than the alias bound (a YAML bomb guard).
    const uses = Array.from({ length: 90 }, (_, i) => `  - name: use${i}:1\n    pullOn: *pullers\n`).join('');
    const playbook = `${GOOD_PLAYBOOK}images:\n${plain}  - name: base:1\n    pullOn: &pullers [worker1, nobody]\n${uses}`;
    const diagnostics = diagnosticsOf(playbook, GOOD_INVENTORY);
    // Every image pulls on the same list: one diagnostic per image, each at the anchored item.
    assert.equal(diagnostics.length, 91);
    for (const d of diagnostics) {
      assert.deepEqual([d.line, d.col], [6 + HOSTS, 32]);
      assert.match(d.message, /no host named 'nobody'/);
    }
    assert.deepEqual(
      [diagnostics[0]!.path, diagnostics[90]!.path],
      [`images.${HOSTS}.pullOn.1`, `images.${HOSTS + 90}.pullOn.1`],
    );
  });
});
