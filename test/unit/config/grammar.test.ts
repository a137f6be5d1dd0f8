// The value grammars: SAN coverage, IP canonical forms, and the schema's own patterns checked
// against independent oracles (node:net for IP addresses, examples for image references).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalIp, parseAddress, sanCovers, splitImageName } from '../../../src/config/grammar.js';
import { firstInvalidUtf8 } from '../../../src/config/yaml-source.js';

const REPO = resolve(import.meta.dirname, '../../..');
const schema = (kind: string) =>
  JSON.parse(readFileSync(resolve(REPO, 'schemas', `${kind}.schema.json`), 'utf8')) as {
    $defs: Record<string, { pattern: string }>;
  };
const playbookDefs = schema('playbook').$defs;
const inventoryDefs = schema('inventory').$defs;
const pattern = (def: { pattern: string }) => new RegExp(def.pattern, 'u');

describe('sanCovers', () => {
  const table: [string, string, boolean][] = [
    ['DNS:master', 'master', true],
    ['DNS:Master', 'master', true],
    ['DNS:master', 'master2', false],
    ['DNS:*.example.com', 'reg.example.com', true],
    ['DNS:*.example.com', 'a.reg.example.com', false],
    ['DNS:*.example.com', 'example.com', false],
    ['IP:127.0.0.1', '127.0.0.1', true],
    ['IP:127.0.0.1', '127.0.0.2', false],
    ['DNS:127.0.0.1', '127.0.0.1', false],
    ['IP:10.0.0.1', 'master', false],
    ['IP:0:0:0:0:0:0:0:1', '::1', true],
    ['IP:2001:DB8::1', '2001:db8:0:0::1', true],
    ['IP:::1', '::2', false],
  ];
  for (const [san, host, covered] of table) {
    it(`${san} ${covered ? 'covers' : 'does not cover'} ${host}`, () =>
      assert.equal(sanCovers(san, host), covered));
  }
});

describe('addresses and image names', () => {
  it('parseAddress', () => {
    assert.deepEqual(parseAddress('master:5000'), { host: 'master', port: 5000, explicitPort: true });
    assert.deepEqual(parseAddress('reg.lan'), { host: 'reg.lan', port: 443, explicitPort: false });
    assert.deepEqual(parseAddress('[::1]:5000'), { host: '::1', port: 5000, explicitPort: true });
  });
  it('canonicalIp', () => {
    assert.equal(canonicalIp('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canonicalIp('10.0.0.1'), '10.0.0.1');
    assert.equal(canonicalIp('master'), undefined);
  });
  it('splitImageName defaults the tag to latest', () => {
    assert.deepEqual(splitImageName('team/app'), { repository: 'team/app', tag: 'latest' });
    assert.deepEqual(splitImageName('team/app:1.0-rc_1'), { repository: 'team/app', tag: '1.0-rc_1' });
  });
});

describe('schema patterns', () => {
  const san = pattern(playbookDefs.subjectAltName!);
  const sshAddress = pattern(inventoryDefs.sshAddress!);

  it('IP:<v6> SANs match exactly what node:net calls IPv6', () => {
    const v6 = fc.oneof(
      fc.ipV6(),
      fc.ipV4Extended(),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'), maxLength: 45 }),
    );
    fc.assert(
      fc.property(v6, (text) => {
        assert.equal(san.test(`IP:${text}`), isIPv6(text) || isIPv4(text), text);
      }),
      { numRuns: 3000 },
    );
  });

  it('inventory addresses accept IPv4, IPv6 and DNS names', () => {
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()), (a) => sshAddress.test(a)));
    for (const bad of ['a b', 'h;x', '$(id)', '`id`', 'host/x', '-h', ''])
      assert.ok(!sshAddress.test(bad), bad);
  });

  it('image names follow the distribution grammar', () => {
    const name = pattern(playbookDefs.imageName!);
    const ref = pattern(playbookDefs.imageReference!);
    for (const good of ['app', 'app:0.1', 'team/app:1.0', 'a.b_c__d-e---f/g', 'app:Latest_1.x-y']) {
      assert.ok(name.test(good), good);
    }
    for (const bad of [
      'App',
      'app:',
      'app:.1',
      'app;x',
      'app:$(id)',
      'a b',
      '/app',
      'app/',
      'a..b',
      'a___b',
      'reg:5000/app',
    ]) {
      assert.ok(!name.test(bad), bad);
    }
    for (const good of [
      'registry:2',
      'docker.io/library/app:0.1',
      'localhost:5000/x',
      `a@sha256:${'ab'.repeat(32)}`,
      '[::1]:5000/app',
    ]) {
      assert.ok(ref.test(good), good);
    }
    for (const bad of ['registry:2;id', 'Registry:2', 'a:b:c', 'x --privileged'])
      assert.ok(!ref.test(bad), bad);
  });

  it('env names and passwords', () => {
    assert.ok(pattern(playbookDefs.envReference!).test('${env:CI_PW}'));
    assert.ok(!pattern(playbookDefs.envReference!).test('${env:ci}'));
    assert.ok(!pattern(playbookDefs.envReference!).test('secret'));
    assert.ok(pattern(playbookDefs.registryEnvName!).test('REGISTRY_LOG_LEVEL'));
    assert.ok(!pattern(playbookDefs.registryEnvName!).test('LD_PRELOAD'));
  });
});

