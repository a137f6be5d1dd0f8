// Completion as the shell asks for it: the real CLI answering yargs' completion protocol
// (`regbook --get-yargs-completions WORDS…`, as the bash and zsh scripts call it), and the pure
// rules behind it as a table.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { complete, completeList, inventoryHostNames } from '../../../src/cli/complete.js';
import { regbook, tempDir } from '../../helpers/cli.js';

const OPTIONS = ['--help', '--inventory', '-i', '--output', '--i', '--o', '--check', '--C'];

describe('completion rules', () => {
  const sources = {
    defaults: () => OPTIONS,
    hostsOf: (p: string) => (p === 'inv.yaml' ? ['master', 'worker1', 'worker2'] : undefined),
  };
  const table: Array<[string, string[], string[]]> = [
    [
      'task names after --tags',
      ['regbook', 'apply', '--tags', ''],
      ['facts', 'tls', 'auth', 'registry', 'trust', 'images', 'verify'],
    ],
    ['task names after -t, by prefix', ['apply', '-t', 'tr'], ['trust']],
    ['task names after --skip-tags', ['apply', '--skip-tags', 'v'], ['verify']],
    ['the next entry of a comma list', ['apply', '--tags', 'tls,tr'], ['tls,trust']],
    ['no task twice in a list', ['apply', '--tags', 'tls,t'], ['tls,trust']],
    ['--tags=…', ['apply', '--tags=im'], ['--tags=images']],
    [
      'hosts and groups after --limit',
      ['apply', 'site.yaml', '-i', 'inv.yaml', '--limit', ''],
      ['master', 'worker1', 'worker2', 'workers', 'all'],
    ],
    [
      'globs and hosts after -l, by prefix',
      ['apply', 'site.yaml', '--inventory', 'inv.yaml', '-l', 'worker1,w'],
      ['worker1,worker2', 'worker1,workers'],
    ],
    ['--limit=… with --inventory=…', ['apply', '--inventory=inv.yaml', '--limit=m'], ['--limit=master']],
    [
      'groups only, without a readable inventory',
      ['apply', '-i', 'nope.yaml', '--limit', ''],
      ['master', 'workers', 'all'],
    ],
    ['files after -i (the shell completes them)', ['apply', 'site.yaml', '-i', ''], []],
    ['files for the playbook', ['regbook', 'apply', ''], []],
    [
      'options once a dash is typed, without --i or --C',
      ['regbook', 'apply', '--'],
      ['--help', '--inventory', '-i', '--output', '--check'],
    ],
  ];
  for (const [what, words, want] of table) {
    it(what, () => assert.deepEqual(complete(words, sources), want));
  }
  it('completeList keeps what is typed before the last comma', () => {
    assert.deepEqual(completeList('a,', ['a', 'b', 'c']), ['a,b', 'a,c']);
  });
  it('host names come from the inventory as YAML, whatever else it holds', async () => {
    const { load: parse } = await import('js-yaml');
    assert.deepEqual(
      inventoryHostNames('master: {name: m, address: x}\nworkers:\n  - {name: w1}\n  - {name: w2}\n', parse),
      ['m', 'w1', 'w2'],
    );
    assert.equal(inventoryHostNames('{{{', parse), undefined);
  });
});

describe('regbook --get-yargs-completions (the completion protocol)', () => {
  const ask = async (...words: string[]) => {
    const r = await regbook(['--get-yargs-completions', ...words]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'nothing on stderr: it would land in the user’s prompt');
    return r.stdout.split('\n').filter(Boolean);
  };

  it('commands, rm among them', async () => {
    const got = await ask('regbook', '');
    for (const c of ['apply', 'catalog', 'status', 'gc', 'rm', 'validate', 'init', 'completion'])
      assert.ok(got.includes(c), `${c} in ${got.join(' ')}`);
    assert.ok(!got.includes('completion-script'), 'the hidden command stays hidden');
  });

  it('task names after --tags', async () => {
    assert.deepEqual(await ask('apply', '--tags', ''), [
      'facts',
      'tls',
      'auth',
      'registry',
      'trust',
      'images',
      'verify',
    ]);
    assert.deepEqual(await ask('regbook', 'apply', 'site.yaml', '--skip-tags', 'tls,tr'), ['tls,trust']);
  });

  it('options with the right dashes', async () => {
    const got = await ask('regbook', 'apply', '--');
    assert.ok(got.includes('--inventory') && got.includes('--check') && got.includes('--limit'));
    assert.deepEqual(
      got.filter((o) => /^--.$/.test(o)),
      [],
      'no --i, --C',
    );
  });

  it('host names from the inventory given with -i after --limit', async () => {
    const dir = tempDir();
    const inv = join(dir, 'inventory.yaml');
    writeFileSync(
      inv,
      'master:\n  name: boss\n  address: 10.0.0.1\nworkers:\n  - name: node1\n    address: 10.0.0.2\n',
    );
    assert.deepEqual(await ask('regbook', 'apply', 'site.yaml', '-i', inv, '--limit', ''), [
      'boss',
      'node1',
      'master',
      'workers',
      'all',
    ]);
  });

  it('choices: --output and lock’s action', async () => {
    assert.deepEqual(await ask('regbook', 'catalog', 'site.yaml', '-o', ''), ['text', 'json']);
    const lock = await ask('regbook', 'lock', '');
    assert.ok(lock.includes('status') && lock.includes('release'), lock.join(' '));
  });
});
