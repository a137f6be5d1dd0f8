// Shared by the config tests: write input files into a fresh temporary directory and load them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, type Diagnostic } from '../../../src/core/errors.js';
import { loadBoth } from '../../../src/config/index.js';

export const GOOD_INVENTORY = `master:
  name: master
  address: 10.0.0.10
workers:
  - name: worker1
    address: 10.0.0.11
  - name: worker2
    address: 10.0.0.12
`;

export const GOOD_PLAYBOOK = `version: 1
registry:
  address: master:5000
`;

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'regbook-config-'));
}

/** Writes the two files (text or raw bytes) and returns their paths. */
export function writeInputs(
  playbook: string | Buffer,
  inventory: string | Buffer,
): { dir: string; playbook: string; inventory: string } {
  const dir = tempDir();
  const files = { dir, playbook: join(dir, 'site.yaml'), inventory: join(dir, 'inventory.yaml') };
  writeFileSync(files.playbook, playbook);
  writeFileSync(files.inventory, inventory);
  return files;
}

/** Loads both files and returns the diagnostics of the InputError (throws if loading succeeded). */
export function diagnosticsOf(playbook: string | Buffer, inventory: string | Buffer): Diagnostic[] {
  const files = writeInputs(playbook, inventory);
  try {
    loadBoth(files.playbook, files.inventory);
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics;
    throw err;
  }
  throw new Error('expected an InputError, but both files loaded');
}

export function load(playbook: string, inventory: string = GOOD_INVENTORY) {
  const files = writeInputs(playbook, inventory);
  return { ...loadBoth(files.playbook, files.inventory), files };
}
