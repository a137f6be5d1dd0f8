import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Playbook } from '../../../src/config/model.js';
import type { HostFacts } from '../../../src/core/task.js';
import { hostFacts } from '../../../src/facts/os.js';
import { parseReadFiles, readFilesCmd } from '../../../src/facts/files.js';
import { parseManifest } from '../../../src/facts/archive.js';
import { desiredContainer, diffContainer, type Inspected } from '../../../src/tasks/container.js';
import { createBody } from '../../../src/tasks/container-engine.js';
import { trustFiles } from '../../../src/tasks/trust.js';
import { normaliseRef } from '../../../src/tasks/images.js';
import { parseImageJson } from '../../../src/facts/images.js';
import { Secret } from '../../../src/core/secret.js';
import { registrySettings } from './registry-settings.js';

const pb = {
  registry: { ...registrySettings, env: { REGISTRY_LOG_LEVEL: 'info' } },
  tls: { dir: '/etc/regbook/certs' },
  trust: { runtimes: ['docker'], dockerCertsD: true, system: true },
} as unknown as Playbook;

function inspectedFrom(spec: ReturnType<typeof desiredContainer>): Inspected {
  return {
    Image: 'sha256:aaa',
    Config: {
      Image: spec.image,
      Env: ['PATH=/usr/bin', ...Object.entries(spec.env).map(([k, v]) => `${k}=${v}`)],
      Labels: { ...spec.labels, 'org.opencontainers.x': 'y' },
    },
    HostConfig: {
      Binds: [...spec.binds].reverse(),
      PortBindings: { '5000/tcp': [{ HostIp: '', HostPort: String(spec.hostPort) }] },
      RestartPolicy: { Name: spec.restart },
    },
    State: { Running: true },
  };
}

