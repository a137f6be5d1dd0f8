import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import forge from 'node-forge';
import {
  certificateVerdict,
  createCa,
  createServerCert,
  generateRsaKeyPem,
  type DesiredCertificate,
  type PemFiles,
} from '../../../src/pki/index.js';

const DAY = 86_400_000;
const now = new Date('2030-06-01T00:00:00Z');
const sans = ['DNS:master', 'IP:127.0.0.1'];
const desired: DesiredCertificate = {
  commonName: 'master',
  subjectAltNames: sans,
  days: 800,
  renewBeforeDays: 30,
  mode: 'ca',
};

// Keys are generated once; certificates reuse them so the table stays fast.
const caKey = generateRsaKeyPem(2048);
const otherKey = generateRsaKeyPem(2048);
const serverKey = generateRsaKeyPem(2048);

const ca = createCa({
  commonName: 'master',
  subjectAltNames: sans,
  days: 3650,
  keyBits: 2048,
  keyPem: caKey,
  now,
});
const otherCa = createCa({
  commonName: 'master',
  subjectAltNames: sans,
  days: 3650,
  keyBits: 2048,
  keyPem: otherKey,
  now,
});
const expiringCa = createCa({
  commonName: 'master',
  subjectAltNames: sans,
  days: 3650,
  keyBits: 2048,
  keyPem: caKey,
  now: new Date(now.getTime() - 3640 * DAY),
});
/**
 * A CA as regbook made it before name constraints: CA:true, keyCertSign, nothing else; with
 * `asServer`, the self-signed server certificate of those versions (CN master, the SANs, also CA:true).
 */
