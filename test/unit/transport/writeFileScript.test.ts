// The write script itself, run by a real sh: what happens when stdin ends early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderCmd } from '../../../src/core/cmd.js';
import { writeFileCmd } from '../../../src/transport/writeFileScript.js';

function runWith(target: string, data: Buffer, sentBytes: Buffer) {
  const line = renderCmd(writeFileCmd(target, data, 0o600, false));
  return spawnSync('sh', ['-c', line], { input: sentBytes, encoding: 'utf8' });
}

test('stdin ending early (an interrupted upload) leaves the old file and no temporary file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regbook-wfs-'));
  const target = join(dir, 'config.yml');
  writeFileSync(target, 'old contents');
  const data = Buffer.alloc(100_000, 'n');
  const r = runWith(target, data, data.subarray(0, 40_000));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /short write .* received 40000 of 100000 bytes/);
  assert.equal(readFileSync(target, 'utf8'), 'old contents');
  assert.deepEqual(readdirSync(dir), ['config.yml']);
});

test('bytes that differ from what was hashed are refused (checksum), old file kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regbook-wfs-'));
  const target = join(dir, 'f');
  writeFileSync(target, 'old');
  const r = runWith(target, Buffer.from('abcdef'), Buffer.from('abcdeX'));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /checksum mismatch/);
  assert.equal(readFileSync(target, 'utf8'), 'old');
  assert.deepEqual(readdirSync(dir), ['f']);
});

test('extra bytes beyond the announced count are not written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regbook-wfs-'));
  const target = join(dir, 'f');
  const r = runWith(target, Buffer.from('abc'), Buffer.from('abcdef'));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(target, 'utf8'), 'abc');
});

test('the script is one sh -c word list: path, size, sha256 and mode are separate argv words', () => {
  const c = writeFileCmd('/etc/x y', Buffer.from('hi'), 0o644, true);
  assert.deepEqual(c.argv.slice(0, 2), ['sh', '-c']);
  assert.deepEqual(c.argv.slice(3), [
    'regbook-write',
    '/etc/x y',
    '2',
    '8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4',
    '0644',
  ]);
  assert.equal(c.privileged, true);
  assert.match(renderCmd(c, { sudo: true }), /^sudo -n -- sh -c /);
});

test('with a directory mode, it is one more argv word, never part of the script text', () => {
  const c = writeFileCmd('/etc/d/f', Buffer.from('hi'), 0o444, true, 0o755);
  assert.deepEqual(c.argv.slice(-2), ['0444', '0755']);
  assert.equal(c.argv.length, writeFileCmd('/etc/d/f', Buffer.from('hi'), 0o444, true).argv.length + 1);
  assert.doesNotMatch(c.argv[2]!, /0755/);
});
