// validate's checks of the files on this machine that a run reads: identity files, known_hosts and
// `docker save` archives, each problem named by file, line and field.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { loadBoth } from '../../../src/config/index.js';
import { InputError, formatDiagnostic } from '../../../src/core/errors.js';
import { writeInputs } from './helpers.js';

const HEX = (c: string) => c.repeat(64);

/** Files a case may refer to, made in the directory of the inputs (relative paths resolve there). */
function makeFixtures(dir: string): void {
  writeFileSync(join(dir, 'id_key'), 'key\n', { mode: 0o600 });
  writeFileSync(join(dir, 'known_hosts'), '');
  mkdirSync(join(dir, 'a-dir'));
  writeFileSync(
    join(dir, 'text.tar'),
    'not a tarball at all, just text that is long enough to fill a header. '.repeat(10),
  );
  const tarOf = (name: string, files: Record<string, string>) => {
    const src = join(dir, `${name}.d`);
    mkdirSync(src);
    for (const [f, body] of Object.entries(files)) writeFileSync(join(src, f), body);
    execFileSync('tar', ['-cf', join(dir, name), '-C', src, ...Object.keys(files)]);
  };
  const image = (c: string) => ({ Config: `blobs/sha256/${HEX(c)}`, RepoTags: [`x:${c}`], Layers: [] });
  tarOf('one.tar', { 'oci-layout': '{}', 'manifest.json': JSON.stringify([image('a')]) });
  tarOf('two.tar', { 'manifest.json': JSON.stringify([image('a'), image('b')]) });
  tarOf('nomanifest.tar', { 'index.json': '{}' });
  tarOf('badmanifest.tar', { 'manifest.json': '{"not": "a list"' });
}

/** The formatted diagnostics (paths relative to the inputs' directory), [] when the files pass. */
function check(playbook: string, inventory: string): string[] {
  const files = writeInputs(playbook, inventory);
  makeFixtures(files.dir);
  try {
    loadBoth(files.playbook, files.inventory, { localFiles: true });
    return [];
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return err.diagnostics.map((d) =>
      formatDiagnostic(d)
        .split(files.dir + '/')
        .join(''),
    );
  }
}

const PB = 'version: 1\nregistry:\n  address: master:5000\n';
const inv = (defaults: string, worker = '') =>
  `defaults:\n  knownHosts: ./known_hosts\n${defaults}master:\n  name: master\n  address: 10.0.0.10\nworkers:\n  - name: w1\n    address: 10.0.0.11\n${worker}`;