describe('registry container plan', () => {
  const spec = desiredContainer(pb, 'AA:BB');
  it('finds no difference with a container made from the same spec (order and foreign env/labels ignored)', () => {
    assert.deepEqual(diffContainer(spec, inspectedFrom(spec), 'sha256:aaa'), []);
  });
  const cases: Array<[string, (i: Inspected) => void, string]> = [
    ['image', (i) => (i.Config!.Image = 'registry:2.7'), 'container.image'],
    ['image id', (i) => (i.Image = 'sha256:old'), 'container.image id'],
    [
      'env value',
      (i) => (i.Config!.Env = i.Config!.Env!.map((e) => e.replace('=info', '=debug'))),
      'container.env.REGISTRY_LOG_LEVEL',
    ],
    ['extra REGISTRY_ env', (i) => i.Config!.Env!.push('REGISTRY_FOO=1'), 'container.env.REGISTRY_FOO'],
    [
      'port',
      (i) => (i.HostConfig!.PortBindings!['5000/tcp']![0]!.HostPort = '5001'),
      'container.ports.5000/tcp',
    ],
    ['mounts', (i) => i.HostConfig!.Binds!.pop(), 'container.mounts'],
    ['restart', (i) => (i.HostConfig!.RestartPolicy!.Name = 'no'), 'container.restart'],
    [
      'certificate label',
      (i) => (i.Config!.Labels!['regbook.cert-sha256'] = 'CC:DD'),
      'container.labels.regbook.cert-sha256',
    ],
  ];
  for (const [name, mutate, what] of cases) {
    it(`reports a different ${name} as ${what}`, () => {
      const i = inspectedFrom(spec);
      mutate(i);
      const changes = diffContainer(spec, i, 'sha256:aaa');
      assert.deepEqual(
        changes.map((c) => c.what),
        [what],
      );
    });
  }
  it('marks a pending certificate as a label change without knowing its value', () => {
    const changes = diffContainer(spec, inspectedFrom(spec), 'sha256:aaa', {
      'regbook.cert-sha256': '(new certificate)',
    });
    assert.deepEqual(changes, [
      { what: 'container.labels.regbook.cert-sha256', from: 'AA:BB', to: '(new certificate)' },
    ]);
  });
  it('asks the daemon for every value as it is, mounting only the server pair', () => {
    const body = createBody(
      desiredContainer({ ...pb, registry: { ...pb.registry, env: { REGISTRY_X: "a b'$(id)" } } }, 'F'),
    ) as { Env: string[]; HostConfig: { Binds: string[] } };
    assert.ok(body.Env.includes("REGISTRY_X=a b'$(id)"), body.Env.join(' '));
    assert.ok(body.HostConfig.Binds.includes('/etc/regbook/certs/server.key:/certs/server.key:ro'));
    assert.doesNotMatch(JSON.stringify(body), /ca\.key/);
  });
  it('reads back equal from what the create request asks, as the daemon records it', () => {
    const s = desiredContainer(pb, 'AA:BB');
    const b = createBody(s) as {
      Image: string;
      Env: string[];
      Labels: Record<string, string>;
      HostConfig: Required<NonNullable<Inspected['HostConfig']>>;
    };
    const recorded: Inspected = {
      Image: 'sha256:aaa',
      Config: { Image: b.Image, Env: ['PATH=/usr/bin', ...b.Env], Labels: b.Labels },
      HostConfig: b.HostConfig,
      State: { Running: true },
    };
    assert.deepEqual(diffContainer(s, recorded, 'sha256:aaa'), []);
    const other = desiredContainer(
      { ...pb, registry: { ...pb.registry, restart: 'no' } } as Playbook,
      'AA:BB',
    );
    assert.deepEqual(diffContainer(other, recorded, 'sha256:aaa'), [
      { what: 'container.restart', from: pb.registry.restart, to: 'no' },
    ]);
  });
  it('sends ${env:…} settings only in the create request, and diffs them only as masks', () => {
    const value = "s3cr3t 'x' $(id)";
    const withSecret = {
      ...pb,
      registry: {
        ...pb.registry,
        env: { REGISTRY_LOG_LEVEL: 'info', REGISTRY_HTTP_SECRET: { env: 'HTTP_SECRET' } },
      },
    } as unknown as Playbook;
    const secrets = new Map([['HTTP_SECRET', new Secret(value)]]);
    const s = desiredContainer(withSecret, 'F', undefined, secrets);
    const env = (createBody(s) as { Env: string[] }).Env;
    assert.ok(env.includes(`REGISTRY_HTTP_SECRET=${value}`), 'the daemon is not given the secret');
    assert.ok(env.includes('REGISTRY_LOG_LEVEL=info'));
    assert.ok(!JSON.stringify(s).includes('s3cr3t'), 'the spec prints the secret');
    assert.equal(s.labels['regbook.secret-env'], 'REGISTRY_HTTP_SECRET');
    const same: Inspected = inspectedFrom({ ...s, env: { ...s.env, REGISTRY_HTTP_SECRET: value } });
    assert.deepEqual(diffContainer(s, same, 'sha256:aaa'), []);
    const other: Inspected = inspectedFrom({ ...s, env: { ...s.env, REGISTRY_HTTP_SECRET: 'old-value' } });
    const changes = diffContainer(s, other, 'sha256:aaa');
    assert.deepEqual(changes, [
      { what: 'container.env.REGISTRY_HTTP_SECRET', from: '***', to: '***', why: 'a secret setting differs' },
    ]);
    // Dropped from the playbook: the old value was a secret (the label says so): still masked.
    const dropped = diffContainer(desiredContainer(pb, 'F'), other, 'sha256:aaa');
    const d = dropped.find((x) => x.what === 'container.env.REGISTRY_HTTP_SECRET');
    assert.deepEqual(d, {
      what: 'container.env.REGISTRY_HTTP_SECRET',
      from: '***',
      why: 'a secret setting differs',
    });
    assert.ok(!JSON.stringify(dropped).includes('old-value'));
    assert.throws(
      () =>
        desiredContainer(
          withSecret,
          'F',
          undefined,
          new Map([['HTTP_SECRET', new Secret('a\nREGISTRY_AUTH=')]]),
        ),
      /holds a line break/,
    );
  });
  it('publishes the port on registry.bind; the default compares equal to a container made without it', () => {
    const at = (bind: string) =>
      desiredContainer({ ...pb, registry: { ...pb.registry, bind } } as Playbook, 'AA:BB');
    const p = (bind: string) =>
      (createBody(at(bind)) as { HostConfig: { PortBindings: Record<string, unknown[]> } }).HostConfig
        .PortBindings['5000/tcp'];
    assert.deepEqual(p('0.0.0.0'), [{ HostIp: '', HostPort: '5000' }]);
    assert.deepEqual(p('127.0.0.1'), [{ HostIp: '127.0.0.1', HostPort: '5000' }]);
    assert.deepEqual(p('fd00::5'), [{ HostIp: 'fd00::5', HostPort: '5000' }]);
    // docker records `-p 5000:5000` with an empty HostIp.
    assert.deepEqual(diffContainer(at('0.0.0.0'), inspectedFrom(spec), 'sha256:aaa'), []);
    const moved = diffContainer(at('127.0.0.1'), inspectedFrom(spec), 'sha256:aaa');
    assert.deepEqual(moved, [{ what: 'container.ports.5000/tcp', from: '5000', to: '127.0.0.1:5000' }]);
  });
  it('adds htpasswd settings and mount when auth is on', () => {
    const s = desiredContainer(
      { ...pb, registry: { ...pb.registry, auth: { file: '/etc/regbook/auth/htpasswd', users: [] } } },
      'F',
      'abc',
    );
    assert.equal(s.env.REGISTRY_AUTH, 'htpasswd');
    assert.ok(s.binds.includes('/etc/regbook/auth/htpasswd:/auth/htpasswd:ro'));
    assert.equal(s.labels['regbook.auth-sha256'], 'abc');
  });
});

