import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkHostKey,
  fingerprintSha256,
  hashKnownHostsName,
  hostFieldMatches,
  hostKeyAlgorithmsFor,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
} from '../../../src/transport/knownHosts.js';

const dir = mkdtempSync(join(tmpdir(), 'regbook-kh-'));

/** A fresh public key made by ssh-keygen: its blob and its `type base64` text. */
function newKey(type: 'ed25519' | 'ecdsa' | 'rsa'): { blob: Buffer; text: string; file: string } {
  const file = join(dir, `k${Math.random().toString(36).slice(2)}`);
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(type === 'rsa' ? ['-b', '1024'] : []),
    '-N',
    '',
    '-f',
    file,
  ]);
  const [kt, b64] = readFileSync(`${file}.pub`, 'utf8').split(' ');
  return { blob: Buffer.from(b64 ?? '', 'base64'), text: `${kt} ${b64}`, file: `${file}.pub` };
}

const a = newKey('ed25519');
const b = newKey('ed25519');
const r = newKey('rsa');

test('knownHostsName uses [host]:port for ports other than 22', () => {
  assert.equal(knownHostsName('example.org', 22), 'example.org');
  assert.equal(knownHostsName('127.0.0.1', 2222), '[127.0.0.1]:2222');
});

test('parse skips comments, blank and malformed lines and keeps line numbers and markers', () => {
  const text = [
    '# comment',
    '',
    `host1 ${a.text}`,
    'garbage-line-without-key',
    `@revoked * ${b.text}`,
    `@cert-authority *.example ${r.text}`,
    `@bogus host ${a.text}`,
    `host2 ssh-ed25519 not*base64`,
  ].join('\n');
  const entries = parseKnownHosts(text);
  assert.deepEqual(
    entries.map((e) => [e.line, e.marker ?? '', e.hosts, e.keyType]),
    [
      [3, '', 'host1', 'ssh-ed25519'],
      [5, '@revoked', '*', 'ssh-ed25519'],
      [6, '@cert-authority', '*.example', 'ssh-rsa'],
    ],
  );
  assert.ok(entries[0]?.key.equals(a.blob));
});

test('host field matching: plain names, comma lists, [host]:port, wildcards and negation', () => {
  const table: Array<[string, string, boolean]> = [
    ['example.org', 'example.org', true],
    ['EXAMPLE.org', 'example.org', true],
    ['example.org', 'other.org', false],
    ['a.org,example.org,10.0.0.1', 'example.org', true],
    ['a.org,10.0.0.1', '10.0.0.1', true],
    ['[127.0.0.1]:2222', '[127.0.0.1]:2222', true],
    ['[127.0.0.1]:2222', '127.0.0.1', false],
    ['127.0.0.1', '[127.0.0.1]:2222', false],
    ['[127.0.0.1]:2222', '[127.0.0.1]:2223', false],
    ['*.example.org', 'web.example.org', true],
    ['*.example.org', 'example.org', false],
    ['web?.example.org', 'web1.example.org', true],
    ['*.example.org,!db.example.org', 'db.example.org', false],
    ['*.example.org,!db.example.org', 'web.example.org', true],
    ['a.b', 'aXb', false], // the dot is literal
    ['Web.Example.ORG', 'web.example.org', true], // host names compare without case
    ['*.EXAMPLE.org', 'web.example.ORG', true],
    ['w*b.example.org', 'web.example.org', true], // a compiled pattern is reused for other names
    ['w*b.example.org', 'wb.example.org', true],
    ['w*b.example.org', 'web.example.com', false],
  ];
  for (const [field, name, want] of table)
    assert.equal(hostFieldMatches(field, name), want, `${field} ~ ${name}`);
});

