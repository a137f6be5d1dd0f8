// Compiles the JSON Schemas into validation code at build time (ajv's standalone code), so the CLI
// loads two small functions instead of loading ajv and compiling the schemas on every start.
// Runs after tsc: the options come from the built schema-check module, the one place they live.
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standalone from 'ajv/dist/standalone/index.js';
import { AJV_OPTIONS, BUILT_HEADER } from '../dist/config/schema-check.js';
import { readSchema, SCHEMA_KINDS, schemasDigest } from '../dist/config/schema-files.js';

export const VALIDATORS_FILE = fileURLToPath(new URL('../dist/config/validators.cjs', import.meta.url));

/** A CommonJS module exporting one validation function per schema kind, headed by the schemas' digest. */
export function validatorsCode() {
  const ajv = new Ajv2020({ ...AJV_OPTIONS, code: { ...AJV_OPTIONS.code, source: true } });
  for (const kind of SCHEMA_KINDS) ajv.addSchema(readSchema(kind), kind);
  const code = standalone.default(ajv, Object.fromEntries(SCHEMA_KINDS.map((k) => [k, k])));
  return `${BUILT_HEADER}${schemasDigest()}\n${code}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync(VALIDATORS_FILE, validatorsCode());
