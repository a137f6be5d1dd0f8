import { createPrivateKey } from 'node:crypto';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CertificateParseError,
  KeyParseError,
  createCa,
  createServerCert,
  generateRsaKeyPem,
  generateRsaKeyPemAsync,
  inspectCert,
  keyMatchesCert,
  verifySignedBy,
} from '../../../src/pki/index.js';

const dir = mkdtempSync(join(tmpdir(), 'regbook-pki-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const now = new Date();
const ca = createCa({
  commonName: 'master',
  subjectAltNames: ['DNS:Master', 'IP:10.0.0.10', 'IP:127.0.0.1', 'IP:::1', 'DNS:registry.test'],
  days: 3650,
  keyBits: 2048,
});
const server = createServerCert({
  commonName: 'master',
  subjectAltNames: ['DNS:Master', 'IP:10.0.0.10', 'IP:127.0.0.1', 'IP:::1', 'DNS:registry.test'],
  days: 800,
  keyBits: 2048,
  ca,
  now,
});
const self = createServerCert({
  commonName: 'master',
  subjectAltNames: ['DNS:master', 'IP:127.0.0.1'],
  days: 800,
  keyBits: 2048,
});

describe('createCa', () => {
  it('is a CA OpenSSL recognises: CA:TRUE critical, keyCertSign + cRLSign, a subject key id', () => {
    const text = openssl('x509', '-in', file('ca.crt', ca.certPem), '-noout', '-text');
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    assert.match(text, /X509v3 Subject Key Identifier/);
    assert.match(text, /Subject: CN\s?=\s?master regbook CA/);
    // Self-signed: verifies against itself.
    assert.match(
      openssl('verify', '-CAfile', file('ca2.crt', ca.certPem), file('ca3.crt', ca.certPem)),
      /: OK/,
    );
  });

  it('reports itself through inspectCert', () => {
    const info = inspectCert(ca.certPem);
    assert.equal(info.isCa, true);
    assert.equal(info.subjectCN, 'master regbook CA');
    assert.equal(info.issuerCN, 'master regbook CA');
    assert.ok(keyMatchesCert(ca.keyPem, ca.certPem));
  });
});

describe('createServerCert signed by the CA', () => {
  it('OpenSSL verifies the chain and reads every SAN kind', () => {
    const certPath = file('server.crt', server.certPem);
    assert.match(openssl('verify', '-CAfile', file('ca.crt', ca.certPem), certPath), /server\.crt: OK/);
    const text = openssl('x509', '-in', certPath, '-noout', '-text');
    assert.match(text, /DNS:master/);
    assert.match(text, /DNS:registry\.test/);
    assert.match(text, /IP Address:10\.0\.0\.10/);
    assert.match(text, /IP Address:127\.0\.0\.1/);
    assert.match(text, /IP Address:0:0:0:0:0:0:0:1/);
    assert.match(text, /TLS Web Server Authentication/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
    assert.match(text, /CA:FALSE/);
    assert.match(text, /X509v3 Authority Key Identifier/);
    assert.match(text, /Issuer: CN\s?=\s?master regbook CA/);
    // The host-name check OpenSSL does for a TLS client.
    assert.match(
      openssl('verify', '-CAfile', join(dir, 'ca.crt'), '-verify_hostname', 'registry.test', certPath),
      /OK/,
    );
    assert.match(openssl('verify', '-CAfile', join(dir, 'ca.crt'), '-verify_ip', '::1', certPath), /OK/);
    assert.throws(() =>
      openssl('verify', '-CAfile', join(dir, 'ca.crt'), '-verify_hostname', 'other.test', certPath),
    );
  });

  it('its AKI is the CA SKI', () => {
    const caText = openssl('x509', '-in', join(dir, 'ca.crt'), '-noout', '-ext', 'subjectKeyIdentifier');
    const srvText = openssl(
      'x509',
      '-in',
      join(dir, 'server.crt'),
      '-noout',
      '-ext',
      'authorityKeyIdentifier',
    );
    const ski = /([0-9A-F]{2}(:[0-9A-F]{2}){19})/.exec(caText)?.[1];
    assert.ok(ski, caText);
    assert.ok(srvText.includes(ski), srvText);
  });

  it('inspectCert normalises SANs and dates, fingerprints the DER like OpenSSL', () => {
    const info = inspectCert(server.certPem);
    assert.deepEqual(
      [...info.sans].sort(),
      ['DNS:master', 'DNS:registry.test', 'IP:10.0.0.10', 'IP:127.0.0.1', 'IP:::1'].sort(),
    );
    assert.equal(info.subjectCN, 'master');
    assert.equal(info.issuerCN, 'master regbook CA');
    assert.equal(info.isCa, false);
    const days = (info.notAfter.getTime() - now.getTime()) / 86_400_000;
    assert.ok(Math.abs(days - 800) < 0.01, String(days));
    assert.ok(info.notBefore.getTime() <= now.getTime());
    const fp = openssl('x509', '-in', join(dir, 'server.crt'), '-noout', '-fingerprint', '-sha256');
    assert.equal(fp.trim().split('=')[1], info.fingerprintSha256);
  });

  it('serial numbers are 16-byte positive and differ between certificates', () => {
    const serial = (pem: string) =>
      openssl('x509', '-in', file('s.crt', pem), '-noout', '-serial').trim().split('=')[1]!;
    const a = serial(server.certPem);
    const b = serial(self.certPem);
    assert.notEqual(a, b);
    assert.equal(a.length, 32);
    assert.ok(parseInt(a.slice(0, 2), 16) < 0x80 && parseInt(a.slice(0, 2), 16) > 0);
  });

  it('keyMatchesCert and verifySignedBy tell the right pairs apart', () => {
    assert.ok(keyMatchesCert(server.keyPem, server.certPem));
    assert.ok(!keyMatchesCert(ca.keyPem, server.certPem));
    assert.ok(verifySignedBy(server.certPem, ca.certPem));
    assert.ok(!verifySignedBy(server.certPem, self.certPem));
    assert.ok(!verifySignedBy(self.certPem, ca.certPem));
  });

  it('reuses a given key: same public-key fingerprint, new certificate', () => {
    const renewed = createServerCert({
      commonName: 'master',
      subjectAltNames: ['DNS:master'],
      days: 10,
      keyBits: 2048,
      ca,
      keyPem: server.keyPem,
    });
    assert.equal(renewed.keyPem, server.keyPem);
    assert.equal(
      inspectCert(renewed.certPem).publicKeyFingerprint,
      inspectCert(server.certPem).publicKeyFingerprint,
    );
    assert.notEqual(
      inspectCert(renewed.certPem).fingerprintSha256,
      inspectCert(server.certPem).fingerprintSha256,
    );
  });

  it('refuses a CA key that does not belong to the CA certificate', () => {
    assert.throws(
      () =>
        createServerCert({
          commonName: 'x',
          subjectAltNames: ['DNS:x'],
          days: 1,
          keyBits: 2048,
          ca: { keyPem: server.keyPem, certPem: ca.certPem },
        }),
      /CA key does not belong/,
    );
  });
});

describe('createServerCert self-signed', () => {
  it('is its own trust anchor for OpenSSL, with SANs and serverAuth', () => {
    const p = file('self.crt', self.certPem);
    assert.match(openssl('verify', '-CAfile', p, '-verify_ip', '127.0.0.1', p), /OK/);
    const text = openssl('x509', '-in', p, '-noout', '-text');
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.doesNotMatch(text, /Certificate Sign/);
    assert.match(text, /TLS Web Server Authentication/);
    assert.match(text, /DNS:master, IP Address:127\.0\.0\.1/);
    const info = inspectCert(self.certPem);
    assert.equal(info.subjectCN, info.issuerCN);
    assert.ok(verifySignedBy(self.certPem, self.certPem));
  });
});

/** A leaf for `sans`, signed by `issuer` (its key and certificate), made with the openssl CLI. */
function opensslLeaf(name: string, issuer: { keyPem: string; certPem: string }, san: string): string {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = file(`${name}.ext`, `subjectAltName=${san}\nbasicConstraints=critical,CA:FALSE\n`);
  openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', '/CN=leaf', '-out', csr);
  const crt = join(dir, `${name}.crt`);
  openssl(
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    file(`${name}-issuer.crt`, issuer.certPem),
    '-CAkey',
    file(`${name}-issuer.key`, issuer.keyPem),
    '-set_serial',
    '7',
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    crt,
  );
  return crt;
}

describe('the trust anchor vouches for the registry only', () => {
  const caPath = () => file('anchor-ca.crt', ca.certPem);

  it('the CA carries critical name constraints for exactly the SANs and a path length of 0', () => {
    const text = openssl('x509', '-in', caPath(), '-noout', '-text');
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(
      text,
      /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:master\s+DNS:registry\.test\s+IP:10\.0\.0\.10\/255\.255\.255\.255\s+IP:127\.0\.0\.1\/255\.255\.255\.255\s+IP:0:0:0:0:0:0:0:1\/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF/,
    );
    assert.deepEqual(inspectCert(ca.certPem).nameConstraints, {
      permitted: ['DNS:master', 'DNS:registry.test', 'IP:10.0.0.10', 'IP:127.0.0.1', 'IP:::1'],
      excluded: [],
    });
  });

  it('a leaf for github.com signed with the CA key fails openssl verify; one for the registry passes', () => {
    const github = opensslLeaf('github', ca, 'DNS:github.com');
    assert.throws(
      () => openssl('verify', '-CAfile', caPath(), github),
      (err: { stdout?: string; stderr?: string }) =>
        /permitted subtree violation/.test(`${err.stdout}${err.stderr}`),
    );
    const ip = opensslLeaf('otherip', ca, 'IP:192.0.2.1');
    assert.throws(() => openssl('verify', '-CAfile', caPath(), ip));
    const ours = opensslLeaf('ours', ca, 'DNS:registry.test,IP:127.0.0.1');
    assert.match(openssl('verify', '-CAfile', caPath(), ours), /: OK/);
  });

  it('a DNS-only CA excludes every IP address, an IP-only CA every DNS name', () => {
    const dnsOnly = createCa({ commonName: 'm', subjectAltNames: ['DNS:m'], days: 2, keyBits: 2048 });
    const p = file('dnsonly.crt', dnsOnly.certPem);
    assert.throws(() => openssl('verify', '-CAfile', p, opensslLeaf('dnsonly-ip', dnsOnly, 'IP:192.0.2.1')));
    assert.match(openssl('verify', '-CAfile', p, opensslLeaf('dnsonly-m', dnsOnly, 'DNS:m')), /: OK/);
    const ipOnly = createCa({ commonName: 'm', subjectAltNames: ['IP:10.0.0.1'], days: 2, keyBits: 2048 });
    const q = file('iponly.crt', ipOnly.certPem);
    assert.throws(() => openssl('verify', '-CAfile', q, opensslLeaf('iponly-dns', ipOnly, 'DNS:github.com')));
    assert.match(openssl('verify', '-CAfile', q, opensslLeaf('iponly-ip', ipOnly, 'IP:10.0.0.1')), /: OK/);
  });

  it('a sub-CA signed with the CA key cannot issue (pathlen 0)', () => {
    const key = join(dir, 'sub.key');
    const csr = join(dir, 'sub.csr');
    const ext = file('sub.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n');
    openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', '/CN=sub', '-out', csr);
    const sub = join(dir, 'sub.crt');
    openssl(
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      caPath(),
      '-CAkey',
      file('sub-ca.key', ca.keyPem),
      '-set_serial',
      '9',
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      sub,
    );
    const leaf = opensslLeaf(
      'via-sub',
      { keyPem: readFileSync(key, 'utf8'), certPem: readFileSync(sub, 'utf8') },
      'DNS:master',
    );
    assert.throws(
      () => openssl('verify', '-CAfile', caPath(), '-untrusted', sub, leaf),
      (err: { stdout?: string; stderr?: string }) => /path length/.test(`${err.stdout}${err.stderr}`),
    );
  });

  it("the self-signed certificate's key cannot vouch for another name", () => {
    const selfAnchor = file('self-anchor.crt', self.certPem);
    assert.throws(() =>
      openssl('verify', '-CAfile', selfAnchor, opensslLeaf('self-github', self, 'DNS:github.com')),
    );
  });
});

describe('bad input', () => {
  it('inspectCert throws CertificateParseError on garbage and on a truncated PEM', () => {
    assert.throws(() => inspectCert('hello'), CertificateParseError);
    const truncated = server.certPem.split('\n').slice(0, 6).join('\n') + '\n-----END CERTIFICATE-----\n';
    assert.throws(() => inspectCert(truncated), CertificateParseError);
  });

  it('keyMatchesCert throws KeyParseError on a bad key', () => {
    assert.throws(() => keyMatchesCert('nope', server.certPem), KeyParseError);
  });

  it('a non-RSA key cannot be reused for signing', () => {
    const ec = execFileSync(
      'openssl',
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      {
        encoding: 'utf8',
      },
    );
    assert.throws(
      () =>
        createServerCert({ commonName: 'x', subjectAltNames: ['DNS:x'], days: 1, keyBits: 2048, keyPem: ec }),
      KeyParseError,
    );
  });

  it('makes keys off the main thread: distinct 2048-bit keys a certificate can be made with', async () => {
    const [a, b] = await Promise.all([generateRsaKeyPemAsync(2048), generateRsaKeyPemAsync(2048)]);
    assert.notEqual(a, b);
    assert.equal(createPrivateKey(a).asymmetricKeyDetails?.modulusLength, 2048);
    const ca = createCa({ commonName: 'm', subjectAltNames: ['DNS:m'], days: 10, keyBits: 2048, keyPem: a });
    const server = createServerCert({
      commonName: 'm',
      subjectAltNames: ['DNS:m'],
      days: 10,
      keyBits: 2048,
      keyPem: b,
      ca,
    });
    assert.ok(keyMatchesCert(b, server.certPem));
    assert.ok(verifySignedBy(server.certPem, ca.certPem));
  });

  it('rejects a key size below 2048 and a certificate without SANs', () => {
    assert.throws(() => generateRsaKeyPem(1024));
    assert.throws(() => generateRsaKeyPemAsync(1024));
    assert.throws(() => createServerCert({ commonName: 'x', subjectAltNames: [], days: 1, keyBits: 2048 }));
  });
});