function unconstrained(keyPem: string, asServer = false): { keyPem: string; certPem: string } {
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(now.getTime() - DAY);
  cert.validity.notAfter = new Date(now.getTime() + 3650 * DAY);
  const subject = [{ name: 'commonName', value: asServer ? 'master' : 'master regbook CA' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    ...(asServer
      ? [
          {
            name: 'subjectAltName',
            altNames: [
              { type: 2, value: 'master' },
              { type: 7, ip: '127.0.0.1' },
            ],
          },
        ]
      : []),
  ]);
  cert.sign(key, forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}
const unconstrainedCa = unconstrained(caKey);
const notACa = createServerCert({
  commonName: 'master',
  subjectAltNames: sans,
  days: 800,
  keyBits: 2048,
  keyPem: caKey,
  ca,
  now,
});

function server(over: Partial<Parameters<typeof createServerCert>[0]> = {}): {
  keyPem: string;
  certPem: string;
} {
  return createServerCert({
    commonName: 'master',
    subjectAltNames: sans,
    days: 800,
    keyBits: 2048,
    keyPem: serverKey,
    ca,
    now,
    ...over,
  });
}
const good = server();
const selfSigned = createServerCert({
  commonName: 'master',
  subjectAltNames: sans,
  days: 800,
  keyBits: 2048,
  keyPem: serverKey,
  now,
});

interface Row {
  name: string;
  mode?: 'ca' | 'selfsigned';
  desired?: Partial<DesiredCertificate>;
  ca?: PemFiles;
  server: PemFiles;
  /** Expected reason patterns, in order; [] = keep. */
  caReasons?: RegExp[];
  serverReasons: RegExp[];
}

const rows: Row[] = [
  { name: 'everything in place', ca, server: good, caReasons: [], serverReasons: [] },
  {
    name: 'SAN order, case and IP spelling do not matter',
    desired: { subjectAltNames: ['IP:127.0.0.1', 'dns:MASTER'] },
    ca,
    server: good,
    serverReasons: [],
  },
  {
    name: 'nothing there yet',
    ca: {},
    server: {},
    caReasons: [/^CA certificate missing$/, /^CA key missing$/],
    serverReasons: [/^server certificate missing$/, /^server key missing$/],
  },
  {
    name: 'server key missing',
    ca,
    server: { certPem: good.certPem },
    serverReasons: [/^server key missing$/],
  },
  {
    name: 'server certificate garbage',
    ca,
    server: { keyPem: good.keyPem, certPem: 'garbage' },
    serverReasons: [/^server certificate unparsable: /],
  },
  {
    name: 'server key garbage',
    ca,
    server: { keyPem: 'garbage', certPem: good.certPem },
    serverReasons: [/^server key unparsable$/],
  },
  {
    name: 'key of another certificate',
    ca,
    server: { keyPem: otherKey, certPem: good.certPem },
    serverReasons: [/^server key\/certificate mismatch$/],
  },
  {
    name: 'a SAN added in the playbook',
    desired: { subjectAltNames: [...sans, 'IP:10.0.0.10'] },
    ca,
    server: good,
    caReasons: [
      /^CA name constraints differ from the SANs: DNS:master, IP:127\.0\.0\.1 → DNS:master, IP:10\.0\.0\.10, IP:127\.0\.0\.1$/,
    ],
    serverReasons: [
      /^SANs differ: DNS:master, IP:127\.0\.0\.1 → DNS:master, IP:10\.0\.0\.10, IP:127\.0\.0\.1$/,
      /^CA regenerated/,
    ],
  },
  {
    name: 'commonName changed',
    desired: { commonName: 'registry' },
    ca,
    server: good,
    serverReasons: [/^subject differs: CN "master" → "registry"$/],
  },
  {
    name: 'server expires in 10 days',
    ca,
    server: server({ days: 10 }),
    serverReasons: [/^server certificate expires in 10 days \(2030-06-11\), within renewBeforeDays 30$/],
  },
  { name: 'server expires in 31 days: kept', ca, server: server({ days: 31 }), serverReasons: [] },
  {
    name: 'server expired',
    ca,
    server: server({ days: 5, now: new Date(now.getTime() - 20 * DAY) }),
    serverReasons: [/^server certificate expired 15 days ago/],
  },
  {
    name: 'signed by another CA',
    ca,
    server: server({ ca: otherCa }),
    serverReasons: [/^not signed by the CA$/],
  },
  { name: 'self-signed while mode is ca', ca, server: selfSigned, serverReasons: [/^not signed by the CA$/] },
  {
    name: 'CA missing: both are made anew',
    ca: {},
    server: good,
    caReasons: [/^CA certificate missing$/, /^CA key missing$/],
    serverReasons: [/^CA regenerated/],
  },
  {
    name: 'CA key mismatch',
    ca: { keyPem: otherKey, certPem: ca.certPem },
    server: good,
    caReasons: [/^CA key\/certificate mismatch$/],
    serverReasons: [/^CA regenerated/],
  },
  {
    name: 'CA expiring',
    ca: expiringCa,
    server: server({ ca: expiringCa }),
    caReasons: [/^CA certificate expires in 10 days/],
    serverReasons: [/^CA regenerated/],
  },
  {
    name: 'ca.crt is not a CA',
    ca: notACa,
    server: server({ ca: notACa }),
    caReasons: [/not a CA/, /^CA certificate has no critical name constraints/],
    serverReasons: [/^CA regenerated/],
  },
  {
    name: 'CA reissued when the SANs change (its constraints must follow them)',
    desired: { subjectAltNames: ['DNS:other'] },
    ca,
    server: good,
    caReasons: [
      /^CA name constraints differ from the SANs: DNS:master, IP:127\.0\.0\.1 → DNS:other, not IP:0\.0\.0\.0\/0, not IP:::\/0$/,
    ],
    serverReasons: [/^SANs differ/, /^CA regenerated/],
  },
  {
    name: 'CA kept when only the commonName changes',
    desired: { commonName: 'registry' },
    ca,
    server: good,
    caReasons: [],
    serverReasons: [/^subject differs/],
  },
  {
    name: 'a CA without name constraints or path length (as earlier versions made it) is reissued',
    ca: unconstrainedCa,
    server: server({ ca: unconstrainedCa }),
    caReasons: [
      /^CA certificate has no path length 0/,
      /^CA certificate has no critical name constraints \(it could vouch for any name\)$/,
    ],
    serverReasons: [/^CA regenerated/],
  },
  {
    name: 'several problems at once',
    desired: { commonName: 'm2', subjectAltNames: ['DNS:m2'] },
    ca,
    server: server({ days: 2 }),
    serverReasons: [
      /^subject differs/,
      /^SANs differ/,
      /^server certificate expires in 2 days/,
      /^CA regenerated/,
    ],
  },
  { name: 'selfsigned: in place', mode: 'selfsigned', server: selfSigned, caReasons: [], serverReasons: [] },
  {
    name: 'selfsigned: CA files are ignored',
    mode: 'selfsigned',
    ca: {},
    server: selfSigned,
    caReasons: [],
    serverReasons: [],
  },
  {
    name: 'selfsigned: a CA-signed certificate is replaced',
    mode: 'selfsigned',
    server: good,
    caReasons: [],
    serverReasons: [/^not self-signed \(mode selfsigned\)$/],
  },
  {
    name: 'selfsigned: a CA:TRUE self-signed certificate (as earlier versions made it) is made again',
    mode: 'selfsigned',
    server: unconstrained(serverKey, true),
    caReasons: [],
    serverReasons: [/^self-signed certificate is a CA \(CA:TRUE\); it is made again as CA:FALSE$/],
  },
  {
    name: 'selfsigned: missing',
    mode: 'selfsigned',
    server: {},
    caReasons: [],
    serverReasons: [/^server certificate missing$/, /^server key missing$/],
  },
];

describe('certificateVerdict', () => {
  for (const row of rows) {
    it(row.name, () => {
      const v = certificateVerdict({
        desired: { ...desired, mode: row.mode ?? 'ca', ...row.desired },
        now,
        ca: row.ca,
        server: row.server,
      });
      const check = (got: { regenerate: boolean; reasons: string[] }, want: RegExp[]) => {
        assert.equal(got.reasons.length, want.length, JSON.stringify(got.reasons));
        want.forEach((re, i) => assert.match(got.reasons[i]!, re));
        assert.equal(got.regenerate, want.length > 0);
      };
      check(v.server, row.serverReasons);
      if (row.caReasons) check(v.ca, row.caReasons);
    });
  }

  it('describes the current certificate for a diff', () => {
    const v = certificateVerdict({ desired, now, ca, server: good });
    assert.deepEqual(v.current?.sans, ['DNS:master', 'IP:127.0.0.1']);
    assert.equal(v.current?.notAfter.getTime(), Math.floor((now.getTime() + 800 * DAY) / 1000) * 1000);
    assert.match(v.current?.fingerprint ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(certificateVerdict({ desired, now, ca, server: {} }).current, undefined);
  });

  it('a freshly made pair satisfies the verdict that asked for it (no flapping)', () => {
    const want = { ...desired, subjectAltNames: ['DNS:Registry.Test', 'IP:::1', 'IP:10.0.0.10'] };
    const first = certificateVerdict({ desired: want, now, ca: {}, server: {} });
    assert.ok(first.ca.regenerate && first.server.regenerate);
    const newCa = createCa({
      commonName: want.commonName,
      subjectAltNames: want.subjectAltNames,
      days: want.days,
      keyBits: 2048,
      keyPem: caKey,
      now,
    });
    const newServer = createServerCert({ ...want, keyBits: 2048, keyPem: serverKey, ca: newCa, now });
    const second = certificateVerdict({ desired: want, now, ca: newCa, server: newServer });
    assert.deepEqual([second.ca.reasons, second.server.reasons], [[], []]);
  });
});
