// The validate, schema and init commands, run as a user runs them: a child process and its exit code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadBoth } from '../../../src/config/index.js';
import { GOOD_INVENTORY, tempDir, writeInputs } from './helpers.js';

const REPO = resolve(import.meta.dirname, '../../..');
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A home directory with the files the example inventory names (~/.ssh/id_ed25519, known_hosts…):
 * validate checks that they exist, and this machine's own home need not have them.
 */
const HOME = tempDir();
mkdirSync(join(HOME, '.ssh'));
for (const f of ['id_ed25519', 'deploy_ed25519', 'known_hosts'])
  writeFileSync(join(HOME, '.ssh', f), '', { mode: 0o600 });

async function regbook(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: REPO,
      env: { ...env, HOME },
      encoding: 'utf8',
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('regbook validate', { concurrency: true }, () => {
  it('accepts the example playbook: exit 0 and a summary', async () => {
    const r = await regbook(['validate', 'playbooks/site.yaml', '-i', 'inventory.example.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ok: playbooks/site.yaml (4 hosts, 2 images)\n');
  });

  it('prints every diagnostic to stderr and exits 1', async () => {
    const f = writeInputs(
      'version: 1\nregistry:\n  address: master:5000\n  port: 99999\nimages:\n  - name: "app;id"\n',
      GOOD_INVENTORY,
    );
    const r = await regbook(['validate', f.playbook, '-i', f.inventory]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `${f.playbook}:4:9: registry.port: must be between 1 and 65535 (got 99999)`,
      `${f.playbook}:6:11: images.0.name: must be an image name such as app:0.1: lowercase letters and digits separated by . _ - and /, then an optional :tag (got 'app;id')`,
    ]);
  });

  it('reports problems of both files together', async () => {
    const f = writeInputs(
      'version: 1\nregistry: {address: master:5000, colour: red}\n',
      'master: {name: master}\n',
    );
    const r = await regbook(['validate', f.playbook, '-i', f.inventory]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /inventory\.yaml:1:9: master\.address: required key is missing/);
    assert.match(r.stderr, /site\.yaml:2:34: registry\.colour: unknown key 'colour'/);
  });

  it('refuses bytes that are not UTF-8 with exit 1', async () => {
    const f = writeInputs(Buffer.from([0x76, 0x65, 0x72, 0x3a, 0x20, 0xe9, 0x0a]), GOOD_INVENTORY);
    const r = await regbook(['validate', f.playbook, '-i', f.inventory]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /site\.yaml:1:6: \(document\): not UTF-8 text \(byte 0xe9 at offset 5\)/);
  });

  it('refuses a YAML bomb with exit 1', async () => {
    const levels = ['a: &a [x,x,x,x,x,x,x,x,x,x]'];
    for (const [prev, name] of ['ab', 'bc', 'cd', 'de', 'ef', 'fg', 'gh', 'hi', 'ij']) {
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(',')}]`);
    }
    const f = writeInputs(levels.join('\n') + '\n', GOOD_INVENTORY);
    const r = await regbook(['validate', f.playbook, '-i', f.inventory]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /aliases expand too much/);
  });

  it('needs -i', async () => {
    const r = await regbook(['validate', 'playbooks/site.yaml']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /inventory/);
  });

  it('warns, without failing, about a registry with delete enabled and no auth', async () => {
    const open = writeInputs(
      'version: 1\nregistry:\n  address: master:5000\n  deleteEnabled: true\n',
      GOOD_INVENTORY,
    );
    const r = await regbook(['validate', open.playbook, '-i', open.inventory]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^warning: ${open.playbook.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:18: registry\\.deleteEnabled: the registry has no auth and deleteEnabled: true: anyone who reaches 0\\.0\\.0\\.0:5000 can push, overwrite and delete images`,
        'm',
      ),
    );
    for (const quiet of [
      'version: 1\nregistry:\n  address: master:5000\n  deleteEnabled: false\n',
      'version: 1\nregistry:\n  address: master:5000\n  deleteEnabled: true\n  auth:\n    users: [{username: ci, password: "${env:PW}"}]\n',
    ]) {
      const f = writeInputs(quiet, GOOD_INVENTORY);
      const q = await regbook(['validate', f.playbook, '-i', f.inventory]);
      assert.equal(q.code, 0, q.stderr);
      assert.doesNotMatch(q.stderr, /warning/);
    }
  });

  it('refuses a registry.bind that is not an IP address, naming file and line', async () => {
    const f = writeInputs(
      'version: 1\nregistry:\n  address: master:5000\n  bind: 10.0.0.999\n',
      GOOD_INVENTORY,
    );
    const r = await regbook(['validate', f.playbook, '-i', f.inventory]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      `${f.playbook}:4:9: registry.bind: '10.0.0.999' is not an IPv4 or IPv6 address`,
    );
  });

  it('names env references as a note, without failing', async () => {
    const f = writeInputs(
      'version: 1\nregistry:\n  address: master:5000\n  auth:\n    users: [{username: ci, password: "${env:REGBOOK_TEST_UNSET_PW}"}]\n',
      GOOD_INVENTORY,
    );
    const env = { ...process.env };
    delete env.REGBOOK_TEST_UNSET_PW;
    const r = await regbook(['validate', f.playbook, '-i', f.inventory], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /note: apply reads REGBOOK_TEST_UNSET_PW from the environment; not set in this shell/,
    );
  });

  it('apply and validate refuse a password under 12 characters before contacting any host, naming the reference', async () => {
    const f = writeInputs(
      'version: 1\nregistry:\n  address: master:5000\n  auth:\n    users:\n      - username: ci\n        password: "${env:REGBOOK_TEST_PW}"\n',
      GOOD_INVENTORY,
    );
    const short = await regbook(['apply', f.playbook, '-i', f.inventory], {
      ...process.env,
      REGBOOK_TEST_PW: 'elevenchars',
    });
    assert.equal(short.code, 1, short.stderr);
    assert.equal(
      short.stderr.trim(),
      `${f.playbook}:7:19: registry.auth.users.0.password: the password of 'ci' (environment variable ` +
        'REGBOOK_TEST_PW) is 11 characters long; use at least 12',
    );
    assert.ok(!short.stderr.includes('elevenchars') && !short.stdout.includes('elevenchars'));
    // validate judges it too where the variable is set, with the same message; unset, it cannot.
    const validated = await regbook(['validate', f.playbook, '-i', f.inventory], {
      ...process.env,
      REGBOOK_TEST_PW: 'elevenchars',
    });
    assert.equal(validated.code, 1, validated.stderr);
    assert.equal(validated.stderr.trim(), short.stderr.trim());
    const unset = await regbook(['validate', f.playbook, '-i', f.inventory], {
      ...process.env,
      REGBOOK_TEST_PW: '',
    });
    assert.equal(unset.code, 0, unset.stderr);
  });

  it('--help shows an example', async () => {
    const r = await regbook(['validate', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Examples:\n\s+regbook validate site\.yaml -i inventory\.yaml/);
  });
});

