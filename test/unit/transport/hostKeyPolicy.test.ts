// The host key decisions and what they tell the user, on real ed25519 keys and real known_hosts
// files; the lab's transport and e2e tests prove the same against OpenSSH servers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hostKeyCheck } from '../../../src/transport/hostKeyPolicy.js';
import { fingerprintSha256 } from '../../../src/transport/knownHosts.js';

const dir = mkdtempSync(join(tmpdir(), 'regbook-hostkey-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function keygen(name: string): { blob: Buffer; line: string } {
  const f = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]);
  const [type, b64] = readFileSync(`${f}.pub`, 'utf8').split(' ');
  return { blob: Buffer.from(b64!, 'base64'), line: `${type} ${b64}` };
}

const hostKey = keygen('host');
const caKey = keygen('ca');

/** The host key certified by the CA with `ssh-keygen -s` and these options: the certificate blob. */
function certify(args: string[]): Buffer {
  const f = join(dir, `cert-${Math.random().toString(36).slice(2)}`);
  writeFileSync(`${f}.pub`, readFileSync(join(dir, 'host.pub')));
  execFileSync('ssh-keygen', ['-q', '-s', join(dir, 'ca'), '-I', 'lab', ...args, `${f}.pub`]);
  return Buffer.from(readFileSync(`${f}-cert.pub`, 'utf8').split(' ')[1]!, 'base64');
}

