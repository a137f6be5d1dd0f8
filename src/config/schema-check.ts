// Validates parsed data against a schema in schemas/. Each schema is compiled once per process.
// The validator also fills in every `default` the schema declares, so the schema is the single
// place where a default is written down (normalisation reads the filled-in data).
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import type { Diagnostic } from '../core/errors.js';
import { diagnosticsFromAjv } from './ajv-diagnostics.js';
import { readSchemaBytes, type SchemaKind } from './schema-files.js';
import type { PositionSource } from './positions.js';

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

const compiled = new Map<SchemaKind, ValidateFunction>();

function validatorFor(kind: SchemaKind): ValidateFunction {
  let validate = compiled.get(kind);
  if (!validate) {
    const ajv = new Ajv2020(AJV_OPTIONS);
    validate = ajv.compile(JSON.parse(readSchemaBytes(kind).toString('utf8')) as object);
    compiled.set(kind, validate);
  }
  return validate;
}

/** Checks `data` in place (filling defaults) and returns a diagnostic for every violation. */
export function checkSchema(kind: SchemaKind, data: unknown, src: PositionSource): Diagnostic[] {
  const validate = validatorFor(kind);
  if (validate(data)) return [];
  return diagnosticsFromAjv(src, validate.errors ?? []);
}
