import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SanError } from '../../../src/pki/errors.js';
import { bytesToIp, canonicalIp, ipToBytes, normaliseSan, sameSans } from '../../../src/pki/san.js';

describe('SAN normalisation', () => {
  const cases: [string, string][] = [
    ['DNS:Master', 'DNS:master'],
    ['dns:registry.test', 'DNS:registry.test'],
    ['IP:127.0.0.1', 'IP:127.0.0.1'],
    ['ip:::1', 'IP:::1'],
    ['IP:0:0:0:0:0:0:0:1', 'IP:::1'],
    ['IP:2001:DB8:0:0:1:0:0:1', 'IP:2001:db8::1:0:0:1'],
    ['IP:fe80:0000::0001', 'IP:fe80::1'],
  ];
  for (const [input, want] of cases) {
    it(`${input} → ${want}`, () => assert.equal(normaliseSan(input), want));
  }

  for (const bad of ['master', 'URI:http://x', 'IP:300.1.1.1', 'IP:master', 'DNS:', 'DNS:a b']) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => normaliseSan(bad), SanError));
  }

  it('compares as sets, ignoring order, case and IP spelling', () => {
    assert.ok(sameSans(['DNS:a', 'IP:::1'], ['IP:0::1', 'dns:A']));
    assert.ok(!sameSans(['DNS:a'], ['DNS:a', 'IP:127.0.0.1']));
  });

  it('round-trips IPv4 and IPv6 through the bytes a certificate holds', () => {
    for (const ip of ['10.0.0.10', '::1', '2001:db8::8:800:200c:417a', '::ffff:1.2.3.4', 'fe80::']) {
      const bytes = ipToBytes(ip);
      assert.equal(bytes.length, ip.includes(':') ? 16 : 4);
      assert.equal(bytesToIp(bytes), canonicalIp(ip));
    }
  });
});
