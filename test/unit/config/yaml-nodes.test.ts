import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseYamlText, MAX_ALIAS_NODES } from '../../../src/config/yaml-source.js';
import { isWritten, keysWritten, pathAtOffset, positionOf } from '../../../src/config/positions.js';

function source(text: string) {
  const r = parseYamlText('f.yaml', text);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return r.source;
}

describe('YAML positions from the event stream', () => {
  it('quoted keys are found by their decoded text; a quoted value points at its opening quote', () => {
    const src = source('"reg istry":\n  \'address\': "master:5000"\n');
    assert.deepEqual(src.data, { 'reg istry': { address: 'master:5000' } });
    assert.deepEqual(positionOf(src, ['reg istry', 'address']), { line: 2, col: 14 });
    assert.deepEqual(positionOf(src, ['reg istry', 'address'], 'key'), { line: 2, col: 3 });
  });

  it('flow collections, block scalars and a key with no value each have their place', () => {
    const src = source('a: {b: [1, {c: 2}]}\nd: |\n  text\ne:\nf: 3\n');
    assert.deepEqual(positionOf(src, ['a', 'b', 1, 'c']), { line: 1, col: 16 });
    assert.deepEqual(positionOf(src, ['e']), { line: 4, col: 1 }, 'an empty value points at its key');
    assert.deepEqual(positionOf(src, ['f']), { line: 5, col: 4 });
    assert.equal(isWritten(src, ['e']), true);
    assert.equal(isWritten(src, ['g']), false);
    assert.deepEqual(keysWritten(src, ['a']), ['b']);
    assert.deepEqual(pathAtOffset(src, 'a: {b: [1, {c: '.length), ['a', 'b', 1, 'c']);
  });

  it('a path through an alias points at the anchored value, and an anchor defined twice means the last', () => {
    const src = source('x: &h [w1]\ny: &h [w2, w3]\nz: *h\n');
    assert.deepEqual(src.data, { x: ['w1'], y: ['w2', 'w3'], z: ['w2', 'w3'] });
    assert.deepEqual(positionOf(src, ['z', 1]), { line: 2, col: 12 });
  });

  it('aliases may add values up to the bound; one more is refused as a bomb', () => {
    const list = `[${Array(99).fill('1').join(', ')}]`; // 100 values with the list itself
    const uses = (n: number) => `a: &a ${list}\nb: [${Array(n).fill('*a').join(', ')}]\n`;
    const within = parseYamlText('f.yaml', uses(MAX_ALIAS_NODES / 100));
    assert.equal(within.ok, true);
    const over = parseYamlText('f.yaml', uses(MAX_ALIAS_NODES / 100 + 1));
    assert.equal(over.ok, false);
    if (!over.ok) assert.match(over.diagnostics[0]!.message, /aliases expand too much/);
  });

  it('a value js-yaml cannot construct is reported at its path: a repeated key, an unknown tag', () => {
    const dup = parseYamlText('f.yaml', 'a:\n  b: 1\n  "b": 2\n');
    assert.equal(dup.ok, false);
    if (!dup.ok)
      assert.deepEqual(
        dup.diagnostics.map((d) => [d.line, d.col, d.path]),
        [[3, 4, 'a.b']],
      );
    const tag = parseYamlText('f.yaml', 'a:\n  b: !!binary aGk=\n');
    assert.equal(tag.ok, false);
    if (!tag.ok) {
      assert.deepEqual(
        tag.diagnostics.map((d) => [d.line, d.col, d.path]),
        [[2, 6, 'a.b']],
      );
      assert.match(tag.diagnostics[0]!.message, /unsupported tag \(!!binary\)/);
    }
  });

  it('a key named __proto__ is data like any other, not the object prototype', () => {
    const src = source('__proto__: {polluted: true}\n');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(Object.keys(src.data as object), ['__proto__']);
  });
});
