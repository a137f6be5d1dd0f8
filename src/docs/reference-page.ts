// The side of the reference that touches files: the schemas regbook validates with, and the page
// docs/reference.md, which is generated whole.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSchema } from '../config/schema-files.js';
import { renderReference, type SchemaNode } from './reference.js';

/** docs/reference.md at the package root (two levels above this module, in src/ and in dist/ alike). */
export const REFERENCE_PATH = fileURLToPath(new URL('../../docs/reference.md', import.meta.url));

/** The page as the schemas in schemas/ describe it now. */
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

/** The page as it is on disk now ('' when it is missing). */
export function storedReference(path = REFERENCE_PATH): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Writes the page from the schemas; returns whether it changed. */
export function writeReference(path = REFERENCE_PATH): boolean {
  const after = generatedReference();
  if (storedReference(path) === after) return false;
  writeFileSync(path, after);
  return true;
}