describe('facts', () => {
  it('parses os-release families, docker’s presence, privilege and the logins older versions left', () => {
    const images = parseImageJson(
      JSON.stringify([{ Id: 'sha256:aa', RepoTags: ['master:5000/app:0.1'], RepoDigests: [] }]),
    );
    const f = hostFacts('id=debian\nid_like=\nversion=12\nuid=0\ndocker=present\n', images);
    assert.deepEqual(f, {
      osFamily: 'debian',
      osId: 'debian',
      osVersion: '12',
      dockerPresent: true,
      dockerRunning: true,
      images,
      privileged: true,
    });
    assert.equal(f.images.get('master:5000/app:0.1'), 'sha256:aa');
    const r = hostFacts('id=rocky\nid_like=rhel centos fedora\nversion=9\nuid=1000\n', undefined);
    assert.equal(r.osFamily, 'rhel');
    assert.equal(r.dockerPresent, false);
    assert.equal(r.privileged, false);
    assert.equal(hostFacts('id=ubuntu\nid_like=debian\n', undefined).osFamily, 'debian');
    assert.equal(hostFacts('id=alpine\n', undefined).osFamily, 'unknown');
    const stale = hostFacts(
      'id=debian\nstale_login=/tmp/regbook-docker.Ab12Cd\nstale_login=/tmp/regbook-docker.x; rm -rf /\nuid=0\n',
      undefined,
    );
    assert.deepEqual(stale.staleLogins, ['/tmp/regbook-docker.Ab12Cd'], 'only mktemp names are taken');
  });
  it('takes docker as running from the engine’s image list, and as not running without one', () => {
    const out = 'id=debian\nid_like=\nversion=12\nuid=0\ndocker=present\n';
    const images = new Map([['app:0.1', 'sha256:aa']]);
    const up = hostFacts(out, images);
    assert.equal(up.dockerRunning, true);
    assert.equal(up.images, images);
    const down = hostFacts(out, undefined);
    assert.equal(down.dockerPresent, true);
    assert.equal(down.dockerRunning, false);
    assert.equal(down.images.size, 0);
  });
  it('reads many files in one command, paths passed as arguments', () => {
    const cmd = readFilesCmd(['/a', "/b c'd"]);
    assert.deepEqual(cmd.argv.slice(-2), ['/a', "/b c'd"]);
    const m = parseReadFiles(['/a', '/b'], `F 644 ${Buffer.from('hi').toString('base64')}\nM\n`);
    assert.deepEqual(m.get('/a'), { mode: '644', content: Buffer.from('hi') });
    assert.equal(m.get('/b'), undefined);
    assert.throws(() => parseReadFiles(['/a', '/b'], 'M\n'), /expected 2/);
  });
  it('reads image ids from docker save manifests, old and OCI layouts', () => {
    const hex = 'a'.repeat(64);
    assert.deepEqual(parseManifest(JSON.stringify([{ Config: `${hex}.json`, RepoTags: ['app:0.1'] }])), [
      { id: `sha256:${hex}`, repoTags: ['app:0.1'] },
    ]);
    assert.equal(parseManifest(JSON.stringify([{ Config: `blobs/sha256/${hex}` }]))[0]!.id, `sha256:${hex}`);
  });
});

