// Unit tests of the trust record: which files regbook takes away (only those it wrote and the
// playbook no longer asks for), and the removal script, run by a real sh on temporary files.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  parseRecord,
  recordText,
  removeStaleCmd,
  removeStoreFilesCmd,
  staleTrust,
  storeRefresh,
} from '../../../src/tasks/trust/record.js';
import { LocalConnection } from '../../../src/transport/local.js';

const A = '/etc/docker/certs.d/master:5000/ca.crt';
const B = '/etc/docker/certs.d/registry.lab:5000/ca.crt';
const STORE_A = '/usr/local/share/ca-certificates/regbook-master_5000.crt';
const HOSTS_A = '/etc/containerd/certs.d/master:5000/hosts.toml';

describe('trust record: the file', () => {
  it('round-trips, sorted and without duplicates, and skips lines it does not know', () => {
    const text = recordText({ files: [B, A, A], insecure: ['master:5000'] });
    assert.deepEqual(parseRecord(text), { files: [A, B], insecure: ['master:5000'] });
    assert.equal(text, recordText(parseRecord(text)), 'the same record is the same text');
    assert.deepEqual(parseRecord(`${text}# a note\nfuture thing\nfile relative/path\n`), parseRecord(text));
    assert.deepEqual(parseRecord(undefined), { files: [], insecure: [] });
  });
});

describe('trust record: what is stale', () => {
  const none = { files: [], insecure: [] };
  const table: [string, Parameters<typeof staleTrust>, ReturnType<typeof staleTrust>][] = [
    ['nothing written before', [{ files: [B], insecure: [] }, [], none], none],
    ['the same address: nothing', [{ files: [A], insecure: [] }, [A], { files: [A], insecure: [] }], none],
    [
      'the address moved: the old files go, the new ones stay',
      [{ files: [B], insecure: [] }, [A, STORE_A, HOSTS_A, B], { files: [A, HOSTS_A, B], insecure: [] }],
      { files: [HOSTS_A, A, STORE_A].sort(), insecure: [] },
    ],
    [
      'only what is known: an operator’s anchor is not, so it stays',
      [{ files: [B], insecure: [] }, [A], { files: [A], insecure: [] }],
      { files: [A], insecure: [] },
    ],
    [
      'an insecure entry for the old address goes, the current one stays',
      [{ files: [], insecure: ['b:5000'] }, [], { files: [], insecure: ['a:5000', 'b:5000'] }],
      { files: [], insecure: ['a:5000'] },
    ],
    [
      'a record listing a path of another shape (edited by hand, damaged) does not make it go',
      [
        none,
        ['/etc/passwd', '/etc/docker/certs.d/../passwd/ca.crt', '/etc/docker/certs.d/a/b/ca.crt', A],
        { files: ['/etc/passwd', A], insecure: [] },
      ],
      { files: [A], insecure: [] },
    ],
    [
      'a host outside trust.hosts: all of it',
      [none, [A], { files: [A], insecure: ['a:5000'] }],
      { files: [A], insecure: ['a:5000'] },
    ],
  ];
  for (const [name, args, want] of table) it(name, () => assert.deepEqual(staleTrust(...args), want));

  it('store files go with their rebuild in one command, and only files of one store', () => {
    assert.deepEqual(removeStoreFilesCmd([STORE_A], true).argv, [
      'sh',
      '-c',
      'rm -f -- "$@" && update-ca-certificates',
      'sh',
      STORE_A,
    ]);
    assert.deepEqual(removeStoreFilesCmd([STORE_A], false).argv.slice(2), ['rm -f -- "$@"', 'sh', STORE_A]);
    assert.throws(() => removeStoreFilesCmd([STORE_A, A], true), /not files of one OS store/);
  });
  it('a store file’s removal rebuilds its store; a certs.d file’s needs nothing', () => {
    assert.deepEqual(storeRefresh(STORE_A), ['update-ca-certificates']);
    assert.deepEqual(storeRefresh('/etc/pki/ca-trust/source/anchors/regbook-a.crt'), [
      'update-ca-trust',
      'extract',
    ]);
    assert.equal(storeRefresh(A), undefined);
  });
});

describe('trust record: the removal, run by sh', () => {
  const root = mkdtempSync(join(tmpdir(), 'regbook-record-'));
  const run = async (file: string, dir: string) => {
    const cmd = removeStaleCmd(A);
    const argv = [...cmd.argv.slice(0, 4), file, dir];
    const r = await new LocalConnection({ name: 'local' }).exec({ ...cmd, argv, privileged: false });
    assert.equal(r.code, 0, r.stderr);
  };
  it('names the per-registry directory for certs.d files only', () => {
    assert.deepEqual(removeStaleCmd(A).argv.slice(4), [A, '/etc/docker/certs.d/master:5000']);
    assert.deepEqual(removeStaleCmd(HOSTS_A).argv.slice(4), [HOSTS_A, '/etc/containerd/certs.d/master:5000']);
    assert.deepEqual(removeStaleCmd(STORE_A).argv.slice(4), [STORE_A, '-']);
  });
  it('removes the file, and its directory once nothing else is in it', async () => {
    const d = join(root, 'alone');
    mkdirSync(d);
    writeFileSync(join(d, 'ca.crt'), 'x');
    await run(join(d, 'ca.crt'), d);
    assert.equal(existsSync(d), false);
  });
  it('keeps the directory when an operator’s file is in it, and succeeds when the file is gone already', async () => {
    const d = join(root, 'shared');
    mkdirSync(d);
    writeFileSync(join(d, 'ca.crt'), 'x');
    writeFileSync(join(d, 'client.cert'), 'mine');
    await run(join(d, 'ca.crt'), d);
    assert.equal(existsSync(join(d, 'ca.crt')), false);
    assert.equal(existsSync(join(d, 'client.cert')), true);
    await run(join(d, 'ca.crt'), d);
  });
});
