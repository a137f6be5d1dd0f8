import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InvalidReferenceError,
  assertDigest,
  assertRepository,
  assertTag,
} from '../../../src/registry/reference.js';

describe('distribution reference grammar', () => {
  const good = ['app', 'team/app', 'a.b/c-d', 'a__b', 'a--b', 'x/y/z', 'a'.repeat(255)];
  const bad = [
    '',
    'App',
    '-a',
    'a-',
    'a//b',
    '/a',
    'a/',
    '../etc',
    'a?b',
    'a%2fb',
    'a b',
    'a:b',
    'a'.repeat(256),
    'a___b',
  ];
  for (const name of good)
    it(`repository ${JSON.stringify(name.slice(0, 20))} ok`, () =>
      assert.equal(assertRepository(name), name));
  for (const name of bad) {
    it(`repository ${JSON.stringify(name.slice(0, 20))} rejected`, () =>
      assert.throws(() => assertRepository(name), InvalidReferenceError));
  }
  it('tags', () => {
    for (const t of ['latest', '0.1', 'v1.2-rc_3', 'A', 'x'.repeat(128)]) assert.equal(assertTag(t), t);
    for (const t of ['', '.x', '-x', 'a/b', 'a:b', 'x'.repeat(129)])
      assert.throws(() => assertTag(t), InvalidReferenceError);
  });
  it('digests', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    assert.equal(assertDigest(d), d);
    for (const x of ['sha256:abc', 'sha256', `sha256:${'a'.repeat(63)}/`, `:${'a'.repeat(64)}`]) {
      assert.throws(() => assertDigest(x), InvalidReferenceError);
    }
  });
});
