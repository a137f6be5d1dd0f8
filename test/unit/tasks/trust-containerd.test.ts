// containerd's config.toml edit: config_path made to include the hosts directory, the rest of the
// file kept as it was. That containerd then reads it, and that its containers outlive the restart,
// is the lab's job (test/e2e/live-cluster.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'smol-toml';
import { configPathEdit, hostsToml } from '../../../src/tasks/trust/containerd.js';

// Debian 12's /etc/containerd/config.toml, as the package ships it.
const DEBIAN = `version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
`;

const cri = (text: string) =>
  (parse(text) as { plugins: Record<string, { registry?: { config_path?: string } }> }).plugins[
    'io.containerd.grpc.v1.cri'
  ]?.registry?.config_path;

describe('containerd config.toml: config_path', () => {
  it('adds the registry table to a file without one, keeping every line', () => {
    const edit = configPathEdit(DEBIAN)!;
    assert.equal(cri(edit.text), '/etc/containerd/certs.d');
    assert.ok(edit.text.startsWith(DEBIAN), 'the file as it was, then the new table');
    assert.equal(edit.rewritten, false);
    assert.equal(configPathEdit(edit.text), undefined, 'a second run changes nothing');
  });
  it('sets an empty config_path in its table, comments kept', () => {
    const text = `version = 2\n# ours\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "" # none yet\n  [plugins."io.containerd.grpc.v1.cri".registry.mirrors]\n`;
    const edit = configPathEdit(text)!;
    assert.equal(cri(edit.text), '/etc/containerd/certs.d');
    assert.match(edit.text, /# ours/);
    assert.equal(edit.from, '(unset)');
  });
  it('appends the directory to another one already named', () => {
    const text = `version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/k8s/certs.d"\n`;
    const edit = configPathEdit(text)!;
    assert.equal(cri(edit.text), '/etc/k8s/certs.d:/etc/containerd/certs.d');
  });
  it('leaves a file alone that already names it, or whose CRI plugin is disabled', () => {
    const named = `version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n`;
    assert.equal(configPathEdit(named), undefined);
    assert.equal(configPathEdit('disabled_plugins = ["cri"]\n'), undefined);
  });
  it('writes a version 2 file where there is none', () => {
    const edit = configPathEdit(undefined)!;
    assert.equal(cri(edit.text), '/etc/containerd/certs.d');
    assert.equal((parse(edit.text) as { version: number }).version, 2);
  });
  it('rewrites from the data where a line edit cannot reach the table (dotted keys)', () => {
    const text = `version = 2\n[plugins]\n"io.containerd.grpc.v1.cri".registry.config_path = ""\n`;
    const edit = configPathEdit(text)!;
    assert.equal(cri(edit.text), '/etc/containerd/certs.d');
    assert.equal(edit.rewritten, true);
  });
  it('uses the version 3 table for a version 3 file', () => {
    const edit = configPathEdit('version = 3\n')!;
    const data = parse(edit.text) as {
      plugins: Record<string, { registry: { config_path: string } }>;
    };
    assert.equal(
      data.plugins['io.containerd.cri.v1.images']?.registry.config_path,
      '/etc/containerd/certs.d',
    );
  });
  it('refuses a file that is not TOML, naming it', () => {
    assert.throws(() => configPathEdit('version = = 2\n'), /config\.toml is not valid TOML/);
  });
});

describe('containerd hosts.toml', () => {
  it('https with the CA, or plain http', () => {
    const https = parse(hostsToml('master:5000', 'https', '/etc/containerd/certs.d/master:5000/ca.crt'));
    assert.deepEqual(JSON.parse(JSON.stringify(https)), {
      server: 'https://master:5000',
      host: {
        'https://master:5000': {
          capabilities: ['pull', 'resolve', 'push'],
          ca: '/etc/containerd/certs.d/master:5000/ca.crt',
        },
      },
    });
    const http = parse(hostsToml('master:5000', 'http')) as { server: string };
    assert.equal(http.server, 'http://master:5000');
  });
});
