// Unit tests of the trust task's probe: the bundle check run by a real sh on temporary files, and
// which probe the task takes (its read-ahead's, or a new one). That trust really converges is the
// lab's job (test/e2e).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { HostSpec, Inventory, Playbook } from '../../../src/config/model.js';
import type { Cmd } from '../../../src/core/cmd.js';
import type { HostFacts } from '../../../src/core/task.js';
import { createRun } from '../../../src/engine/setup.js';
import type { Shared } from '../../../src/tasks/shared.js';
import { parseTrustProbe, trustProbeCmd, trustTask, type TrustFile } from '../../../src/tasks/trust.js';
import { LocalConnection } from '../../../src/transport/local.js';
import type { Connection, ExecResult } from '../../../src/transport/types.js';
import { registrySettings } from './registry-settings.js';

const PEM = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBszCCAVmgAwIBAgIUQm9ndXMgdGVzdCBjZXJ0aWZpY2F0ZSBsaW5lIG9uZQ==',
  'AAAAB3NzaC1yc2EAAAADAQABAAABAQC7bogusmiddlelineofthecertificate=',
  'ZW5kIG9mIHRoZSBjZXJ0aWZpY2F0ZSBib2R5IGxpbmUgdGhyZWUgb2YgdGhyZWU=',
  '-----END CERTIFICATE-----',
  '',
].join('\n');
const MIDDLE = PEM.split('\n')[2]!;