test('hashed entries written by ssh-keygen -H match the name they hash, plain and [host]:port', () => {
  const file = join(dir, 'known_hosts_hashed');
  writeFileSync(file, `example.org ${a.text}\n[127.0.0.1]:2222 ${b.text}\n`);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
  const entries = parseKnownHosts(readFileSync(file, 'utf8'));
  assert.equal(entries.length, 2);
  assert.ok(
    entries.every((e) => e.hosts.startsWith('|1|')),
    'ssh-keygen -H hashed every name',
  );
  assert.equal(checkHostKey(entries, 'example.org', a.blob).status, 'match');
  assert.equal(checkHostKey(entries, '[127.0.0.1]:2222', b.blob).status, 'match');
  assert.equal(checkHostKey(entries, '127.0.0.1', b.blob).status, 'unknown');
  assert.equal(checkHostKey(entries, 'example.org', b.blob).status, 'changed');
  assert.equal(checkHostKey(entries, 'other.org', a.blob).status, 'unknown');
});

test('our own hashing agrees with ssh-keygen -F lookups', () => {
  const file = join(dir, 'known_hosts_ours');
  writeFileSync(file, `${hashKnownHostsName('[10.1.2.3]:2200')} ${a.text}\n`);
  const found = execFileSync('ssh-keygen', ['-F', '[10.1.2.3]:2200', '-f', file], { encoding: 'utf8' });
  assert.match(found, /Host \[10\.1\.2\.3\]:2200 found/);
});

test('verdicts: match, changed (with every expected entry), unknown, revoked wins over a listed key', () => {
  const entries = parseKnownHosts(
    [`h1 ${a.text}`, `h1 ${r.text}`, `h2,h3 ${b.text}`, `@revoked h4 ${r.text}`, `h4 ${r.text}`].join('\n'),
  );
  assert.equal(checkHostKey(entries, 'h1', a.blob).status, 'match');
  assert.equal(checkHostKey(entries, 'h1', r.blob).status, 'match');
  const changed = checkHostKey(entries, 'h1', b.blob);
  assert.equal(changed.status, 'changed');
  assert.deepEqual(changed.status === 'changed' && changed.expected.map((e) => e.line), [1, 2]);
  assert.equal(checkHostKey(entries, 'h3', b.blob).status, 'match');
  assert.equal(checkHostKey(entries, 'nowhere', a.blob).status, 'unknown');
  assert.equal(checkHostKey(entries, 'h4', r.blob).status, 'revoked');
  // @revoked applies to the hosts its pattern names (as in OpenSSH); `*` revokes everywhere.
  assert.equal(checkHostKey(entries, 'h1', r.blob).status, 'match');
  const everywhere = parseKnownHosts([`h1 ${a.text}`, `@revoked * ${a.text}`].join('\n'));
  assert.equal(checkHostKey(everywhere, 'h1', a.blob).status, 'revoked');
});

test('@cert-authority lines neither match nor make a host "changed"', () => {
  const entries = parseKnownHosts(`@cert-authority h1 ${a.text}`);
  assert.equal(checkHostKey(entries, 'h1', a.blob).status, 'unknown');
  assert.deepEqual(knownKeyTypes(entries, 'h1'), []);
});

test('key types restrict the host key algorithms; RSA allows its three signature algorithms', () => {
  const e = newKey('ecdsa');
  const entries = parseKnownHosts(
    [`h ${e.text}`, `h ${r.text}`, `h ${a.text}`, `other ${a.text}`].join('\n'),
  );
  assert.deepEqual(knownKeyTypes(entries, 'h'), ['ecdsa-sha2-nistp256', 'ssh-rsa', 'ssh-ed25519']);
  assert.deepEqual(hostKeyAlgorithmsFor(knownKeyTypes(entries, 'h')), [
    'ecdsa-sha2-nistp256',
    'rsa-sha2-512',
    'rsa-sha2-256',
    'ssh-rsa',
    'ssh-ed25519',
  ]);
  assert.deepEqual(hostKeyAlgorithmsFor(knownKeyTypes(entries, 'unknown')), []);
  assert.equal(keyTypeOfBlob(e.blob), 'ecdsa-sha2-nistp256');
});

test('fingerprints have the format and value ssh-keygen -l prints', () => {
  for (const k of [a, r]) {
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', k.file], { encoding: 'utf8' });
    const expected = out.split(' ')[1];
    assert.match(fingerprintSha256(k.blob), /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(fingerprintSha256(k.blob), expected);
  }
});
