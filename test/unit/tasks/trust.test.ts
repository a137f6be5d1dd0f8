// Unit tests of the trust task's probe: the bundle check run by a real sh on temporary files, and
// which probe the task takes (its read-ahead's, or a new one). That trust really converges is the
// lab's job (test/e2e).
import { startEarly } from '../../../src/engine/early.js';
import { Later } from '../../../src/core/later.js';
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
import { runStage } from '../../../src/engine/run.js';
import { parseTrustProbe, trustProbeCmd, type ProbedFile } from '../../../src/facts/trust.js';
import { trustFiles, trustTask, wantedRecord } from '../../../src/tasks/trust.js';
import { parseRecord, recordText, TRUST_RECORD } from '../../../src/tasks/trust/record.js';
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
  const noRecord = join(dir, 'no-record');
  const probe = async (files: ProbedFile[], record = noRecord) => {
    const r = await new LocalConnection({ name: 'local' }).exec(trustProbeCmd(files, pidfile, record));
    assert.equal(r.code, 0, r.stderr);
    return parseTrustProbe(files, r.stdout);
  };
  const store = (path: string, bundle: string): ProbedFile => ({ path, bundle, system: true });
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
  it('lists the record’s files that exist (and not those gone) after the file reports, with the record itself', async () => {
    const there = file('old-ca.crt', PEM);
    const gone = join(dir, 'gone', 'ca.crt');
    const text = recordText({ files: [there, gone], insecure: ['old:5000'] });
    const got = await probe([{ path: there, system: false }], file('trust-files', text));
    assert.equal(got.record, text);
    assert.ok(got.known.has(there));
    assert.ok(!got.known.has(gone));
    assert.equal(got.files.get(there)?.content.toString(), PEM);
  });
  it('no record: nothing recorded, and nothing known but what regbook’s naming marks', async () => {
    const got = await probe([{ path: join(dir, 'missing2.crt'), system: false }]);
    assert.equal(got.record, undefined);
    for (const p of got.known) assert.match(p, /\/regbook-[^/]*\.(crt|conf)$/);
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
      // sh -c SCRIPT sh PIDFILE RECORD (PATH BUNDLE)...
      if (c.argv[0] !== 'sh' || !c.argv[2]?.includes('base64'))
        throw new Error(`unexpected command on ${name}: ${c.argv.join(' ')}`);
      const pairs = c.argv.slice(6);
      const paths = pairs.filter((_, i) => i % 2 === 0);
      probes.push(paths.join(' '));
      // Certificates hold the anchor; the files trust only reads or keeps away are not there.
      const lines = paths.map((p, i) =>
        p.endsWith('.crt')
          ? `F 444 ${Buffer.from(PEM).toString('base64')}${pairs[2 * i + 1] === '-' ? '' : ' 1 0'}`
          : 'M',
      );
      // Its record lists what the playbook asks for on a Debian host, as a converged host's does.
      const record = recordText(wantedRecord(playbook, trustFiles(playbook, debian)));
      lines.push(`R ${Buffer.from(record).toString('base64')}`);
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
  // A certificate tls changes is known once its steps made it; in check mode it stays pending.
  const made = opts.tlsWrote && opts.check ? Later.pending<string>('a new CA is made') : Later.known(PEM);
  run.shared.tls = {
    anchorPem: made,
    anchorChanged: opts.tlsWrote,
    serverChanged: false,
    serverFingerprint: Later.known('F'),
  };
  run.facts.set(host.name, debian);
  const probes: string[] = [];
  const conn = convergedHost(host.name, probes);
  run.conns.set(host.name, conn);
  if (opts.readAhead) startEarly(run, 'trust', conn.hostName, trustTask.readAhead!(run, conn)!);
  // This host answers the probe only: a plan that goes on to read docker's state (a restart
  // for a certificate still to be made) fails after the probe this test counts.
  const r = await runStage(
    trustTask.stages[0]!,
    { host, conn, run, notify: () => undefined },
    'trust',
    true,
  ).catch(() => ({
    status: 'failed',
  }));
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

/**
 * A host that holds what regbook wrote for master:5000 (listed in its record) and an operator's own
 * anchor for another registry; it answers the probe from `present` and records every other command
 * and every write.
 */
function hostWithOldAnchors(name: string, present: Map<string, string>, record: string, info = '{}') {
  const execs: string[][] = [];
  const writes: { path: string; data: string }[] = [];
  const conn = {
    hostName: name,
    exec: async (c: Cmd): Promise<ExecResult> => {
      if (c.argv[0] === 'sh' && c.argv[2]?.includes('base64')) {
        const pairs = c.argv.slice(6);
        const lines: string[] = [];
        for (let i = 0; i < pairs.length; i += 2) {
          const have = present.get(pairs[i]!);
          if (have === undefined) lines.push('M');
          else
            lines.push(`F 444 ${Buffer.from(have).toString('base64')}${pairs[i + 1] === '-' ? '' : ' 1 0'}`);
        }
        lines.push(`R ${Buffer.from(record).toString('base64')}`);
        for (const f of parseRecord(record).files) if (present.has(f)) lines.push(`K ${f}`);
        return { code: 0, stdout: lines.join('\n') + '\n', stderr: '' };
      }
      execs.push([...c.argv]);
      return { code: 0, stdout: info, stderr: '' };
    },
    writeFile: async (path: string, data: Buffer | string) => {
      writes.push({ path, data: data.toString() });
    },
    // The engine: `info` as the daemon's, and no container running.
    docker: () => ({
      json: async (method: string, path: string) => {
        execs.push([method, path]);
        if (path === '/info') return JSON.parse(info) as unknown;
        if (path === '/containers/json') return [];
        throw new Error(`unexpected ${method} ${path}`);
      },
    }),
  } as unknown as Connection;
  return { conn, execs, writes };
}

describe('trust: what regbook wrote for another address goes, and nothing else', () => {
  const OLD = [
    '/etc/docker/certs.d/master:5000/ca.crt',
    '/usr/local/share/ca-certificates/regbook-master_5000.crt',
  ];
  const OPERATOR = '/etc/docker/certs.d/other.example:443/ca.crt';
  const moved = {
    ...playbook,
    registry: { ...registrySettings, address: 'registry.lab:5000', addressHost: 'registry.lab' },
    trust: { ...playbook.trust, restartDocker: 'never' },
  } as unknown as Playbook;
  const oldRecord = recordText({ files: OLD, insecure: [] });

  async function trustAfterMove(host: HostSpec, check: boolean, pb = moved) {
    const run = createRun<Shared>(pb, inventory, new Map(), { check, diff: false }, () => {}, {});
    run.shared.tls = {
      anchorPem: Later.known(PEM),
      anchorChanged: false,
      serverChanged: false,
      serverFingerprint: Later.known('F'),
    };
    run.facts.set(host.name, { ...debian, trustLeftovers: true });
    const present = new Map([...OLD, OPERATOR].map((p) => [p, PEM]));
    const h = hostWithOldAnchors(host.name, present, oldRecord);
    run.conns.set(host.name, h.conn);
    const stage = trustTask.stages.find((s) => s.hosts(run).includes(host.name))!;
    const r = await runStage(stage, { host, conn: h.conn, run, notify: () => undefined }, 'trust', true);
    return { ...h, r };
  }

  it('removes the old address’s anchor and store file, refreshes the store once, writes the new ones', async () => {
    const { r, execs, writes } = await trustAfterMove(worker, false);
    assert.equal(r.status, 'changed');
    const removed = r.changes.filter((c) => c.to === 'absent').map((c) => c.what);
    assert.deepEqual(removed.sort(), [...OLD].sort());
    assert.ok(
      !r.changes.some((c) => c.what.includes('other.example')),
      'the operator’s anchor is not regbook’s',
    );
    // docker's file goes with its directory when that is empty; the store file goes on its own,
    // since the new store file's write rebuilds the store once, after it.
    const rm = (a: string[]) => a[2]?.startsWith('rm -f');
    assert.deepEqual(
      execs.filter(rm).map((a) => a.slice(2)),
      [
        [String(execs.find(rm)![2]), 'sh', OLD[0], '/etc/docker/certs.d/master:5000'],
        ['rm -f -- "$@"', 'sh', OLD[1]],
      ],
    );
    assert.deepEqual(
      execs.filter((a) => a.join(' ').includes('update-ca-certificates')),
      [['update-ca-certificates']],
    );
    // The record lists old and new before anything is written or removed, and only the new after.
    const rec = writes.filter((w) => w.path === TRUST_RECORD).map((w) => parseRecord(w.data).files.sort());
    assert.equal(rec.length, 2);
    assert.deepEqual(rec[0], [
      '/etc/docker/certs.d/master:5000/ca.crt',
      '/etc/docker/certs.d/registry.lab:5000/ca.crt',
      '/usr/local/share/ca-certificates/regbook-master_5000.crt',
      '/usr/local/share/ca-certificates/regbook-registry.lab_5000.crt',
    ]);
    assert.deepEqual(rec[1], [
      '/etc/docker/certs.d/registry.lab:5000/ca.crt',
      '/usr/local/share/ca-certificates/regbook-registry.lab_5000.crt',
    ]);
    assert.equal(writes[0]!.path, TRUST_RECORD, 'the record is written first');
    assert.equal(writes.at(-1)!.path, TRUST_RECORD, 'and cut down last');
  });
  it('--check predicts the same changes and does nothing', async () => {
    const apply = await trustAfterMove(worker, false);
    const check = await trustAfterMove(worker, true);
    assert.deepEqual(check.r.changes, apply.r.changes);
    assert.deepEqual(check.execs, []);
    assert.deepEqual(check.writes, []);
  });
  it('without a new store file, the old one’s removal rebuilds the store in the same command', async () => {
    const noStore = { ...moved, trust: { ...moved.trust, system: false } } as unknown as Playbook;
    const { r, execs } = await trustAfterMove(worker, false, noStore);
    assert.ok(r.changes.some((c) => c.what === 'OS trust store'));
    const store = execs.filter((a) => a.includes(OLD[1]!));
    assert.deepEqual(store, [['sh', '-c', 'rm -f -- "$@" && update-ca-certificates', 'sh', OLD[1]]]);
    assert.equal(execs.filter((a) => a[0] === 'update-ca-certificates').length, 0);
  });
  it('on the master, a file in tls.dir stays (a tls.dir inside certs.d is the tls task’s)', async () => {
    const inCertsD = {
      ...moved,
      tls: { ...moved.tls, dir: '/etc/docker/certs.d/master:5000' },
    } as unknown as Playbook;
    const { r } = await trustAfterMove(master, false, inCertsD);
    assert.deepEqual(
      r.changes.filter((c) => c.to === 'absent').map((c) => c.what),
      [OLD[1]],
    );
  });
  it('a host taken out of trust.hosts loses what regbook wrote there, and is reported only then', async () => {
    const out = { ...moved, trust: { ...moved.trust, hosts: ['master'] } } as unknown as Playbook;
    const { r, writes } = await trustAfterMove(worker, false, out);
    assert.deepEqual(
      r.changes
        .filter((c) => c.to === 'absent')
        .map((c) => c.what)
        .sort(),
      [...OLD].sort(),
    );
    assert.ok(!writes.some((w) => w.path.includes('registry.lab')), 'nothing is trusted there anew');
    assert.deepEqual(parseRecord(writes.at(-1)!.data), { files: [], insecure: [] });
    const run = createRun<Shared>(out, inventory, new Map(), { check: false, diff: false }, () => {}, {});
    run.facts.set('w1', debian);
    assert.deepEqual(
      trustTask.stages[1]!.hosts(run),
      [],
      'a host with nothing of regbook’s is not concerned',
    );
    run.facts.set('w1', { ...debian, trustLeftovers: true });
    assert.deepEqual(trustTask.stages[1]!.hosts(run), ['w1']);
  });
  it('tls.mode none: the insecure-registries entry regbook added for the old address goes, the new one comes', async () => {
    const none = { ...moved, tls: { ...moved.tls, mode: 'none' }, trust: { ...moved.trust, system: false } };
    const daemonJson = JSON.stringify({ 'insecure-registries': ['mine:5000', 'master:5000'] });
    const info = JSON.stringify({
      RegistryConfig: { IndexConfigs: { 'registry.lab:5000': { Secure: false } } },
    });
    const go = async (check: boolean) => {
      const run = createRun<Shared>(
        none as unknown as Playbook,
        inventory,
        new Map(),
        { check, diff: false },
        () => {},
        {},
      );
      run.facts.set(worker.name, debian);
      const h = hostWithOldAnchors(
        worker.name,
        new Map([['/etc/docker/daemon.json', daemonJson]]),
        recordText({ files: [], insecure: ['master:5000'] }),
        info,
      );
      run.conns.set(worker.name, h.conn);
      const r = await runStage(
        trustTask.stages[0]!,
        { host: worker, conn: h.conn, run, notify: () => undefined },
        'trust',
        true,
      );
      return { ...h, r };
    };
    const apply = await go(false);
    const edit = apply.r.changes.find((c) => c.what === '/etc/docker/daemon.json insecure-registries');
    assert.deepEqual(edit, {
      what: '/etc/docker/daemon.json insecure-registries',
      from: 'mine:5000, master:5000',
      to: 'mine:5000, registry.lab:5000',
    });
    const written = apply.writes.find((w) => w.path === '/etc/docker/daemon.json')!;
    assert.deepEqual(JSON.parse(written.data), { 'insecure-registries': ['mine:5000', 'registry.lab:5000'] });
    assert.deepEqual(parseRecord(apply.writes.at(-1)!.data).insecure, ['registry.lab:5000']);
    assert.deepEqual((await go(true)).r.changes, apply.r.changes);
  });
});
