// Validates parsed data against a schema in schemas/. The validator also fills in every `default`
// the schema declares, so the schema is the single place where a default is written down
// (normalisation reads the filled-in data).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import type { Diagnostic } from '../core/errors.js';
import { diagnosticsFromAjv } from './ajv-diagnostics.js';
import { readSchema, schemasDigest, type SchemaKind } from './schema-files.js';
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

type Validators = Record<SchemaKind, ValidateFunction>;

/** The first line of the build's validators module: the digest of the schemas it was made from. */
export const BUILT_HEADER = '// regbook validators for schemas sha256 ';
const BUILT = fileURLToPath(new URL('./validators.cjs', import.meta.url));

/**
 * The build compiles both schemas into validation code (scripts/build-validators.mjs), which loads
 * far faster than loading ajv and compiling the schemas on every start. It is used only when it was
 * made from the schemas as they are now; otherwise (run from the sources with tsx, or a schema
 * changed since the build) the schemas are compiled here with the same options.
 */
export function builtValidators(file = BUILT): Validators | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  if (!text.startsWith(`${BUILT_HEADER}${schemasDigest()}\n`)) return undefined;
  return require(file) as Validators;
}

let validators: Validators | undefined;

function validatorFor(kind: SchemaKind): ValidateFunction {
  validators ??= builtValidators() ?? compileSchemas();
  return validators[kind];
}

/** Both schemas compiled at run time, as the build compiles them. */
export function compileSchemas(): Validators {
  const Ajv = (require('ajv/dist/2020.js') as { Ajv2020: typeof Ajv2020 }).Ajv2020;
  const compile = (kind: SchemaKind) => new Ajv(AJV_OPTIONS).compile(readSchema(kind));
  return { playbook: compile('playbook'), inventory: compile('inventory') };
}

/** Checks `data` in place (filling defaults) and returns a diagnostic for every violation. */
export function checkSchema(kind: SchemaKind, data: unknown, src: PositionSource): Diagnostic[] {
  const validate = validatorFor(kind);
  if (validate(data)) return [];
  return diagnosticsFromAjv(src, validate.errors ?? []);
}