describe('trust files', () => {
  const facts = (osFamily: 'debian' | 'rhel' | 'unknown') => ({
    osFamily,
    osId: osFamily,
    osVersion: '',
    dockerPresent: true,
    dockerRunning: true,
    images: new Map<string, string>(),
    privileged: true,
  });
  const written = (p: Playbook, f: HostFacts) =>
    trustFiles(p, f)
      .filter((t) => !t.kind)
      .map((t) => t.path);
  it('uses certs.d and the family store', () => {
    assert.deepEqual(written(pb, facts('debian')), [
      '/etc/docker/certs.d/master:5000/ca.crt',
      '/usr/local/share/ca-certificates/regbook-master_5000.crt',
    ]);
    assert.deepEqual(trustFiles(pb, facts('rhel')).find((t) => t.system)!.refresh, [
      'update-ca-trust',
      'extract',
    ]);
    assert.throws(() => trustFiles(pb, facts('unknown')), /trust.system: false/);
  });
  const every = {
    ...pb,
    tls: { ...pb.tls, mode: 'ca' },
    trust: { runtimes: ['docker', 'containerd', 'podman'], dockerCertsD: true, system: false },
  } as unknown as Playbook;
  it('writes each runtime’s directory, and keeps the plain-HTTP drop-in away', () => {
    assert.deepEqual(written(every, facts('debian')), [
      '/etc/docker/certs.d/master:5000/ca.crt',
      '/etc/containerd/certs.d/master:5000/ca.crt',
      '/etc/containerd/certs.d/master:5000/hosts.toml',
      '/etc/containers/certs.d/master:5000/ca.crt',
    ]);
    const kinds = trustFiles(every, facts('debian')).filter((t) => t.kind);
    assert.deepEqual(
      kinds.map((t) => [t.path, t.kind]),
      [
        ['/etc/docker/daemon.json', 'read'],
        ['/etc/containerd/config.toml', 'read'],
        ['/etc/containers/registries.conf.d/regbook-master_5000.conf', 'absent'],
      ],
    );
  });
  it('tls.mode none: no certificate; containerd over http, podman’s insecure drop-in', () => {
    const none = { ...every, tls: { ...every.tls, mode: 'none' } } as Playbook;
    const files = trustFiles(none, facts('debian')).filter((t) => !t.kind);
    assert.deepEqual(
      files.map((t) => t.path),
      [
        '/etc/containerd/certs.d/master:5000/hosts.toml',
        '/etc/containers/registries.conf.d/regbook-master_5000.conf',
      ],
    );
    assert.match(files[0]!.data!, /server = "http:\/\/master:5000"/);
    assert.match(files[1]!.data!, /location = "master:5000"\ninsecure = true/);
  });
});

describe('local image list', () => {
  it('normalises references the way docker images shows them', () => {
    assert.equal(normaliseRef('app'), 'app:latest');
    assert.equal(normaliseRef('master:5000/app'), 'master:5000/app:latest');
    assert.equal(normaliseRef('master:5000/app:0.1'), 'master:5000/app:0.1');
    assert.equal(normaliseRef('docker.io/library/debian:12'), 'debian:12');
    assert.equal(normaliseRef('docker.io/team/x:1'), 'team/x:1');
    assert.equal(normaliseRef('app@sha256:abc'), 'app@sha256:abc');
  });
  it('maps tags, digests and ids to image ids from the engine API list; untagged and dangling entries only by id', () => {
    const list = parseImageJson(
      JSON.stringify([
        {
          Id: 'sha256:i1',
          RepoTags: ['master:5000/app:0.1', 'app:0.1'],
          RepoDigests: ['master:5000/app@sha256:dd'],
        },
        { Id: 'sha256:i2', RepoTags: null, RepoDigests: null },
        { Id: 'sha256:i3', RepoTags: ['<none>:<none>'], RepoDigests: ['<none>@<none>'] },
      ]),
    );
    assert.equal(list.get('master:5000/app:0.1'), 'sha256:i1');
    assert.equal(list.get('master:5000/app@sha256:dd'), 'sha256:i1');
    assert.equal(list.get('app:0.1'), 'sha256:i1');
    assert.equal(list.get('sha256:i2'), 'sha256:i2');
    assert.equal(list.get('sha256:i3'), 'sha256:i3');
    assert.equal(list.get('<none>:<none>'), undefined);
    assert.throws(() => parseImageJson('{"message":"page not found"}'), /did not answer with a list/);
  });
});