function check(mode: 'strict' | 'accept-new' | 'off', knownHosts: string, record?: boolean) {
  const file = join(dir, `kh-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, knownHosts);
  const lines: string[] = [];
  const hk = hostKeyCheck({
    hostName: 'worker1',
    address: '10.0.0.11',
    port: 2222,
    file,
    mode,
    ...(record === undefined ? {} : { record }),
    warn: (l) => lines.push(l),
  });
  return { hk, file, lines };
}

describe('host key policy', () => {
  const fp = fingerprintSha256(hostKey.blob);

  it('accept-new records an unknown key after the handshake and prints its SHA256 fingerprint', () => {
    const { hk, file, lines } = check('accept-new', '');
    assert.equal(hk.verify(hostKey.blob), true);
    assert.equal(readFileSync(file, 'utf8'), '', 'nothing before the handshake');
    hk.onHandshake();
    assert.equal(readFileSync(file, 'utf8'), `[10.0.0.11]:2222 ${hostKey.line}\n`);
    assert.deepEqual(lines, [
      `Warning: Permanently added '[10.0.0.11]:2222' (ED25519) to the list of known hosts (${file}); ` +
        `worker1's host key fingerprint is ${fp}.`,
    ]);
  });

  it('accept-new in check mode accepts for this connection only, records nothing and says so', () => {
    const { hk, file, lines } = check('accept-new', '', false);
    assert.equal(hk.verify(hostKey.blob), true);
    hk.onHandshake();
    assert.equal(readFileSync(file, 'utf8'), '');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /accepting the unknown host key of \[10\.0\.0\.11\]:2222 for this check only/);
    assert.ok(lines[0]!.includes(fp));
  });

  it('off accepts any key and warns on every connection, naming the key it did not verify', () => {
    const { hk, lines } = check('off', '');
    assert.equal(hk.verify(hostKey.blob), true);
    assert.equal(hk.verify(caKey.blob), true);
    assert.equal(lines.length, 2);
    for (const l of lines)
      assert.match(
        l,
        /^Warning: worker1: hostKeyChecking is off; the host key of \[10\.0\.0\.11\]:2222 is not verified/,
      );
  });

  it('a host known only through @cert-authority that shows a plain key is refused with the reason, in strict and accept-new alike', () => {
    for (const mode of ['strict', 'accept-new'] as const) {
      const { hk, file, lines } = check(mode, `# CA\n@cert-authority [10.0.0.*]:2222 ${caKey.line}\n`);
      assert.equal(hk.verify(hostKey.blob), false);
      hk.onHandshake();
      assert.match(
        hk.refusal ?? '',
        new RegExp(`${file}:2 vouches for \\[10\\.0\\.0\\.11\\]:2222 through @cert-authority`),
      );
      assert.match(hk.refusal ?? '', /the host presented a plain key, not a certificate/);
      assert.deepEqual(lines, []);
      assert.equal(readFileSync(file, 'utf8').includes(hostKey.line), false, 'nothing recorded');
    }
  });

  it('host certificate algorithms are offered first only when a CA line covers the host', () => {
    const withCa = check(
      'strict',
      `@cert-authority [10.0.0.*]:2222 ${caKey.line}\n[10.0.0.11]:2222 ${hostKey.line}\n`,
    );
    assert.equal(withCa.hk.serverHostKey?.[0], 'ssh-ed25519-cert-v01@openssh.com');
    assert.deepEqual(withCa.hk.serverHostKey?.slice(-1), ['ssh-ed25519'], 'then the plain key held');
    const onlyCa = check('strict', `@cert-authority [10.0.0.*]:2222 ${caKey.line}\n`);
    assert.ok(onlyCa.hk.serverHostKey?.includes('ssh-ed25519'), "then ssh2's plain defaults");
    const plain = check('strict', `[10.0.0.11]:2222 ${hostKey.line}\n@cert-authority other ${caKey.line}\n`);
    assert.deepEqual(plain.hk.serverHostKey, ['ssh-ed25519']);
  });

  it('a host certificate signed by the CA for the address is accepted, and accept-new records nothing', () => {
    const cert = certify(['-h', '-n', '10.0.0.11']);
    for (const mode of ['strict', 'accept-new'] as const) {
      const { hk, file, lines } = check(mode, `@cert-authority [10.0.0.*]:2222 ${caKey.line}\n`);
      assert.equal(hk.verify(cert), true, hk.refusal);
      hk.onHandshake();
      assert.deepEqual(lines, []);
      assert.equal(readFileSync(file, 'utf8').split('\n').length, 2, 'known_hosts unchanged');
    }
  });

  it('a certificate for another host is refused with the reason, in strict and accept-new alike', () => {
    const cert = certify(['-h', '-n', 'worker2']);
    for (const mode of ['strict', 'accept-new'] as const) {
      const { hk, file } = check(mode, `@cert-authority [10.0.0.*]:2222 ${caKey.line}\n`);
      assert.equal(hk.verify(cert), false);
      assert.match(
        hk.refusal ?? '',
        new RegExp(
          `the host certificate presented by \\[10\\.0\\.0\\.11\\]:2222 is not valid for it: ` +
            `"10\\.0\\.0\\.11" is not among its principals \\("worker2"\\) \\(CA trusted at ${file}:1\\)`,
        ),
      );
      assert.match(hk.refusal ?? '', /certificate "lab" serial 0 for worker2/);
      hk.onHandshake();
      assert.equal(readFileSync(file, 'utf8').includes(hostKey.line), false, 'nothing recorded');
    }
  });

  it('as OpenSSH does, a certificate no CA vouches for falls back to its plain key: known, it is accepted; another known key is a change', () => {
    const cert = certify(['-h', '-n', 'worker2']);
    const known = check('strict', `@cert-authority * ${caKey.line}\n[10.0.0.11]:2222 ${hostKey.line}\n`);
    assert.equal(known.hk.verify(cert), true, known.hk.refusal);
    const changed = check('strict', `@cert-authority * ${caKey.line}\n[10.0.0.11]:2222 ${caKey.line}\n`);
    assert.equal(changed.hk.verify(cert), false);
    assert.match(changed.hk.refusal ?? '', /HOST KEY CHANGED/);
    assert.ok(changed.hk.refusal?.includes(`presented: ${fp} (ssh-ed25519, certified)`), changed.hk.refusal);
    assert.match(changed.hk.refusal ?? '', /not among its principals/);
  });

  it('a revoked CA refuses its certificates outright', () => {
    const cert = certify(['-h', '-n', '10.0.0.11']);
    const { hk, file } = check('accept-new', `@cert-authority * ${caKey.line}\n@revoked * ${caKey.line}\n`);
    assert.equal(hk.verify(cert), false);
    assert.match(
      hk.refusal ?? '',
      new RegExp(`the CA key of the host certificate .* is marked @revoked in ${file}:2`),
    );
  });

  it('a plain entry for the host still wins beside a CA line', () => {
    const { hk } = check('strict', `@cert-authority * ${caKey.line}\n[10.0.0.11]:2222 ${hostKey.line}\n`);
    assert.equal(hk.verify(hostKey.blob), true);
  });
});
