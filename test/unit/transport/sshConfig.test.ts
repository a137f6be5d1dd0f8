import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJumpHop, resolveSshConfig } from '../../../src/transport/sshConfig.js';
import { authAttempts, PASSPHRASE_ENV } from '../../../src/transport/sshAuth.js';

const CONFIG = `
Host web*
  HostName 10.1.1.1
  User deploy
  Port 2222
  IdentityFile ~/.ssh/web_key
  ProxyJump ops@bastion.example:2200

Host db1
  HostName 10.2.2.2
  IdentityFile none

Host bastion.example
  User jumper
  IdentityFile /keys/bastion

Host *
  User fallback
  IdentityFile ~/.ssh/id_default
`;

test('Host patterns, first value wins, IdentityFile accumulates, ~ expanded', () => {
  const web = resolveSshConfig(CONFIG, 'web1', '/home/u');
  assert.equal(web.user, 'deploy');
  assert.equal(web.port, 2222);
  assert.deepEqual(web.identityFiles, ['/home/u/.ssh/web_key', '/home/u/.ssh/id_default']);
  assert.deepEqual(web.proxyJump, ['ops@bastion.example:2200']);
  const db = resolveSshConfig(CONFIG, 'db1', '/home/u');
  assert.equal(db.hostName, '10.2.2.2');
  assert.equal(db.user, 'fallback');
  assert.equal(db.port, undefined);
  assert.equal(db.proxyJump, undefined);
  const none = resolveSshConfig('', 'anything', '/home/u');
  assert.deepEqual(none, { identityFiles: [] });
});

test('ProxyJump hops parse user, host and port', () => {
  assert.deepEqual(parseJumpHop('ops@bastion.example:2200'), {
    user: 'ops',
    host: 'bastion.example',
    port: 2200,
  });
  assert.deepEqual(parseJumpHop('bastion'), { host: 'bastion' });
  assert.deepEqual(parseJumpHop('ssh://a@[::1]:22'), { user: 'a', host: '::1', port: 22 });
});

test('Match exec is never run', () => {
  const marker = join(mkdtempSync(join(tmpdir(), 'regbook-sc-')), 'ran');
  const cfg = `Match exec "touch ${marker}"\n  User evil\n`;
  const r = resolveSshConfig(cfg, 'h', '/home/u');
  assert.notEqual(r.user, 'evil');
  assert.throws(() => execFileSync('test', ['-e', marker]));
});

test('auth order: explicit key, agent, default keys; encrypted keys need REGBOOK_SSH_PASSPHRASE', () => {
  const home = mkdtempSync(join(tmpdir(), 'regbook-home-'));
  execFileSync('mkdir', ['-p', join(home, '.ssh')]);
  const plain = join(home, 'plain');
  const enc = join(home, 'enc');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', plain]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'pw', '-f', enc]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(home, '.ssh', 'id_ed25519')]);

  const all = authAttempts([plain, enc, '/missing/key'], { SSH_AUTH_SOCK: '/tmp/agent.sock' }, home);
  assert.deepEqual(
    all.attempts.map((a) => (a.kind === 'agent' ? `agent:${a.socket}` : a.path)),
    [plain, 'agent:/tmp/agent.sock', join(home, '.ssh', 'id_ed25519')],
  );
  assert.ok(all.notes.some((n) => n.includes(enc) && n.includes(`${PASSPHRASE_ENV} is not set`)));
  assert.ok(all.notes.some((n) => n.includes('/missing/key') && n.includes('does not exist')));

  const withPass = authAttempts([enc], { [PASSPHRASE_ENV]: 'pw' }, home);
  const first = withPass.attempts[0];
  assert.equal(first?.kind === 'key' && first.path, enc);
  assert.equal(first?.kind === 'key' && first.passphrase, 'pw');

  const wrong = authAttempts([enc], { [PASSPHRASE_ENV]: 'nope' }, home);
  assert.ok(wrong.notes.some((n) => n.includes('does not decrypt')));
  assert.ok(!wrong.attempts.some((a) => a.kind === 'key' && a.path === enc));
});