describe('regbook schema', { concurrency: true }, () => {
  for (const kind of ['playbook', 'inventory']) {
    it(`${kind}: prints the schema file byte for byte`, async () => {
      const r = await regbook(['schema', kind]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, readFileSync(join(REPO, 'schemas', `${kind}.schema.json`), 'utf8'));
      assert.equal(JSON.parse(r.stdout).$schema, 'https://json-schema.org/draft/2020-12/schema');
    });
  }

  it('refuses an unknown kind with exit 1', async () => {
    const r = await regbook(['schema', 'hosts']);
    assert.equal(r.code, 1);
  });

  it('--help shows an example', async () => {
    const r = await regbook(['schema', '--help']);
    assert.match(r.stdout, /Examples:\n\s+regbook schema playbook/);
  });
});

describe('local files, before any connection', () => {
  it('apply stops with exit 1 on a missing identity file or archive, naming file:line and field', async () => {
    const f = writeInputs(
      'version: 1\nregistry:\n  address: master:5000\n  imageArchive: ./registry-2.tar\n',
      // 192.0.2.1 (TEST-NET-1) answers nobody: a connection attempt would hang, not fail fast.
      'defaults:\n  identityFile: ./missing_key\nmaster:\n  name: master\n  address: 192.0.2.1\n',
    );
    for (const cmd of ['validate', 'apply']) {
      const r = await regbook([cmd, f.playbook, '-i', f.inventory]);
      assert.equal(r.code, 1, `${cmd}: ${r.stderr}`);
      assert.deepEqual(r.stderr.trim().split('\n'), [
        `${f.inventory}:2:17: defaults.identityFile: identity file ${join(f.dir, 'missing_key')} does not exist`,
        `${f.playbook}:4:17: registry.imageArchive: archive ${join(f.dir, 'registry-2.tar')} does not exist`,
      ]);
    }
  });
});

