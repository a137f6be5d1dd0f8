// registry.storage and registry.replicas: their defaults (today's single registry on the master's
// disk), an S3 bucket's fields as the model carries them, the registry settings they become, and
// each rule that refuses a combination, at the file, line, column and field to change.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic } from '../../../src/core/errors.js';
import { storageSettings } from '../../../src/config/storage.js';
import { diagnosticsOf, GOOD_INVENTORY, load } from './helpers.js';

const S3 = `  storage:
    s3:
      endpoint: http://ceph:7480/
      bucket: registry
      region: us-east-1
      accessKey: \${env:S3_ACCESS}
      secretKey: \${env:S3_SECRET}
`;
/** A playbook with a registry section (address lb:5000) followed by `registry` lines and more. */
const pb = (registry: string, rest = '') => `version: 1\nregistry:\n  address: lb:5000\n${registry}${rest}`;

describe('storage and replicas: defaults', () => {
  it('a playbook without them keeps one registry on the master, on its disk', () => {
    const { playbook } = load('version: 1\nregistry:\n  address: master:5000\n');
    assert.deepEqual(playbook.registry.storage, { kind: 'filesystem' });
    assert.deepEqual(playbook.registry.replicas, ['master']);
    assert.deepEqual(playbook.tls.subjectAltNames, ['DNS:master']);
    assert.deepEqual(storageSettings(playbook.registry.storage), {});
  });

  it('storage: filesystem written out is the same as the default', () => {
    const { playbook } = load(pb('  storage: filesystem\n'));
    assert.deepEqual(playbook.registry.storage, { kind: 'filesystem' });
  });
});

describe('storage: s3', () => {
  it('carries the bucket, derives secure from the endpoint, and keeps the keys as env references', () => {
    const { playbook } = load(pb(S3));
    const s = playbook.registry.storage;
    assert.equal(s.kind, 's3');
    if (s.kind !== 's3') return;
    assert.equal(s.s3.endpoint, 'http://ceph:7480', 'the trailing / is dropped');
    assert.equal(s.s3.bucket, 'registry');
    assert.equal(s.s3.region, 'us-east-1');
    assert.equal(s.s3.secure, false, 'an http:// endpoint is not secure');
    assert.equal(s.s3.skipVerify, false);
    assert.equal(s.s3.v4auth, true);
    assert.equal(s.s3.redirect, false);
    assert.equal(s.s3.encrypt, false);
    assert.deepEqual(
      { env: s.s3.accessKey.env, line: s.s3.accessKey.at?.line },
      { env: 'S3_ACCESS', line: 9 },
    );
    assert.deepEqual(
      { env: s.s3.secretKey.env, line: s.s3.secretKey.at?.line },
      { env: 'S3_SECRET', line: 10 },
    );
    assert.deepEqual(playbook.envRefs, ['S3_ACCESS', 'S3_SECRET'], 'apply names a missing key early');
  });

  it('secure: https endpoint or no endpoint (Amazon S3) means true', () => {
    const https = load(pb(S3.replace('http://ceph:7480/', 'https://s3.example.com'))).playbook.registry
      .storage;
    assert.ok(https.kind === 's3' && https.s3.secure);
    const aws = load(pb(S3.replace(/ {6}endpoint: .*\n/, ''))).playbook.registry.storage;
    assert.ok(aws.kind === 's3' && aws.s3.secure && aws.s3.endpoint === undefined);
  });

  it('becomes the s3-aws driver settings, with the keys still references', () => {
    const { playbook } = load(
      pb(S3 + '      rootDirectory: /images\n      chunkSize: 10485760\n      storageClass: STANDARD\n'),
    );
    assert.deepEqual(storageSettings(playbook.registry.storage), {
      REGISTRY_STORAGE: 's3',
      REGISTRY_STORAGE_CACHE_BLOBDESCRIPTOR: 'inmemory',
      REGISTRY_STORAGE_S3_BUCKET: 'registry',
      REGISTRY_STORAGE_S3_REGION: 'us-east-1',
      REGISTRY_STORAGE_S3_REGIONENDPOINT: 'http://ceph:7480',
      REGISTRY_STORAGE_S3_SECURE: 'false',
      REGISTRY_STORAGE_S3_SKIPVERIFY: 'false',
      REGISTRY_STORAGE_S3_V4AUTH: 'true',
      REGISTRY_STORAGE_S3_ENCRYPT: 'false',
      REGISTRY_STORAGE_S3_ROOTDIRECTORY: '/images',
      REGISTRY_STORAGE_S3_CHUNKSIZE: '10485760',
      REGISTRY_STORAGE_S3_STORAGECLASS: 'STANDARD',
      REGISTRY_STORAGE_S3_ACCESSKEY: { env: 'S3_ACCESS', at: { file: playbook.file, line: 9, col: 18 } },
      REGISTRY_STORAGE_S3_SECRETKEY: { env: 'S3_SECRET', at: { file: playbook.file, line: 10, col: 18 } },
      REGISTRY_STORAGE_REDIRECT_DISABLE: 'true',
    });
  });

  it('redirect: true lets clients fetch from the store (no REDIRECT_DISABLE)', () => {
    const { playbook } = load(pb(S3 + '      redirect: true\n'));
    assert.equal(storageSettings(playbook.registry.storage).REGISTRY_STORAGE_REDIRECT_DISABLE, undefined);
  });
});