describe('local files a run needs', () => {
  const table: Array<[string, string, string, string[]]> = [
    ['all present', PB, inv('  identityFile: ./id_key\n'), []],
    ['no identity file named: the agent and default keys, nothing to check', PB, inv(''), []],
    [
      'a missing identity file in defaults: once, at its line',
      PB,
      inv('  identityFile: ./nope\n'),
      ['inventory.yaml:3:17: defaults.identityFile: identity file nope does not exist'],
    ],
    [
      'a missing identity file on a host: at the host’s line',
      PB,
      inv('', '    identityFile: ./gone_key\n'),
      ['inventory.yaml:9:19: workers.0.identityFile: identity file gone_key does not exist'],
    ],
    [
      'an identity file that is a directory',
      PB,
      inv('  identityFile: ./a-dir\n'),
      ['inventory.yaml:3:17: defaults.identityFile: identity file a-dir is not a file'],
    ],
    [
      'a missing known_hosts with strict checking',
      PB,
      'defaults:\n  knownHosts: ./kh-missing\nmaster: {name: m, address: 10.0.0.1}\n',
      [
        'inventory.yaml:2:15: defaults.knownHosts: known_hosts file kh-missing does not exist (hostKeyChecking: strict needs every host key in it: add them with ssh-keyscan, or use accept-new)',
      ],
    ],
    [
      'a missing known_hosts with accept-new: it will be made',
      PB,
      'defaults:\n  knownHosts: ./kh-missing\n  hostKeyChecking: accept-new\nmaster: {name: m, address: 10.0.0.1}\n',
      [],
    ],
    [
      'a missing known_hosts with checking off',
      PB,
      'defaults:\n  knownHosts: ./kh-missing\n  hostKeyChecking: "off"\nmaster: {name: m, address: 10.0.0.1}\n',
      [],
    ],
    [
      'a local host needs no SSH files',
      PB,
      'defaults:\n  knownHosts: ./kh-missing\n  identityFile: ./nope\nmaster: {name: m, connection: local}\n',
      [],
    ],
    [
      'a missing registry.imageArchive',
      `${PB}  imageArchive: ./registry.tar\n`,
      inv(''),
      ['site.yaml:4:17: registry.imageArchive: archive registry.tar does not exist'],
    ],
    ['a docker save archive', `${PB}  imageArchive: ./two.tar\n`, inv(''), []],
    [
      'an archive that is not a tarball',
      `${PB}  imageArchive: ./text.tar\n`,
      inv(''),
      [
        'site.yaml:4:17: registry.imageArchive: archive text.tar is not a tar archive (docker save writes one)',
      ],
    ],
    [
      'a tarball without manifest.json',
      `${PB}  imageArchive: ./nomanifest.tar\n`,
      inv(''),
      [
        'site.yaml:4:17: registry.imageArchive: archive nomanifest.tar is not a docker save archive (no manifest.json in it)',
      ],
    ],
    [
      'a manifest.json that is not docker’s',
      `${PB}  imageArchive: ./badmanifest.tar\n`,
      inv(''),
      [
        "site.yaml:4:17: registry.imageArchive: archive badmanifest.tar has a manifest.json that is not docker's (a JSON list of images)",
      ],
    ],
    [
      'an image archive with one image',
      `${PB}images:\n  - name: app:0.1\n    source: {archive: ./one.tar}\n`,
      inv(''),
      [],
    ],
    [
      'an image archive with two images, and a missing one',
      `${PB}images:\n  - name: app:0.1\n    source: {archive: ./two.tar}\n  - name: app:0.2\n    source: {archive: ./none.tar}\n`,
      inv(''),
      [
        "site.yaml:6:23: images.0.source.archive: archive two.tar holds 2 images; an image's archive holds one",
        'site.yaml:8:23: images.1.source.archive: archive none.tar does not exist',
      ],
    ],
    [
      'problems of both files together',
      `${PB}  imageArchive: ./registry.tar\n`,
      inv('  identityFile: ./nope\n'),
      [
        'inventory.yaml:3:17: defaults.identityFile: identity file nope does not exist',
        'site.yaml:4:17: registry.imageArchive: archive registry.tar does not exist',
      ],
    ],
  ];
  for (const [what, pb, inventory, want] of table)
    it(what, () => assert.deepEqual(check(pb, inventory), want));

  it('an identity file this user cannot read (mode 000) is named, with its line and field', () => {
    const files = writeInputs(PB, inv('  identityFile: ./id_key\n'));
    makeFixtures(files.dir);
    chmodSync(join(files.dir, 'id_key'), 0o000);
    // root reads any file whatever its mode: the check runs as an unprivileged user (nobody) then.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chmodSync(files.dir, 0o755);
    const loader = pathToFileURL(join(import.meta.dirname, '../../../src/config/index.ts')).href;
    const script =
      `const { loadBoth } = await import(${JSON.stringify(loader)});` +
      `try { loadBoth(process.argv[1], process.argv[2], { localFiles: true }); console.log('[]'); }` +
      ` catch (e) { console.log(JSON.stringify(e.diagnostics.map((d) => [d.line, d.col, d.message]))); }`;
    const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
    const argv = asRoot
      ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...node]
      : node;
    const out = execFileSync(argv[0]!, [...argv.slice(1), files.playbook, files.inventory], {
      cwd: join(import.meta.dirname, '../../..'),
      env: { ...process.env, HOME: files.dir },
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(out), [
      [3, 17, `identity file ${join(files.dir, 'id_key')} cannot be read (EACCES)`],
    ]);
  });

  it('without localFiles, loading does not look at them (commands that only read the cluster)', () => {
    const files = writeInputs(`${PB}  imageArchive: ./registry.tar\n`, inv('  identityFile: ./nope\n'));
    assert.doesNotThrow(() => loadBoth(files.playbook, files.inventory));
  });
});
