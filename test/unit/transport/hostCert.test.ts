// Host certificates made by OpenSSH's own `ssh-keygen -s`, judged by hostCert.ts: each refusal
// OpenSSH's client makes (user certificate, another name, expired or not yet valid, critical
// options, a SHA-1 RSA CA signature, a tampered certificate, a revoked CA or host key) is made here
// too, with a reason a user can act on.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  checkHostCertificate,
  isCertificateType,
  parseCertificate,
  verifySshSignature,
  type HostCertVerdict,
} from '../../../src/transport/hostCert.js';
import { parseKnownHosts } from '../../../src/transport/knownHosts.js';

const dir = mkdtempSync(join(tmpdir(), 'regbook-hostcert-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function keygen(type: 'ed25519' | 'ecdsa' | 'rsa'): { path: string; line: string; blob: Buffer } {
  const path = join(dir, `k${n++}`);
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(type === 'rsa' ? ['-b', '2048'] : []),
    '-N',
    '',
    '-f',
    path,
  ]);
  const line = readFileSync(`${path}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  return { path, line, blob: Buffer.from(line.split(' ')[1]!, 'base64') };
}

/** Signs a copy of `host`'s public key with `ca` via `ssh-keygen -s`; returns the certificate blob. */
function sign(ca: { path: string }, host: { path: string }, args: string[]): Buffer {
  const copy = join(dir, `c${n++}`);
  execFileSync('cp', [`${host.path}.pub`, `${copy}.pub`]);
  execFileSync('ssh-keygen', ['-q', '-s', ca.path, '-I', 'lab-host', ...args, `${copy}.pub`]);
  return Buffer.from(readFileSync(`${copy}-cert.pub`, 'utf8').split(' ')[1]!, 'base64');
}

const NAME = '[10.0.0.11]:2222';
const ca = keygen('ed25519');
const host = keygen('ed25519');
const trusted = parseKnownHosts(`@cert-authority [10.0.0.*]:2222 ${ca.line}\n`);

function judge(blob: Buffer, entries = trusted, principal = '10.0.0.11'): HostCertVerdict {
  return checkHostCertificate(parseCertificate(blob), entries, NAME, principal);
}
function reasonOf(v: HostCertVerdict): string {
  assert.equal(v.status, 'invalid', JSON.stringify(v));
  return (v as { reason: string }).reason;
}

describe('host certificates', () => {
  it('parses what ssh-keygen -s wrote: type, principals, validity, the certified key and the CA', () => {
    const blob = sign(ca, host, ['-h', '-n', '10.0.0.11,worker1', '-z', '42', '-V', '20200101:20400101']);
    const cert = parseCertificate(blob);
    assert.ok(isCertificateType(cert.certType));
    assert.equal(cert.certType, 'ssh-ed25519-cert-v01@openssh.com');
    assert.equal(cert.type, 2);
    assert.equal(cert.keyId, 'lab-host');
    assert.equal(cert.serial, 42n);
    assert.deepEqual(cert.principals, ['10.0.0.11', 'worker1']);
    assert.ok(cert.publicKey.equals(host.blob), 'the certified key is the host key');
    assert.ok(cert.signatureKey.equals(ca.blob), 'the signing key is the CA');
    assert.equal(cert.signatureAlgorithm, 'ssh-ed25519');
    assert.deepEqual(cert.criticalOptions, []);
  });

  it('a host certificate for the name, signed by a CA trusted for it, is valid', () => {
    const v = judge(sign(ca, host, ['-h', '-n', '10.0.0.11']));
    assert.equal(v.status, 'valid');
    assert.equal(v.status === 'valid' && v.ca.line, 1);
  });

  it('an empty principal list vouches for any name, as OpenSSH accepts it', () => {
    assert.equal(judge(sign(ca, host, ['-h'])).status, 'valid');
  });

  it('a certificate for another name is refused, naming the name and the principals', () => {
    const reason = reasonOf(judge(sign(ca, host, ['-h', '-n', 'worker2,10.0.0.12'])));
    assert.equal(reason, '"10.0.0.11" is not among its principals ("worker2", "10.0.0.12")');
  });

  it('an expired certificate, and one not yet valid, are refused with their dates', () => {
    assert.equal(
      reasonOf(judge(sign(ca, host, ['-h', '-n', '10.0.0.11', '-V', '20000101:20000102']))),
      'it expired at 2000-01-02T00:00:00Z',
    );
    assert.match(
      reasonOf(judge(sign(ca, host, ['-h', '-n', '10.0.0.11', '-V', '+1d:+2d']))),
      /^it is not valid before \d{4}-/,
    );
  });

  it('a user certificate is refused even from a trusted CA', () => {
    assert.equal(
      reasonOf(judge(sign(ca, host, ['-n', '10.0.0.11']))),
      'it is a user certificate, not a host certificate',
    );
  });

  it('a host certificate with critical options is refused', () => {
    assert.match(
      reasonOf(judge(sign(ca, host, ['-h', '-n', '10.0.0.11', '-O', 'critical:foo=bar']))),
      /critical options .*\(foo\)/,
    );
  });

  it('a certificate from a CA that known_hosts does not trust for this name is not vouched for', () => {
    const other = keygen('ed25519');
    assert.equal(judge(sign(other, host, ['-h', '-n', '10.0.0.11'])).status, 'unknown-ca');
    const elsewhere = parseKnownHosts(`@cert-authority *.example ${ca.line}\n`);
    assert.equal(judge(sign(ca, host, ['-h', '-n', '10.0.0.11']), elsewhere).status, 'unknown-ca');
  });

  it('a revoked CA, or a revoked host key, refuses the certificate', () => {
    const blob = sign(ca, host, ['-h', '-n', '10.0.0.11']);
    const caRevoked = judge(blob, parseKnownHosts(`@cert-authority * ${ca.line}\n@revoked * ${ca.line}\n`));
    assert.equal(caRevoked.status, 'revoked');
    assert.equal(caRevoked.status === 'revoked' && caRevoked.what, 'CA key');
    const keyRevoked = judge(
      blob,
      parseKnownHosts(`@cert-authority * ${ca.line}\n@revoked * ${host.line}\n`),
    );
    assert.equal(keyRevoked.status === 'revoked' && keyRevoked.what, 'host key');
  });

  it('a tampered certificate fails the CA signature', () => {
    const blob = sign(ca, host, ['-h', '-n', '10.0.0.11']);
    const at = blob.indexOf(Buffer.from('10.0.0.11'));
    const forged = Buffer.from(blob);
    forged.write('10.0.0.12', at, 'latin1');
    assert.equal(reasonOf(judge(forged, trusted, '10.0.0.12')), 'the CA signature does not verify');
  });

  it('ECDSA and RSA (rsa-sha2-512) CAs and certified keys verify; an RSA CA signing with SHA-1 is refused', () => {
    for (const [caType, hostType] of [
      ['ecdsa', 'rsa'],
      ['rsa', 'ecdsa'],
    ] as const) {
      const c = keygen(caType);
      const h = keygen(hostType);
      const entries = parseKnownHosts(`@cert-authority [10.0.0.11]:2222 ${c.line}\n`);
      const blob = sign(c, h, ['-h', '-n', '10.0.0.11']);
      assert.equal(judge(blob, entries).status, 'valid', `${caType} CA, ${hostType} host key`);
      assert.ok(parseCertificate(blob).publicKey.equals(h.blob));
      if (caType === 'rsa') {
        assert.equal(parseCertificate(blob).signatureAlgorithm, 'rsa-sha2-512');
        const sha1 = sign(c, h, ['-h', '-n', '10.0.0.11', '-t', 'ssh-rsa']);
        assert.equal(parseCertificate(sha1).signatureAlgorithm, 'ssh-rsa');
        assert.match(reasonOf(judge(sha1, entries)), /ssh-rsa \(RSA with SHA-1\)/);
      }
    }
  });

  it('a truncated certificate or a plain key is a format error, not a crash', () => {
    const blob = sign(ca, host, ['-h', '-n', '10.0.0.11']);
    assert.throws(() => parseCertificate(blob.subarray(0, blob.length - 10)), /truncated certificate/);
    assert.throws(() => parseCertificate(host.blob), /is not a certificate/);
    assert.equal(
      verifySshSignature(ca.blob, Buffer.alloc(3), Buffer.from('x')),
      'the CA signature is malformed',
    );
  });
});
