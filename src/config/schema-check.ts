// Validates parsed data against a schema in schemas/. The validator also fills in every `default`
// the schema declares, so the schema is the single place where a default is written down
// (normalisation reads the filled-in data).
import { createRequire } from 'node:module';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import type { Diagnostic } from '../core/errors.js';
import { diagnosticsFromAjv } from './ajv-diagnostics.js';
import { readSchemaBytes, type SchemaKind } from './schema-files.js';
import type { PositionSource } from './positions.js';

const require = createRequire(import.meta.url);

/**
 * validateSchema is off because checking a schema against the draft 2020-12 meta-schema costs more
 * than the rest of `validate` together; the schemas are fixed files, and a unit test checks them
 * against the meta-schema instead. `optimize: false` makes compiling faster at no measurable cost
 * for inputs this small.
 */
export const AJV_OPTIONS = {
  allErrors: true,
  verbose: true,
  useDefaults: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
  validateSchema: false,
  code: { optimize: false },
} as const;

/**
 * The build compiles both schemas into validation code (scripts/build-validators.mjs), which loads
 * in ~5 ms where loading ajv and compiling takes ~90 ms on every start. Run from the sources (tsx),
 * there is no such file, and the schemas are compiled here with the same options.
 */
let validators: Record<SchemaKind, ValidateFunction> | undefined;

function validatorFor(kind: SchemaKind): ValidateFunction {
  if (!validators) {
    try {
      validators = require('./validators.cjs') as Record<SchemaKind, ValidateFunction>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
      validators = compileSchemas();
    }
  }
  return validators[kind];
}

/** Both schemas compiled at run time, as the build compiles them. */
export function compileSchemas(): Record<SchemaKind, ValidateFunction> {
  const Ajv = (require('ajv/dist/2020.js') as { Ajv2020: typeof Ajv2020 }).Ajv2020;
  const compile = (kind: SchemaKind) =>
    new Ajv(AJV_OPTIONS).compile(JSON.parse(readSchemaBytes(kind).toString('utf8')) as object);
  return { playbook: compile('playbook'), inventory: compile('inventory') };
}

/** Checks `data` in place (filling defaults) and returns a diagnostic for every violation. */
export function checkSchema(kind: SchemaKind, data: unknown, src: PositionSource): Diagnostic[] {
  const validate = validatorFor(kind);
  if (validate(data)) return [];
  return diagnosticsFromAjv(src, validate.errors ?? []);
}
