import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { generatedReference, readmeReference, README_PATH } from '../../../src/docs/readme.js';
import {
  cell,
  extractBlock,
  markdownTable,
  referenceRows,
  replaceBlock,
  type SchemaNode,
} from '../../../src/docs/reference.js';
import { readSchemaBytes } from '../../../src/config/schema-files.js';

describe('the README reference', () => {
  it('equals what the schemas generate (run scripts/gen-reference.ts --write after a schema change)', () => {
    assert.equal(readmeReference(), generatedReference());
  });

  it('documents every property the schemas declare, with its description', () => {
    const block = readmeReference();
    for (const kind of ['playbook', 'inventory'] as const) {
      const schema = JSON.parse(readSchemaBytes(kind).toString('utf8')) as SchemaNode;
      const rows = referenceRows(schema);
      // Walk the schema independently: every `properties` key anywhere must have a row ending in it.
      const keys = new Set<string>();
      const visit = (n: unknown) => {
        if (!n || typeof n !== 'object') return;
        const props = (n as SchemaNode).properties;
        if (props) for (const k of Object.keys(props)) keys.add(k);
        for (const v of Object.values(n)) visit(v);
      };
      visit(schema);
      for (const k of keys) {
        assert.ok(
          rows.some((r) => r.path === k || r.path.endsWith(`.${k}`)),
          `${kind}: no reference row for ${k}`,
        );
      }
      for (const r of rows) {
        assert.ok(r.description.length > 0, `${kind}: ${r.path} has no description`);
        assert.ok(block.includes(`| \`${r.path}\``), `README lacks ${r.path}`);
      }
    }
  });

  it('shows defaults, required fields, enums and ranges as the schema states them', () => {
    const rows = referenceRows(JSON.parse(readSchemaBytes('playbook').toString('utf8')) as SchemaNode);
    const row = (p: string) => rows.find((r) => r.path === p)!;
    assert.equal(row('registry.address').default, 'required');
    assert.equal(row('registry.port').default, '`5000`');
    assert.equal(row('registry.port').type, 'integer');
    assert.equal(row('registry.restart').allowed, '`no`, `always`, `unless-stopped`, `on-failure`');
    assert.equal(row('tls.days').allowed, '1 to 36500');
    assert.equal(row('images[].state').default, '`present`');
    assert.equal(row('images[].name').default, 'required');
    assert.match(row('registry.env.<NAME>').description, /REGISTRY_/);
    assert.equal(row('trust.hosts').type, 'string or list of string');
  });

  it('a changed schema description makes the generated block differ from the README', () => {
    const schema = JSON.parse(readSchemaBytes('playbook').toString('utf8')) as SchemaNode;
    schema.properties!.registry!.properties!.port!.description = 'A different story.';
    const rows = referenceRows(schema);
    assert.equal(rows.find((r) => r.path === 'registry.port')!.description, 'A different story.');
    assert.ok(!readmeReference().includes('A different story.'));
  });
});

describe('Markdown helpers', () => {
  it('escapes pipes, tags and stars outside code spans only', () => {
    assert.equal(cell('a|b <x> *y* `c|<d>`'), 'a\\|b \\<x> \\*y\\* `c|<d>`');
  });

  it('lays a table out with padded columns', () => {
    assert.equal(
      markdownTable(['a', 'bb'], [['xxxx', 'y']]),
      ['| a    | bb  |', '| ---- | --- |', '| xxxx | y   |'].join('\n'),
    );
  });

  it('replaces only the block between the markers', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    const out = replaceBlock(readme, 'NEW');
    assert.equal(extractBlock(out), 'NEW');
    const [before] = readme.split('<!-- reference:start -->');
    const after = readme.split('<!-- reference:end -->')[1];
    assert.ok(out.startsWith(before!) && out.endsWith(after!));
    assert.throws(() => replaceBlock('no markers', 'x'), /markers/);
  });
});
