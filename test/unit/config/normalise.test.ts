// Normalisation: every documented default (docs/reference.md) applied, selectors resolved to host names, paths made
// absolute, and the example files of the repository loading as they are.
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { loadBoth, loadInventory } from '../../../src/config/index.js';
import { GOOD_INVENTORY, GOOD_PLAYBOOK, load, writeInputs } from './helpers.js';

const REPO = resolve(import.meta.dirname, '../../..');

describe('playbook defaults', () => {
  const { playbook } = load(GOOD_PLAYBOOK + 'images:\n  - name: app\n');
  const table: [string, unknown, unknown][] = [
    ['registry.image', playbook.registry.image, 'registry:2'],
    ['registry.name', playbook.registry.name, 'registry'],
    ['registry.port', playbook.registry.port, 5000],
    ['registry.restart', playbook.registry.restart, 'always'],
    ['registry.dataDir', playbook.registry.dataDir, '/var/lib/regbook/registry'],
    ['registry.deleteEnabled', playbook.registry.deleteEnabled, false],
    ['registry.env', playbook.registry.env, {}],
    ['registry.auth', playbook.registry.auth, undefined],
    ['registry.imageArchive', playbook.registry.imageArchive, undefined],
    ['registry.addressHost', playbook.registry.addressHost, 'master'],
    ['registry.addressPort', playbook.registry.addressPort, 5000],
    ['tls.dir', playbook.tls.dir, '/etc/regbook/certs'],
    ['tls.mode', playbook.tls.mode, 'ca'],
    ['tls.commonName (the address host)', playbook.tls.commonName, 'master'],
    ['tls.subjectAltNames (the address host)', playbook.tls.subjectAltNames, ['DNS:master']],
    ['tls.days', playbook.tls.days, 800],
    ['tls.keyBits', playbook.tls.keyBits, 2048],
    ['tls.renewBeforeDays', playbook.tls.renewBeforeDays, 30],
    ['trust.hosts (all)', playbook.trust.hosts, ['master', 'worker1', 'worker2']],
    ['trust.runtimes', playbook.trust.runtimes, ['docker']],
    ['trust.dockerCertsD', playbook.trust.dockerCertsD, true],
    ['trust.system (opt-in)', playbook.trust.system, false],
    ['trust.restartDocker (no restart)', playbook.trust.restartDocker, 'never'],
    ['trust.serial', playbook.trust.serial, 1],
    ['images.0.name (tag latest)', playbook.images[0]?.name, 'app:latest'],
    ['images.0.repository', playbook.images[0]?.repository, 'app'],
    ['images.0.tag', playbook.images[0]?.tag, 'latest'],
    ['images.0.state', playbook.images[0]?.state, 'present'],
    ['images.0.source (the master)', playbook.images[0]?.source, { host: 'master' }],
    ['images.0.pullOn (workers)', playbook.images[0]?.pullOn, ['worker1', 'worker2']],
    ['version', playbook.version, 1],
    ['envRefs', playbook.envRefs, []],
  ];
  for (const [field, actual, expected] of table) {
    it(field, () => assert.deepEqual(actual, expected));
  }
});

describe('playbook values as written', () => {
  it('resolves selectors, archives, env references and absent images', () => {
    const { playbook, files } = load(
      `version: 1
registry:
  address: "[::1]:5443"
  imageArchive: ./registry-2.tar
  deleteEnabled: true
  env: {REGISTRY_LOG_LEVEL: debug, REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED: false}
  auth:
    users:
      - {username: ci, password: "\${env:CI_PW}"}
      - {username: ops, password: "\${env:OPS_PW}"}
      - {username: bot, password: "\${env:CI_PW}"}
tls:
  subjectAltNames: ["IP:0:0:0:0:0:0:0:1"]
trust:
  hosts: all
images:
  - name: team/app:1.0
    source: {archive: images/app.tar}
    pullOn: all
  - name: base:1
    source: {pull: docker.io/library/debian:12}
    pullOn: [worker2]
  - name: old
    state: absent
`,
    );
    assert.equal(playbook.registry.addressHost, '::1');
    assert.equal(playbook.registry.addressPort, 5443);
    assert.equal(playbook.tls.commonName, '::1');
    assert.equal(playbook.registry.imageArchive, join(files.dir, 'registry-2.tar'));
    assert.deepEqual(playbook.registry.env, {
      REGISTRY_LOG_LEVEL: 'debug',
      REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED: 'false',
    });
    const auth = playbook.registry.auth!;
    assert.deepEqual(
      auth.users.map((u) => (typeof u.password === 'string' ? '' : u.password.at?.line)),
      [9, 10, 11],
      'each reference keeps its line, for messages about the value it brings',
    );
    assert.deepEqual(
      {
        ...auth,
        users: auth.users.map((u) => ({ ...u, password: { env: (u.password as { env: string }).env } })),
      },
      {
        file: '/etc/regbook/auth/htpasswd',
        users: [
          { username: 'ci', password: { env: 'CI_PW' } },
          { username: 'ops', password: { env: 'OPS_PW' } },
          { username: 'bot', password: { env: 'CI_PW' } },
        ],
      },
    );
    assert.deepEqual(playbook.envRefs, ['CI_PW', 'OPS_PW']);
    assert.deepEqual(playbook.trust.hosts, ['master', 'worker1', 'worker2']);
    const [app, base, old] = playbook.images;
    assert.deepEqual(app?.source, { archive: join(files.dir, 'images/app.tar') });
    assert.deepEqual(app?.pullOn, ['master', 'worker1', 'worker2']);
    assert.equal(app?.repository, 'team/app');
    assert.deepEqual(base?.source, { pull: 'docker.io/library/debian:12' });
    assert.deepEqual(base?.pullOn, ['worker2']);
    assert.deepEqual(old, {
      name: 'old:latest',
      repository: 'old',
      tag: 'latest',
      state: 'absent',
      pullOn: [],
      source_ref: { file: playbook.file, line: 23, col: 5 },
    });
  });

  it('takes a whole ${env:NAME} registry.env value as a secret reference', () => {
    const { playbook } = load(
      GOOD_PLAYBOOK + '  env:\n    REGISTRY_HTTP_SECRET: ${env:HTTP_SECRET}\n    REGISTRY_LOG_LEVEL: info\n',
    );
    assert.deepEqual(playbook.registry.env, {
      REGISTRY_HTTP_SECRET: { env: 'HTTP_SECRET' },
      REGISTRY_LOG_LEVEL: 'info',
    });
    assert.deepEqual(playbook.envRefs, ['HTTP_SECRET']);
  });

  it('a wildcard SAN covers one label', () => {
    const { playbook } = load(
      'version: 1\nregistry:\n  address: reg.example.com\ntls:\n  subjectAltNames: ["DNS:*.EXAMPLE.com"]\n',
    );
    assert.equal(playbook.registry.addressPort, 443);
  });
});

