// Unit tests of the trust task's probe: the bundle check run by a real sh on temporary files, and
// which probe the task takes (its read-ahead's, or a new one). That trust really converges is the
// lab's job (test/e2e).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { HostSpec, Inventory, Playbook } from '../../../src/config/model.js';
import type { Cmd } from '../../../src/core/cmd.js';
import type { HostFacts } from '../../../src/core/task.js';
import { createRun } from '../../../src/engine/setup.js';
import type { Shared } from '../../../src/tasks/shared.js';
import { bundleHoldsCmd, trustTask } from '../../../src/tasks/trust.js';
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

describe('trust: does the OS bundle hold the store file?', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regbook-trust-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const holds = async (path: string, bundle: string) =>
    (await new LocalConnection({ name: 'local' }).exec(bundleHoldsCmd(path, bundle))).code === 0;
  const other = '-----BEGIN CERTIFICATE-----\nT3RoZXIgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';

  it('yes when the bundle has the file’s middle body line as a line of its own', async () => {
    const cert = file('a.crt', PEM);
    assert.equal(await holds(cert, file('bundle1', other + PEM)), true);
  });
  it('no when the bundle lacks it, holds it only inside a longer line, or either file is missing', async () => {
    const cert = file('b.crt', PEM);
    assert.equal(await holds(cert, file('bundle2', other)), false);
    assert.equal(await holds(cert, file('bundle3', `${other}x${MIDDLE}x\n`)), false);
    assert.equal(await holds(join(dir, 'none.crt'), file('bundle4', PEM)), false);
    assert.equal(await holds(cert, join(dir, 'no-bundle')), false);
  });
  it('no for a file with no body line at all (nothing to look for)', async () => {
    const empty = file('c.crt', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    assert.equal(await holds(empty, file('bundle5', PEM)), false);
  });
  it('a CRLF file is found in the bundle update-ca-certificates copies it into', async () => {
    const crlf = PEM.replace(/\n/g, '\r\n');
    assert.equal(await holds(file('d.crt', crlf), file('bundle6', other + crlf)), true);
  });
});

const master = { name: 'master', role: 'master', address: '127.0.0.1', port: 22, user: 'root' } as HostSpec;
const worker = { name: 'w1', role: 'worker', address: '127.0.0.2', port: 22, user: 'root' } as HostSpec;
const playbook = {
  file: 'site.yaml',
  registry: registrySettings,
  tls: { dir: '/etc/regbook/certs', mode: 'ca' },
  trust: { hosts: ['master', 'w1'], dockerCertsD: true, system: true, restartDocker: 'on-change' },
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
 * A host whose trust files all hold the anchor and whose store holds it too: the probe is a batch
 * (files, then per store file its bundle and docker-age probes), answered here with every file
 * present and every probe true, so the task finds nothing to do.
 */
function convergedHost(name: string, probes: string[]): Connection {
  return {
    hostName: name,
    exec: async (c: Cmd): Promise<ExecResult> => {
      const script = c.argv[2] ?? '';
      const nonce = /@@%s %s@@\\n' ([0-9a-f]+)/.exec(script)?.[1];
      if (!nonce) throw new Error(`unexpected command on ${name}: ${c.argv.join(' ')}`);
      const [read, ...rest] = script.split(`printf '\\n@@%s %s@@\\n' ${nonce} "$?"`).slice(0, -1);
      const paths = [...read!.matchAll(/ '?(\/(?:etc|usr)\/[^'\s]+)/g)].map((m) => m[1]!);
      probes.push(paths.join(' '));
      const files = paths.map(() => `F 444 ${Buffer.from(PEM).toString('base64')}`).join('\n');
      let out = `${files}\n\n@@${nonce} 0@@\n`;
      // The bundle holds every file; docker started after every file was written.
      for (const cmd of rest) out += `\n@@${nonce} ${cmd.includes('-nt') ? 1 : 0}@@\n`;
      return { code: 0, stdout: out, stderr: '' };
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
