import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  generatedReference,
  REFERENCE_PATH,
  storedReference,
  writeReference,
} from '../../../src/docs/reference-page.js';
import { fieldText, inline, referenceRows, type SchemaNode } from '../../../src/docs/reference.js';
import { readSchemaBytes } from '../../../src/config/schema-files.js';

describe('docs/reference.md', () => {
  it('equals what the schemas generate (run `npx tsx scripts/gen-reference.ts` after a schema change)', () => {
    assert.equal(storedReference(), generatedReference());
  });

  it('documents every property the schemas declare, with its description', () => {
    const page = storedReference();
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
        // A top-level key is a heading; every other field is a list item led by its path.
        const lead = r.path.includes('.') || r.path.includes('[') ? `- \`${r.path}\` (` : `### \`${r.path}\``;
        assert.ok(
          page.split('\n').some((l) => l.startsWith(lead)),
          `the page lacks ${r.path}`,
        );
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
    assert.match(
      fieldText(row('registry.port')),
      /^`registry\.port` \(integer, default `5000`\): .+ Allowed: /,
    );
    assert.match(fieldText(row('registry.address')), /^`registry\.address` \(string, required\): /);
  });

  it('a changed schema description makes the generated page differ from the stored one', () => {
    const schema = JSON.parse(readSchemaBytes('playbook').toString('utf8')) as SchemaNode;
    schema.properties!.registry!.properties!.port!.description = 'A different story.';
    const rows = referenceRows(schema);
    assert.equal(rows.find((r) => r.path === 'registry.port')!.description, 'A different story.');
    assert.ok(!storedReference().includes('A different story.'));
  });

  it('links the schemas relative to docs/, so the links work where the repository is cloned', () => {
    const page = storedReference();
    assert.ok(page.includes('](../schemas/playbook.schema.json)'));
    assert.ok(page.includes('](../schemas/inventory.schema.json)'));
    assert.ok(REFERENCE_PATH.endsWith(join('docs', 'reference.md')));
  });

  it('writes the whole page, and reports no change when it is current', () => {
    const dir = mkdtempSync(join(tmpdir(), 'regbook-ref-'));
    try {
      const path = join(dir, 'reference.md');
      assert.equal(storedReference(path), '');
      assert.equal(writeReference(path), true);
      assert.equal(readFileSync(path, 'utf8'), generatedReference());
      assert.equal(writeReference(path), false);
      writeFileSync(path, 'stale');
      assert.equal(writeReference(path), true);
      assert.equal(readFileSync(path, 'utf8'), generatedReference());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Markdown helpers', () => {
  it('escapes tags, stars and backslashes outside code spans only, and joins lines', () => {
    assert.equal(inline('a|b <x> *y* \\ `c|<d>*`\nnext'), 'a|b \\<x> \\*y\\* \\\\ `c|<d>*` next');
  });
});
