// Loading the two input files: read YAML (with positions), check the schema (which also fills in
// defaults), apply the semantic rules, and build the normalised model. Every problem found is
// collected; the loaders throw one InputError listing them all.
import { InputError, type Diagnostic } from '../core/errors.js';
import { sortDiagnostics } from './ajv-diagnostics.js';
import { normaliseInventory } from './inventory.js';
import { localFileDiagnostics } from './local-files.js';
import type { Inventory, Playbook } from './model.js';
import { normalisePlaybook } from './playbook.js';
import type { PositionSource } from './positions.js';
import { checkSchema } from './schema-check.js';
import { readYamlFile } from './yaml-source.js';

export type * from './model.js';
export { schemaPath, readSchemaBytes, SCHEMA_KINDS, type SchemaKind } from './schema-files.js';

type Outcome<T> = { value?: T; diagnostics: Diagnostic[]; source?: PositionSource };

function inventoryOutcome(path: string): Outcome<Inventory> {
  const read = readYamlFile(path);
  if (!read.ok) return { diagnostics: read.diagnostics };
  const schemaProblems = checkSchema('inventory', read.source.data, read.source);
  if (schemaProblems.length > 0) return { diagnostics: schemaProblems };
  const { value, diagnostics } = normaliseInventory(read.source, read.source.data);
  return diagnostics.length > 0 ? { diagnostics } : { value, diagnostics, source: read.source };
}

/** `inventory` undefined: the inventory failed; rules that need its hosts are skipped. */
function playbookOutcome(path: string, inventory: Inventory | undefined): Outcome<Playbook> {
  const read = readYamlFile(path);
  if (!read.ok) return { diagnostics: read.diagnostics };
  const schemaProblems = checkSchema('playbook', read.source.data, read.source);
  if (schemaProblems.length > 0) return { diagnostics: schemaProblems };
  const { value, diagnostics } = normalisePlaybook(read.source, read.source.data, inventory);
  return diagnostics.length > 0 ? { diagnostics } : { value, diagnostics, source: read.source };
}

function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.value === undefined || outcome.diagnostics.length > 0) {
    throw new InputError(sortDiagnostics(outcome.diagnostics));
  }
  return outcome.value;
}

/** Reads, checks and normalises an inventory file. Throws InputError with every problem found. */
export function loadInventory(path: string): Inventory {
  return unwrap(inventoryOutcome(path));
}

/** Reads, checks and normalises a playbook against a loaded inventory. Throws InputError. */
export function loadPlaybook(path: string, inventory: Inventory): Playbook {
  return unwrap(playbookOutcome(path, inventory));
}

/**
 * Both files; the problems of both are reported together (the playbook is still checked for
 * syntax and schema when the inventory is broken). With `localFiles`, also the files on this
 * machine that a run reads (identity files, known_hosts, archives): validate and apply ask for
 * that; commands that only read the cluster do not need the archives.
 */
export function loadBoth(
  playbookPath: string,
  inventoryPath: string,
  opts: { localFiles?: boolean } = {},
): { playbook: Playbook; inventory: Inventory } {
  const inv = inventoryOutcome(inventoryPath);
  const pb = playbookOutcome(playbookPath, inv.value);
  const diagnostics = [...sortDiagnostics(inv.diagnostics), ...sortDiagnostics(pb.diagnostics)];
  if (diagnostics.length > 0 || !inv.value || !pb.value) throw new InputError(diagnostics);
  if (opts.localFiles && inv.source && pb.source) {
    const files = localFileDiagnostics(pb.value, inv.value, { playbook: pb.source, inventory: inv.source });
    if (files.length > 0) throw new InputError(files);
  }
  return { playbook: pb.value, inventory: inv.value };
}
