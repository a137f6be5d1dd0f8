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

  it('a host known only through @cert-authority is refused with the reason, in strict and accept-new alike', () => {
    for (const mode of ['strict', 'accept-new'] as const) {
      const { hk, file, lines } = check(mode, `# CA\n@cert-authority [10.0.0.*]:2222 ${caKey.line}\n`);
      assert.equal(hk.verify(hostKey.blob), false);
      hk.onHandshake();
      assert.match(
        hk.refusal ?? '',
        new RegExp(`${file}:2 vouches for \\[10\\.0\\.0\\.11\\]:2222 through @cert-authority`),
      );
      assert.match(hk.refusal ?? '', /never \*-cert-v01@openssh\.com/);
      assert.deepEqual(lines, []);
      assert.equal(readFileSync(file, 'utf8').includes(hostKey.line), false, 'nothing recorded');
    }
  });

  it('a plain entry for the host still wins beside a CA line', () => {
    const { hk } = check('strict', `@cert-authority * ${caKey.line}\n[10.0.0.11]:2222 ${hostKey.line}\n`);
    assert.equal(hk.verify(hostKey.blob), true);
  });
});
