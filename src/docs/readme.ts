// The side of the reference that touches files: the schemas regbook validates with, and README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSchema } from '../config/schema-files.js';
import { extractBlock, renderReference, replaceBlock, type SchemaNode } from './reference.js';

/** README.md at the package root (two levels above this module, in src/ and in dist/ alike). */
export const README_PATH = fileURLToPath(new URL('../../README.md', import.meta.url));

/** The reference as the schemas in schemas/ describe it now. */
export function generatedReference(): string {
  const schema = (kind: 'playbook' | 'inventory') => readSchema(kind) as SchemaNode;
  return renderReference([
    {
      title: 'site.yaml (the playbook)',
      schemaFile: 'schemas/playbook.schema.json',
      schema: schema('playbook'),
    },
    {
      title: 'inventory.yaml',
      schemaFile: 'schemas/inventory.schema.json',
      schema: schema('inventory'),
    },
  ]);
}

/** The reference block README.md holds now. */
export function readmeReference(path = README_PATH): string {
  return extractBlock(readFileSync(path, 'utf8'));
}

/** Rewrites the block in README.md; returns whether anything changed. */
export function writeReadmeReference(path = README_PATH): boolean {
  const before = readFileSync(path, 'utf8');
  const after = replaceBlock(before, generatedReference());
  if (after !== before) writeFileSync(path, after);
  return after !== before;
}
