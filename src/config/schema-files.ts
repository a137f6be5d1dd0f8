// Where the JSON Schemas live. They sit in <package>/schemas, two levels above this module both in
// src/config (run with tsx) and in dist/config (the built CLI), so one relative URL serves both.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type SchemaKind = 'playbook' | 'inventory';

export const SCHEMA_KINDS: readonly SchemaKind[] = ['playbook', 'inventory'];

const SCHEMAS_DIR = new URL('../../schemas/', import.meta.url);

/** Absolute path of a schema file on this machine. */
export function schemaPath(kind: SchemaKind): string {
  return fileURLToPath(new URL(`${kind}.schema.json`, SCHEMAS_DIR));
}

/** The schema file's exact bytes, as `regbook schema` prints them and the validator compiles them. */
export function readSchemaBytes(kind: SchemaKind): Buffer {
  return readFileSync(schemaPath(kind));
}

/** A schema, parsed. */
export function readSchema(kind: SchemaKind): object {
  return JSON.parse(readSchemaBytes(kind).toString('utf8')) as object;
}

/** SHA-256 of every schema file, in SCHEMA_KINDS order: what the build's validators were made from. */
export function schemasDigest(): string {
  const h = createHash('sha256');
  for (const kind of SCHEMA_KINDS) h.update(readSchemaBytes(kind));
  return h.digest('hex');
}