describe('trust: the probe, run by sh on temporary files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regbook-trust-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const other = '-----BEGIN CERTIFICATE-----\nT3RoZXIgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
  const pidfile = file('docker.pid', '1\n');
  const probe = async (files: TrustFile[]) => {
    const r = await new LocalConnection({ name: 'local' }).exec(trustProbeCmd(files, pidfile));
    assert.equal(r.code, 0, r.stderr);
    return parseTrustProbe(files, r.stdout);
  };
  const store = (path: string, bundle: string): TrustFile => ({
    path,
    bundle,
    refresh: ['true'],
    system: true,
  });
  const holds = async (path: string, bundle: string) =>
    (await probe([store(path, bundle)])).bundleHolds.get(path);

  it('reads each file with its mode, and a missing one as missing', async () => {
    const certsD = file('ca.crt', PEM);
    chmodSync(certsD, 0o444);
    const missing = join(dir, 'missing.crt');
    const got = await probe([{ path: certsD, system: false }, store(missing, file('b0', PEM))]);
    assert.equal(got.files.get(certsD)?.mode, '444');
    assert.equal(got.files.get(certsD)?.content.toString(), PEM);
    assert.equal(got.files.get(missing), undefined);
    assert.equal(got.bundleHolds.get(missing), false);
  });
  it('the bundle holds the file when it has the middle body line as a line of its own', async () => {
    assert.equal(await holds(file('a.crt', PEM), file('bundle1', other + PEM)), true);
  });
  it('not when the bundle lacks it, has it only inside a longer line, or is missing', async () => {
    const cert = file('b.crt', PEM);
    assert.equal(await holds(cert, file('bundle2', other)), false);
    assert.equal(await holds(cert, file('bundle3', `${other}x${MIDDLE}x\n`)), false);
    assert.equal(await holds(cert, join(dir, 'no-bundle')), false);
  });
  it('not for a file with no body line at all (nothing to look for)', async () => {
    const empty = file('c.crt', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    assert.equal(await holds(empty, file('bundle5', PEM)), false);
  });
  it('a CRLF file is found in the bundle update-ca-certificates copies it into', async () => {
    const crlf = PEM.replace(/\n/g, '\r\n');
    assert.equal(await holds(file('d.crt', crlf), file('bundle6', other + crlf)), true);
  });
  it('docker is older than a store file written after its pidfile, and not than one written before', async () => {
    const before = file('before.crt', PEM);
    utimesSync(before, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const after = file('after.crt', PEM);
    utimesSync(after, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
    const bundle = file('bundle7', PEM);
    const got = await probe([store(before, bundle), store(after, bundle)]);
    assert.equal(got.dockerOlder.get(before), false);
    assert.equal(got.dockerOlder.get(after), true);
  });
});

const master = { name: 'master', role: 'master', address: '127.0.0.1', port: 22, user: 'root' } as HostSpec;
const worker = { name: 'w1', role: 'worker', address: '127.0.0.2', port: 22, user: 'root' } as HostSpec;
const playbook = {
  file: 'site.yaml',
  registry: registrySettings,
  tls: { dir: '/etc/regbook/certs', mode: 'ca' },
  trust: {
    hosts: ['master', 'w1'],
    runtimes: ['docker'],
    dockerCertsD: true,
    system: true,
    restartDocker: 'on-change',
    serial: 1,
  },
  images: [],
} as unknown as Playbook;
const inventory = {
  file: 'inv.yaml',
  master,
  workers: [worker],
  hosts: [master, worker],
} as unknown as Inventory;
const debian: HostFacts = {
  osFamily: 'debian',
  osId: 'debian',
  osVersion: '12',
  dockerPresent: true,
  dockerRunning: true,
  images: new Map(),
  privileged: true,
};

/**
 * A host whose trust files all hold the anchor, whose store holds it too and whose docker started
 * after them: the probe's answer says so for every file it is asked about.
 */
function convergedHost(name: string, probes: string[]): Connection {
  return {
    hostName: name,
    exec: async (c: Cmd): Promise<ExecResult> => {
      // sh -c SCRIPT sh PIDFILE (PATH BUNDLE)...
      if (c.argv[0] !== 'sh' || !c.argv[2]?.includes('base64'))
        throw new Error(`unexpected command on ${name}: ${c.argv.join(' ')}`);
      const pairs = c.argv.slice(5);
      const paths = pairs.filter((_, i) => i % 2 === 0);
      probes.push(paths.join(' '));
      // Certificates hold the anchor; the files trust only reads or keeps away are not there.
      const lines = paths.map((p, i) =>
        p.endsWith('.crt')
          ? `F 444 ${Buffer.from(PEM).toString('base64')}${pairs[2 * i + 1] === '-' ? '' : ' 1 0'}`
          : 'M',
      );
      return { code: 0, stdout: lines.join('\n') + '\n', stderr: '' };
    },
  } as unknown as Connection;
}

async function trustOn(host: HostSpec, opts: { readAhead: boolean; tlsWrote: boolean; check?: boolean }) {
  const run = createRun<Shared>(
    playbook,
    inventory,
    new Map(),
    { check: !!opts.check, diff: false },
    () => {},
    {},
  );
  run.shared.tls = {
    anchorPem: PEM,
    anchorChanged: opts.tlsWrote,
    serverChanged: false,
    serverFingerprint: 'F',
  };
  run.facts.set(host.name, debian);
  const probes: string[] = [];
  const conn = convergedHost(host.name, probes);
  run.conns.set(host.name, conn);
  if (opts.readAhead) trustTask.readAhead!(run, conn);
  const r = await trustTask.stages[0]!.run({ host, conn, run, notify: () => undefined });
  return { status: r.status, probes };
}

describe('trust: the probe it takes', () => {
  it('a worker takes its read-ahead (both OS families’ paths, read before facts) and probes no more', async () => {
    const r = await trustOn(worker, { readAhead: true, tlsWrote: true });
    assert.equal(r.status, 'ok');
    assert.equal(r.probes.length, 1);
    assert.match(r.probes[0]!, /\/etc\/pki\/ca-trust\/source\/anchors\//, 'the RHEL path is read too');
  });
  it('without a read-ahead the task probes its own family’s files', async () => {
    const r = await trustOn(worker, { readAhead: false, tlsWrote: false });
    assert.equal(r.status, 'ok');
    assert.equal(r.probes.length, 1);
    assert.doesNotMatch(r.probes[0]!, /ca-trust/);
  });
  it('the master probes again after tls wrote there (its files may be the ones tls wrote)', async () => {
    assert.equal((await trustOn(master, { readAhead: true, tlsWrote: true })).probes.length, 2);
    assert.equal((await trustOn(master, { readAhead: true, tlsWrote: false })).probes.length, 1);
    const check = await trustOn(master, { readAhead: true, tlsWrote: true, check: true });
    assert.equal(check.probes.length, 1, 'check mode wrote nothing: the read-ahead holds');
  });
});