describe('regbook init', { concurrency: true }, () => {
  it('writes a starter pair that validates and points editors at the schemas', async () => {
    const dir = join(tempDir(), 'infra');
    const r = await regbook(['init', dir]);
    assert.equal(r.code, 0, r.stderr);
    for (const [file, kind] of [
      ['site.yaml', 'playbook'],
      ['inventory.yaml', 'inventory'],
    ]) {
      const text = readFileSync(join(dir, file!), 'utf8');
      const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
      assert.ok(m, `${file} starts with the schema comment`);
      // Beside the files, referenced relatively: it survives a commit and a clone elsewhere.
      assert.equal(m[1], `./.regbook/${kind}.schema.json`);
      assert.deepEqual(
        readFileSync(resolve(dir, m[1]!)),
        readFileSync(join(REPO, 'schemas', `${kind}.schema.json`)),
        'the schema written is the one validate uses',
      );
    }
    assert.doesNotMatch(
      readFileSync(join(dir, 'site.yaml'), 'utf8'),
      new RegExp(REPO),
      'no path into this checkout',
    );
    const v = await regbook(['validate', join(dir, 'site.yaml'), '-i', join(dir, 'inventory.yaml')]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^ok: .*site\.yaml \(3 hosts, 0 images\)\n$/);
    // Auth from the start, its password from the environment; nothing to warn about.
    assert.match(v.stderr, /note: apply reads REGBOOK_CI_PASSWORD from the environment/);
    assert.doesNotMatch(v.stderr, /warning/);
    const { playbook } = loadBoth(join(dir, 'site.yaml'), join(dir, 'inventory.yaml'));
    assert.deepEqual(
      playbook.registry.auth?.users.map((u) => ({
        username: u.username,
        env: typeof u.password === 'string' ? u.password : u.password.env,
      })),
      [{ username: 'ci', env: 'REGBOOK_CI_PASSWORD' }],
    );
    assert.equal(playbook.registry.bind, '0.0.0.0');
  });

  it('refuses to overwrite, then overwrites with --force', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'site.yaml'), 'mine\n');
    const refused = await regbook(['init', dir]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /site\.yaml already exists; use --force/);
    assert.equal(readFileSync(join(dir, 'site.yaml'), 'utf8'), 'mine\n');
    assert.equal(existsSync(join(dir, 'inventory.yaml')), false, 'nothing written when refusing');
    const forced = await regbook(['init', dir, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(readFileSync(join(dir, 'site.yaml'), 'utf8'), /^# yaml-language-server/);
    assert.ok(existsSync(join(dir, 'inventory.yaml')));
  });

  it('--help shows an example', async () => {
    const r = await regbook(['init', '--help']);
    assert.match(r.stdout, /Examples:\n\s+regbook init infra/);
  });
});