describe('replicas', () => {
  it('lists inventory hosts; the default SANs name the address and every replica', () => {
    const { playbook } = load(pb('  replicas: [master, worker1]\n' + S3));
    assert.deepEqual(playbook.registry.replicas, ['master', 'worker1']);
    assert.deepEqual(playbook.tls.subjectAltNames, ['DNS:lb', 'DNS:master', 'DNS:worker1']);
  });

  it('one replica that is not the master needs no shared storage', () => {
    const { playbook } = load(pb('  replicas: [worker2]\n'));
    assert.deepEqual(playbook.registry.replicas, ['worker2']);
    assert.deepEqual(playbook.tls.subjectAltNames, ['DNS:lb']);
  });
});

interface Case {
  name: string;
  playbook: string;
  line: number;
  col: number;
  path: string;
  message: string | RegExp;
  /** Text that must appear in no message (a secret written where a reference belongs). */
  never?: string;
}

const cases: Case[] = [
  {
    name: 'several replicas on filesystem storage',
    playbook: pb('  replicas: [master, worker1]\n'),
    line: 4,
    col: 13,
    path: 'registry.replicas',
    message: /2 replicas \(master, worker1\) need shared storage.*registry\.storage/,
  },
  {
    name: 'a replica that is not in the inventory',
    playbook: pb('  replicas:\n    - master\n    - worker9\n' + S3),
    line: 6,
    col: 7,
    path: 'registry.replicas.1',
    message: /no host named 'worker9' in .*inventory\.yaml \(hosts: master, worker1, worker2\)/,
  },
  {
    name: 'an empty replica list',
    playbook: pb('  replicas: []\n'),
    line: 4,
    col: 13,
    path: 'registry.replicas',
    message: 'must list at least 1 item',
  },
  {
    name: 'a replica named twice',
    playbook: pb('  replicas: [master, master]\n' + S3),
    line: 4,
    col: 22,
    path: 'registry.replicas.1',
    message: "repeats item 0 (got 'master')",
  },
  {
    name: 's3 without its bucket',
    playbook: pb(S3.replace('      bucket: registry\n', '')),
    line: 6,
    col: 7,
    path: 'registry.storage.s3.bucket',
    message: 'required key is missing',
  },
  {
    name: 's3 without its region',
    playbook: pb(S3.replace('      region: us-east-1\n', '')),
    line: 6,
    col: 7,
    path: 'registry.storage.s3.region',
    message: 'required key is missing',
  },
  {
    name: 's3 without a secret key',
    playbook: pb(S3.replace(/ {6}secretKey: .*\n/, '')),
    line: 6,
    col: 7,
    path: 'registry.storage.s3.secretKey',
    message: 'required key is missing',
  },
  {
    name: 'a secret key written in the file is refused and never echoed',
    playbook: pb(S3.replace('${env:S3_SECRET}', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')),
    line: 10,
    col: 18,
    path: 'registry.storage.s3.secretKey',
    message: /must be a reference to an environment variable such as \$\{env:NAME\}/,
    never: 'wJalrXUtnFEMI',
  },
  {
    name: 'an access key written in the file is refused and never echoed',
    playbook: pb(S3.replace('${env:S3_ACCESS}', 'AKIAIOSFODNN7EXAMPLE')),
    line: 9,
    col: 18,
    path: 'registry.storage.s3.accessKey',
    message: /must be a reference to an environment variable/,
    never: 'AKIAIOSFODNN7EXAMPLE',
  },
  {
    name: 'both keys from the same variable',
    playbook: pb(S3.replace('${env:S3_SECRET}', '${env:S3_ACCESS}')),
    line: 10,
    col: 18,
    path: 'registry.storage.s3.secretKey',
    message: 'secretKey names the same variable as accessKey (${env:S3_ACCESS})',
  },
  {
    name: 'secure: true with an http:// endpoint',
    playbook: pb(S3 + '      secure: true\n'),
    line: 11,
    col: 15,
    path: 'registry.storage.s3.secure',
    message: 'secure: true disagrees with endpoint http://ceph:7480/; use an https:// endpoint',
  },
  {
    name: 'secure: false with an https:// endpoint',
    playbook: pb(S3.replace('http://', 'https://') + '      secure: false\n'),
    line: 11,
    col: 15,
    path: 'registry.storage.s3.secure',
    message: /disagrees with endpoint https:\/\/ceph:7480\/; remove secure/,
  },
  {
    name: 'an endpoint with a path',
    playbook: pb(S3.replace('http://ceph:7480/', 'http://ceph:7480/bucket')),
    line: 6,
    col: 17,
    path: 'registry.storage.s3.endpoint',
    message: /must be a URL such as https:\/\/s3\.example\.com/,
  },
  {
    name: 'a bucket name S3 refuses',
    playbook: pb(S3.replace('bucket: registry', 'bucket: Registry_1')),
    line: 7,
    col: 15,
    path: 'registry.storage.s3.bucket',
    message: /must be a bucket name: 3 to 63 lowercase letters/,
  },
  {
    name: 'a storage driver regbook does not know',
    playbook: pb('  storage: swift\n'),
    line: 4,
    col: 12,
    path: 'registry.storage',
    message: /must be filesystem or a mapping.*\(got 'swift'\)/,
  },
  {
    name: 'an unknown key in s3',
    playbook: pb(S3 + '      bukket: x\n'),
    line: 11,
    col: 7,
    path: 'registry.storage.s3.bukket',
    message: "unknown key 'bukket'",
  },
  {
    name: 'a chunk size below S3 minimum part size',
    playbook: pb(S3 + '      chunkSize: 1024\n'),
    line: 11,
    col: 18,
    path: 'registry.storage.s3.chunkSize',
    message: 'must be between 5242880 and 5368709120 (got 1024)',
  },
  {
    name: 'dataDir written with s3 storage',
    playbook: pb('  dataDir: /srv/registry\n' + S3),
    line: 4,
    col: 12,
    path: 'registry.dataDir',
    message: /dataDir is for filesystem storage/,
  },
  {
    name: 'the storage driver chosen through registry.env',
    playbook: pb('  env:\n    REGISTRY_STORAGE_S3_BUCKET: other\n' + S3),
    line: 5,
    col: 5,
    path: 'registry.env.REGISTRY_STORAGE_S3_BUCKET',
    message: /set by regbook; use registry\.storage instead/,
  },
  {
    name: 'REGISTRY_STORAGE in registry.env',
    playbook: pb('  env:\n    REGISTRY_STORAGE: s3\n'),
    line: 5,
    col: 5,
    path: 'registry.env.REGISTRY_STORAGE',
    message: /use registry\.storage instead/,
  },
  {
    name: 'the redirect switch through registry.env with s3',
    playbook: pb('  env:\n    REGISTRY_STORAGE_REDIRECT_DISABLE: "false"\n' + S3),
    line: 5,
    col: 5,
    path: 'registry.env.REGISTRY_STORAGE_REDIRECT_DISABLE',
    message: /use registry\.storage\.s3\.redirect instead/,
  },
  {
    name: 'written SANs that leave out a replica',
    playbook: pb('  replicas: [master, worker1]\n' + S3, 'tls:\n  subjectAltNames: [DNS:lb, DNS:master]\n'),
    line: 13,
    col: 20,
    path: 'tls.subjectAltNames',
    message: 'the certificate must also name every replica, so each can be checked directly: add DNS:worker1',
  },
  {
    name: 'a bind address with a replica away from the master',
    playbook: pb('  bind: 10.0.0.10\n  replicas: [master, worker1]\n' + S3),
    line: 4,
    col: 9,
    path: 'registry.bind',
    message: "bind 10.0.0.10 is one host's address, and the registry also runs on worker1",
  },
  {
    name: '${env:...} elsewhere in s3 is not resolved',
    playbook: pb(S3.replace('bucket: registry', 'bucket: ${env:BUCKET}')),
    line: 7,
    col: 15,
    path: 'registry.storage.s3.bucket',
    message: /must be a bucket name/,
  },
];

describe('storage and replicas: refused, at the line to change', () => {
  for (const c of cases) {
    it(c.name, () => {
      const diagnostics = diagnosticsOf(c.playbook, GOOD_INVENTORY);
      const lines = diagnostics.map(formatDiagnostic);
      const match = diagnostics.find(
        (d) =>
          d.file.endsWith('site.yaml') &&
          d.line === c.line &&
          d.col === c.col &&
          d.path === c.path &&
          (typeof c.message === 'string' ? d.message.includes(c.message) : c.message.test(d.message)),
      );
      assert.ok(
        match,
        `no diagnostic site.yaml:${c.line}:${c.col}: ${c.path}: ${String(c.message)}\ngot:\n${lines.join('\n')}`,
      );
      if (c.never) for (const l of lines) assert.ok(!l.includes(c.never), `secret echoed: ${l}`);
    });
  }
});

describe('a playbook with replicas on S3', () => {
  it('loads without a warning: apply acts on registry.storage and registry.replicas', () => {
    for (const text of [pb(S3), pb('  replicas: [worker1]\n')]) {
      const warnings = load(text).playbook.warnings ?? [];
      assert.ok(!warnings.some((w) => /registry\.(storage|replicas)/.test(w.path)), JSON.stringify(warnings));
    }
  });
});
