import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createCa, createServerCert } from '../../../src/pki/index.js';
import {
  MEDIA_TYPES,
  RegistryClient,
  nextLink,
  type RegistryClientOptions,
} from '../../../src/registry/client.js';
import { RegistryError } from '../../../src/registry/errors.js';
import { InvalidReferenceError } from '../../../src/registry/reference.js';
import { pushTinyImage } from './push.js';
import { startRegistry, type RunningRegistry } from './server.js';

const ca = createCa({
  commonName: 'registry.test',
  subjectAltNames: ['DNS:registry.test', 'IP:127.0.0.1'],
  days: 30,
  keyBits: 2048,
});
const otherCa = createCa({
  commonName: 'other',
  subjectAltNames: ['DNS:registry.test', 'IP:127.0.0.1'],
  days: 30,
  keyBits: 2048,
});
const server = createServerCert({
  commonName: 'registry.test',
  subjectAltNames: ['DNS:registry.test', 'IP:127.0.0.1'],
  days: 30,
  keyBits: 2048,
  ca,
});

let registry: RunningRegistry;
let connects = 0;

before(async () => {
  registry = await startRegistry(server);
});
after(async () => {
  await registry?.stop();
});

function client(over: Partial<RegistryClientOptions> = {}): RegistryClient {
  return new RegistryClient({
    connect: async () => {
      connects++;
      const s: Socket = connect(registry.port, '127.0.0.1');
      return s;
    },
    servername: 'registry.test',
    port: 5000,
    ca: ca.certPem,
    timeoutMs: 10_000,
    ...over,
  });
}

describe('RegistryClient against docker-registry (distribution 2.8)', () => {
  it('ping: GET /v2/ is 200 over TLS checked against registry.test, with no DNS for that name', async () => {
    assert.equal(await client().ping(), 200);
  });

  it('an empty registry has an empty catalog and unknown repositories have no tags', async () => {
    assert.deepEqual(await client().catalog(), []);
    assert.deepEqual(await client().tags('nothing/here'), []);
    assert.equal(await client().manifestDigest('nothing', 'latest'), undefined);
  });

  it('push, list, digest, info, delete', async () => {
    const c = client();
    const a1 = await pushTinyImage(c, 'app', '0.1');
    const a2 = await pushTinyImage(c, 'app', '0.2');
    await pushTinyImage(c, 'team/tool', '1.0');
    await pushTinyImage(c, 'zeta', 'latest');

    assert.deepEqual(await c.catalog(), ['app', 'team/tool', 'zeta']);
    assert.deepEqual((await c.tags('app')).sort(), ['0.1', '0.2']);

    const digest = await c.manifestDigest('app', '0.1');
    assert.equal(digest, `sha256:${createHash('sha256').update(a1.manifestBytes).digest('hex')}`);
    assert.equal(digest, a1.manifestDigest);
    assert.notEqual(await c.manifestDigest('app', '0.2'), digest);
    assert.equal(await c.manifestDigest('app', '9.9'), undefined);

    assert.deepEqual(await c.manifestInfo('app', '0.2'), {
      digest: a2.manifestDigest,
      mediaType: MEDIA_TYPES.dockerManifest,
      size: a2.size,
      configDigest: a2.configDigest,
    });
    assert.equal(await c.manifestInfo('app', 'nope'), undefined);

    assert.equal(await c.deleteManifest('app', a1.manifestDigest), true);
    assert.deepEqual(await c.tags('app'), ['0.2']);
    assert.equal(await c.manifestDigest('app', '0.1'), undefined);
    assert.equal(await c.deleteManifest('app', a1.manifestDigest), false);
  });

  it('catalog follows Link pagination page by page, over one kept-alive connection', async () => {
    const before = connects;
    const c = client();
    const request = c.request.bind(c);
    let requests = 0;
    c.request = (spec) => {
      requests++;
      return request(spec);
    };
    assert.deepEqual(await c.catalog({ pageSize: 1 }), ['app', 'team/tool', 'zeta']);
    assert.ok(requests >= 3, `expected ≥3 requests, got ${requests}`);
    assert.equal(connects - before, 1, 'every page went over the same connection');
    c.close();
  });

  it('validates repository names and references before anything is sent', async () => {
    const before = connects;
    for (const bad of ['../etc', 'App', 'a//b', 'a?x=1', 'a%2f', '']) {
      await assert.rejects(client().tags(bad), InvalidReferenceError);
    }
    await assert.rejects(client().manifestDigest('app', 'bad tag'), InvalidReferenceError);
    await assert.rejects(client().deleteManifest('app', 'sha256:short'), InvalidReferenceError);
    assert.equal(connects, before);
  });

  it('an IP servername is checked against the IP SAN (no SNI)', async () => {
    assert.equal(await client({ servername: '127.0.0.1' }).ping(), 200);
  });

  it('a name the certificate does not cover fails the certificate check', async () => {
    const err = await client({ servername: 'wrong.test' })
      .ping()
      .then(
        () => assert.fail('expected a TLS error'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof RegistryError);
    assert.equal(err.tlsCode, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal(err.status, undefined);
    assert.match(err.message, /wrong\.test/);
  });

  it('a CA that did not sign the certificate is refused', async () => {
    const err = await client({ ca: otherCa.certPem })
      .ping()
      .then(
        () => assert.fail('expected a TLS error'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof RegistryError);
    assert.equal(err.tlsCode, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('a connect() that fails or hangs becomes a RegistryError', async () => {
    await assert.rejects(
      client({ connect: () => Promise.reject(new Error('channel open failed')) }).ping(),
      (e: unknown) => e instanceof RegistryError && /channel open failed/.test(e.message),
    );
    await assert.rejects(
      client({ connect: () => new Promise(() => {}), timeoutMs: 200 }).ping(),
      (e: unknown) => e instanceof RegistryError && /no answer within 200 ms/.test(e.message),
    );
  });
});

describe('nextLink', () => {
  it('extracts the next page path and stays under /v2/', () => {
    assert.equal(nextLink('</v2/_catalog?last=app&n=1>; rel="next"'), '/v2/_catalog?last=app&n=1');
    assert.equal(nextLink('<https://elsewhere/v2/_catalog?last=a>; rel="next"'), '/v2/_catalog?last=a');
    assert.equal(nextLink('</other>; rel="next"'), undefined);
    assert.equal(nextLink(undefined), undefined);
  });
});

describe('self-signed certificate (tls.mode selfsigned)', () => {
  let selfReg: RunningRegistry;
  const self = createServerCert({
    commonName: 'registry.test',
    subjectAltNames: ['DNS:registry.test'],
    days: 30,
    keyBits: 2048,
  });
  before(async () => {
    selfReg = await startRegistry(self);
  });
  after(async () => {
    await selfReg?.stop();
  });

  it('trusting the certificate itself is enough', async () => {
    const c = new RegistryClient({
      connect: async () => connect(selfReg.port, '127.0.0.1'),
      servername: 'registry.test',
      port: 443,
      ca: self.certPem,
    });
    assert.equal(await c.ping(), 200);
  });
});