describe('firstInvalidUtf8', () => {
  const table: [string, number[], number][] = [
    ['ASCII', [0x61, 0x62], -1],
    ['two-byte character', [0xc3, 0xa9], -1],
    ['lone continuation byte', [0x61, 0x80], 1],
    ['overlong slash', [0x61, 0xc0, 0xaf], 1],
    ['truncated three-byte sequence', [0x61, 0xe2, 0x82], 1],
    ['UTF-16 surrogate', [0xed, 0xa0, 0x80], 0],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['valid character then 0xff', [0xc3, 0xa9, 0xff], 2],
  ];
  for (const [name, bytes, expected] of table) {
    it(name, () => assert.equal(firstInvalidUtf8(Uint8Array.from(bytes)), expected));
  }
  it('agrees with the fatal decoder on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        let valid = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          valid = false;
        }
        const at = firstInvalidUtf8(bytes);
        assert.equal(at === -1, valid);
        if (at >= 0) new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, at));
      }),
    );
  });
});

describe('the schema files', () => {
  it('are valid draft 2020-12 schemas under strict mode (the CLI skips this check for speed)', async () => {
    const { Ajv2020 } = await import('ajv/dist/2020.js');
    const { AJV_OPTIONS } = await import('../../../src/config/schema-check.js');
    assert.equal(AJV_OPTIONS.strict, true);
    for (const kind of ['playbook', 'inventory']) {
      const ajv = new Ajv2020({ ...AJV_OPTIONS, validateSchema: true });
      const s = schema(kind);
      assert.equal(ajv.validateSchema(s), true, JSON.stringify(ajv.errors));
      ajv.compile(s);
    }
  });

  it('describe every field', () => {
    const missing: string[] = [];
    const visit = (node: unknown, path: string, isField: boolean): void => {
      if (node === null || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (isField && typeof n.description !== 'string') missing.push(path);
      for (const [key, child] of Object.entries((n.properties ?? {}) as Record<string, unknown>)) {
        visit(child, `${path}.${key}`, true);
      }
      for (const [key, child] of Object.entries((n.$defs ?? {}) as Record<string, unknown>)) {
        visit(child, `${path}.$defs.${key}`, true);
      }
      if (n.items) visit(n.items, `${path}[]`, false);
      if (n.additionalProperties && typeof n.additionalProperties === 'object') {
        visit(n.additionalProperties, `${path}.*`, true);
      }
      if (n.type === 'object' || n.properties) {
        if (n.additionalProperties === undefined && !n.propertyNames)
          missing.push(`${path} (additionalProperties)`);
      }
    };
    for (const kind of ['playbook', 'inventory']) visit(schema(kind), kind, true);
    assert.deepEqual(missing, []);
  });
});
