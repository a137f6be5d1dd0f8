// tls.mode none on the hosts: daemon.json's insecure-registries merged with every other key kept,
// and the docker info answer that says the running daemon loaded it. The reload itself is the
// lab's job (test/e2e/live-cluster.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { daemonJsonEdit, listedInsecure } from '../../../src/tasks/trust/insecure.js';

const OTHERS = { 'log-driver': 'journald', 'live-restore': true, 'insecure-registries': ['other:5000'] };

describe('daemon.json insecure-registries', () => {
  it('adds the address, keeping every other key and entry', () => {
    const edit = daemonJsonEdit(JSON.stringify(OTHERS), 'master:5000', true)!;
    assert.deepEqual(JSON.parse(edit.text), {
      ...OTHERS,
      'insecure-registries': ['other:5000', 'master:5000'],
    });
    assert.equal(edit.from, 'other:5000');
    assert.equal(daemonJsonEdit(edit.text, 'master:5000', true), undefined, 'a second run changes nothing');
  });
  it('makes the file where there is none', () => {
    const edit = daemonJsonEdit(undefined, 'master:5000', true)!;
    assert.deepEqual(JSON.parse(edit.text), { 'insecure-registries': ['master:5000'] });
  });
  it('takes the address out again, keeping the key so a reload clears it', () => {
    const on = daemonJsonEdit(undefined, 'master:5000', true)!.text;
    const off = daemonJsonEdit(on, 'master:5000', false)!;
    assert.deepEqual(JSON.parse(off.text), { 'insecure-registries': [] });
    assert.equal(daemonJsonEdit(off.text, 'master:5000', false), undefined);
    assert.equal(daemonJsonEdit(undefined, 'master:5000', false), undefined, 'no file, nothing to take out');
  });
  it('refuses a file that is not a JSON object, naming it', () => {
    assert.throws(() => daemonJsonEdit('{"a": ', 'master:5000', true), /daemon\.json is not valid JSON/);
    assert.throws(() => daemonJsonEdit('[]', 'master:5000', true), /does not hold a JSON object/);
    assert.throws(
      () => daemonJsonEdit('{"insecure-registries": "x"}', 'master:5000', true),
      /is not a list of strings/,
    );
  });
});

describe('docker info: the running daemon loaded it', () => {
  const info = (secure: boolean) => ({
    RegistryConfig: {
      IndexConfigs: {
        'docker.io': { Secure: true },
        'master:5000': { Name: 'master:5000', Secure: secure },
      },
    },
  });
  it('true only where the address is listed as not secure', () => {
    assert.equal(listedInsecure(info(false), 'master:5000'), true);
    assert.equal(listedInsecure(info(true), 'master:5000'), false);
    assert.equal(listedInsecure(info(false), 'other:5000'), false);
  });
});