describe('inventory defaults', () => {
  const { inventory } = load(GOOD_PLAYBOOK, GOOD_INVENTORY + '  - name: builder\n    connection: local\n');
  const [master, , , builder] = inventory.hosts;
  const table: [string, unknown, unknown][] = [
    ['hosts in order', inventory.hosts.map((h) => h.name), ['master', 'worker1', 'worker2', 'builder']],
    ['roles', inventory.hosts.map((h) => h.role), ['master', 'worker', 'worker', 'worker']],
    ['user', master?.user, 'root'],
    ['port', master?.port, 22],
    ['connection', master?.connection, 'ssh'],
    ['knownHosts', master?.knownHosts, join(homedir(), '.ssh/known_hosts')],
    ['hostKeyChecking', master?.hostKeyChecking, 'strict'],
    ['identityFile absent', master?.identityFile, undefined],
    ['become absent', master?.become, undefined],
    ['local host address', builder?.address, 'localhost'],
    ['local host connection', builder?.connection, 'local'],
    ['source position', master?.source.line, 2],
  ];
  for (const [field, actual, expected] of table) {
    it(field, () => assert.deepEqual(actual, expected));
  }

  it('host settings override defaults, which override the built-in ones', () => {
    const files = writeInputs(
      GOOD_PLAYBOOK,
      `defaults:
  user: admin
  identityFile: ~/.ssh/id_ed25519
  knownHosts: keys/known_hosts
  hostKeyChecking: accept-new
  become: sudo
master: {name: master, address: 10.0.0.10}
workers:
  - {name: worker1, address: 10.0.0.11, user: deploy, port: 2222, hostKeyChecking: "off", identityFile: /keys/w1}
`,
    );
    const inventory = loadInventory(files.inventory);
    const [master, worker] = inventory.hosts;
    assert.equal(master?.user, 'admin');
    assert.equal(master?.identityFile, join(homedir(), '.ssh/id_ed25519'));
    assert.equal(master?.knownHosts, join(files.dir, 'keys/known_hosts'));
    assert.equal(master?.hostKeyChecking, 'accept-new');
    assert.equal(master?.become, 'sudo');
    assert.equal(worker?.user, 'deploy');
    assert.equal(worker?.port, 2222);
    assert.equal(worker?.hostKeyChecking, 'off');
    assert.equal(worker?.identityFile, '/keys/w1');
    assert.equal(worker?.become, 'sudo');
  });
});

describe('the repository examples load', () => {
  for (const playbookFile of [
    'playbooks/site.yaml',
    'playbooks/selfsigned.yaml',
    'playbooks/system-trust.yaml',
  ]) {
    it(`${playbookFile} with inventory.example.yaml`, () => {
      const { playbook, inventory } = loadBoth(
        join(REPO, playbookFile),
        join(REPO, 'inventory.example.yaml'),
      );
      assert.equal(playbook.registry.address, 'master:5000');
      assert.deepEqual(playbook.tls.subjectAltNames, ['DNS:master', 'IP:127.0.0.1']);
      assert.deepEqual(
        playbook.images.map((i) => [i.name, i.source]),
        [
          ['app:0.1', { host: 'master' }],
          ['app:0.2', { host: 'master' }],
        ],
      );
      assert.equal(playbook.tls.mode, playbookFile.includes('selfsigned') ? 'selfsigned' : 'ca');
      assert.deepEqual(
        playbook.trust.hosts,
        inventory.hosts.map((h) => h.name),
      );
    });
  }
});

describe('trust.hosts selectors', () => {
  it('workers resolves to the workers only', () => {
    const { playbook } = load(GOOD_PLAYBOOK + 'trust:\n  hosts: workers\n');
    assert.deepEqual(playbook.trust.hosts, ['worker1', 'worker2']);
  });
});

describe('which connection fields the inventory wrote', () => {
  it('marks user, port and identityFile written on the host or in defaults, not schema defaults', () => {
    const { inventory } = load(
      GOOD_PLAYBOOK,
      'defaults:\n  user: ops\nmaster:\n  name: master\n  address: 10.0.0.1\nworkers:\n  - name: w1\n    address: 10.0.0.2\n    port: 2222\n    identityFile: /k\n',
    );
    assert.deepEqual(inventory.master.explicit, { user: true, port: false, identityFile: false });
    assert.deepEqual(inventory.workers[0]!.explicit, { user: true, port: true, identityFile: true });
  });
});
