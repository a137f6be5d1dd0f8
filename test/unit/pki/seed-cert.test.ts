import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { certificateVerdict, inspectCert } from '../../../src/pki/index.js';

// A certificate made the way the manual runbook makes it (openssl genrsa / req / x509 -signkey with an
// extfile holding only subjectAltName): regbook must read it and adopt it when it already fits.
const dir = mkdtempSync(join(tmpdir(), 'regbook-seed-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) =>
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
run('genrsa', '-traditional', '-out', 'server.key', '2048');
run('req', '-new', '-key', 'server.key', '-out', 'server.csr', '-subj', '/CN=master');
writeFileSync(join(dir, 'extfile.cnf'), 'subjectAltName=IP:10.0.0.10,IP:127.0.0.1\n');
run(
  'x509',
  '-req',
  '-days',
  '800',
  '-signkey',
  'server.key',
  '-in',
  'server.csr',
  '-out',
  'server.crt',
  '-extfile',
  'extfile.cnf',
);
const seed = {
  keyPem: readFileSync(join(dir, 'server.key'), 'utf8'),
  certPem: readFileSync(join(dir, 'server.crt'), 'utf8'),
};

describe('a certificate made by the manual runbook', () => {
  it('is read: PKCS#1 key, no basicConstraints', () => {
    assert.match(seed.keyPem, /BEGIN RSA PRIVATE KEY/);
    const info = inspectCert(seed.certPem);
    assert.deepEqual(info.sans, ['IP:10.0.0.10', 'IP:127.0.0.1']);
    assert.equal(info.isCa, false);
  });

  const desired = { commonName: 'master', days: 800, renewBeforeDays: 30, mode: 'selfsigned' as const };
  it('is kept in selfsigned mode when subject and SANs already match', () => {
    const v = certificateVerdict({
      desired: { ...desired, subjectAltNames: ['IP:127.0.0.1', 'IP:10.0.0.10'] },
      now: new Date(),
      server: seed,
    });
    assert.deepEqual(v.server, { regenerate: false, reasons: [] });
  });

  it('is replaced when the playbook names other SANs, or when mode is ca', () => {
    const v = certificateVerdict({
      desired: { ...desired, subjectAltNames: ['DNS:master'] },
      now: new Date(),
      server: seed,
    });
    assert.deepEqual(v.server.reasons, ['SANs differ: IP:10.0.0.10, IP:127.0.0.1 → DNS:master']);
    const ca = certificateVerdict({
      desired: { ...desired, mode: 'ca', subjectAltNames: ['IP:127.0.0.1', 'IP:10.0.0.10'] },
      now: new Date(),
      ca: {},
      server: seed,
    });
    assert.ok(ca.ca.regenerate);
    assert.deepEqual(ca.server.reasons, [
      'CA regenerated: the server certificate must be signed by the new CA',
    ]);
  });
});
