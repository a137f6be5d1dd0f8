// The built CLI validates with code compiled from the schemas at build time; the sources compile
// the schemas at run time. Both must say the same thing about every input.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { ValidateFunction } from 'ajv';
import * as YAML from 'js-yaml';
import { BUILT_HEADER, builtValidators, compileSchemas } from '../../../src/config/schema-check.js';
import { GOOD_INVENTORY, GOOD_PLAYBOOK } from './helpers.js';

const REPO = resolve(import.meta.dirname, '../../..');
const BUILT = join(REPO, 'dist/config/validators.cjs');

const site = readFileSync(join(REPO, 'playbooks/site.yaml'), 'utf8');
const PLAYBOOKS = [
  site,
  readFileSync(join(REPO, 'playbooks/selfsigned.yaml'), 'utf8'),
  GOOD_PLAYBOOK,
  site.replace('keyBits: 2048', 'keyBits: 1000'),
  site.replace('mode: ca', 'mode: weird'),
  site.replace('address: master:5000', 'adress: master:5000'),
  site.replace('restartDocker: never', 'restartDocker: 3'),
  'version: 2\nregistry: {}\nimages: [{name: "", pullOn: 7}]\n',
];
const INVENTORIES = [
  GOOD_INVENTORY,
  GOOD_INVENTORY.replace('address: 10.0.0.11', 'address: [1]'),
  GOOD_INVENTORY.replace('name: worker2', 'name: "bad name"'),
  'workers: []\n',
];

function outcome(validate: ValidateFunction, text: string) {
  const data: unknown = YAML.load(text);
  const valid = validate(data);
  return { valid, errors: validate.errors ?? null, data };
}

describe('validators compiled by the build', () => {
  it('are what the schemas compile to now (a schema change needs a build)', async (t) => {
    if (!existsSync(BUILT)) return t.skip('dist/ is not built (npm run build)');
    const script = (await import(join(REPO, 'scripts/build-validators.mjs'))) as {
      validatorsCode: () => string;
    };
    assert.equal(readFileSync(BUILT, 'utf8'), script.validatorsCode());
  });

  it('are used only when made from the schemas as they are now, and not at all when missing', (t) => {
    if (!existsSync(BUILT)) return t.skip('dist/ is not built (npm run build)');
    assert.equal(typeof builtValidators(BUILT)?.playbook, 'function');
    const text = readFileSync(BUILT, 'utf8');
    assert.ok(text.startsWith(BUILT_HEADER), text.slice(0, 80));
    const dir = mkdtempSync(join(tmpdir(), 'regbook-validators-'));
    const stale = join(dir, 'validators.cjs');
    writeFileSync(stale, text.replace(/^(.*sha256 )[0-9a-f]{8}/, '$1deadbeef'));
    assert.equal(builtValidators(stale), undefined, 'validators made from other schemas were used');
    assert.equal(builtValidators(join(dir, 'missing.cjs')), undefined);
  });

  it('report the same errors and fill in the same defaults as the schemas compiled at run time', (t) => {
    if (!existsSync(BUILT)) return t.skip('dist/ is not built (npm run build)');
    const built = createRequire(import.meta.url)(BUILT) as Record<'playbook' | 'inventory', ValidateFunction>;
    const runtime = compileSchemas();
    let invalid = 0;
    for (const [kind, texts] of [
      ['playbook', PLAYBOOKS],
      ['inventory', INVENTORIES],
    ] as const) {
      for (const text of texts) {
        const a = outcome(built[kind], text);
        const b = outcome(runtime[kind], text);
        assert.deepEqual(a, b, `${kind}:\n${text.slice(0, 200)}`);
        if (!a.valid) invalid++;
      }
    }
    // The comparison covers broken inputs, not only inputs both accept.
    assert.ok(invalid >= 7, `only ${invalid} invalid inputs`);
  });
});
