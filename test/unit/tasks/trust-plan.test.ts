// The trust plan as tables: what a host holds (the probe's facts, and docker's state where the
// plan needs it) in, the changes, the steps and the restart out. No connection: the plan is pure.
// That the steps really converge a host is the lab's job (test/e2e).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec, Inventory, Playbook } from '../../../src/config/model.js';
import { Later } from '../../../src/core/later.js';
import type { Step } from '../../../src/core/task.js';
import type { PlanInput } from '../../../src/engine/context.js';
import type { DockerState } from '../../../src/facts/docker-state.js';
import type { TrustProbe } from '../../../src/facts/trust.js';
import type { Shared } from '../../../src/tasks/shared.js';
import { leftoverStage, trustStage } from '../../../src/tasks/trust.js';
import { trustFiles, wantedRecord } from '../../../src/tasks/trust/files.js';
import { dockerNeeded, type TrustFacts } from '../../../src/tasks/trust/plan.js';
import { recordText, TRUST_RECORD } from '../../../src/tasks/trust/record.js';
import type { Connection } from '../../../src/transport/types.js';
import { registrySettings } from './registry-settings.js';

const PEM = '-----BEGIN CERTIFICATE-----\nQW5jaG9y\n-----END CERTIFICATE-----\n';
const OTHER = '-----BEGIN CERTIFICATE-----\nT3RoZXI=\n-----END CERTIFICATE-----\n';

const master = { name: 'master', role: 'master', address: '127.0.0.1', port: 22, user: 'root' } as HostSpec;
const worker = { name: 'w1', role: 'worker', address: '127.0.0.2', port: 22, user: 'root' } as HostSpec;
const inventory = {
  file: 'inv.yaml',
  master,
  workers: [worker],
  hosts: [master, worker],
} as unknown as Inventory;

type Trust = Playbook['trust'];
function playbook(trust: Partial<Trust> = {}, mode: 'ca' | 'none' = 'ca'): Playbook {
  return {
    file: 'site.yaml',
    registry: registrySettings,
    tls: { dir: '/etc/regbook/certs', mode },
    trust: {
      hosts: ['master', 'w1'],
      runtimes: ['docker'],
      dockerCertsD: true,
      system: false,
      restartDocker: 'never',
      serial: 1,
      ...trust,
    },
    images: [],
  } as unknown as Playbook;
}

const debian = { osFamily: 'debian', osId: 'debian' } as const;
const rhel = { osFamily: 'rhel', osId: 'rocky' } as const;
const DOCKER = '/etc/docker/certs.d/master:5000/ca.crt';
const CTRD = '/etc/containerd/certs.d/master:5000/ca.crt';
const HOSTS_TOML = '/etc/containerd/certs.d/master:5000/hosts.toml';
const PODMAN = '/etc/containers/certs.d/master:5000/ca.crt';
const DEB_STORE = '/usr/local/share/ca-certificates/regbook-master_5000.crt';
const RHEL_STORE = '/etc/pki/ca-trust/source/anchors/regbook-master_5000.crt';
const CONFIG_TOML = '/etc/containerd/config.toml';
const DAEMON_JSON = '/etc/docker/daemon.json';
const DROP_IN = '/etc/containers/registries.conf.d/regbook-master_5000.conf';
const CONVERGED_CONFIG =
  'version = 2\n\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n';

interface HostState {
  /** path → [text, mode]; a path not named is missing. */
  files?: Record<string, [string, string]>;
  /** The record regbook left; by default, the one a converged host of this playbook holds. */
  record?: string | null;
  known?: string[];
  bundleMissing?: string[];
  dockerOlder?: string[];
}

/** What the probe reads on a host in this state. */
function probeOf(st: HostState, record: string | undefined): TrustProbe {
  const files = new Map(
    Object.entries(st.files ?? {}).map(([p, [text, mode]]) => [p, { mode, content: Buffer.from(text) }]),
  );
  const holds = new Map([DEB_STORE, RHEL_STORE].map((p) => [p, !(st.bundleMissing ?? []).includes(p)]));
  return {
    files,
    bundleHolds: holds,
    dockerOlder: new Map((st.dockerOlder ?? []).map((p) => [p, true])),
    ...(st.record === null ? {} : { record: st.record ?? record }),
    known: new Set([
      ...(st.known ?? []),
      ...Object.keys(st.files ?? {}).filter((p) => p.includes('regbook-')),
    ]),
  };
}

/** A host that holds every file this playbook asks for, as it should be. */
function converged(pb: Playbook, os: TrustFacts['os'] = debian): Record<string, [string, string]> {
  const out: Record<string, [string, string]> = {};
  for (const f of trustFiles(pb, os)) {
    if (f.kind === 'absent') continue;
    if (f.kind === 'read') {
      if (f.path === CONFIG_TOML) out[f.path] = [CONVERGED_CONFIG, '644'];
      continue;
    }
    out[f.path] = [f.data ?? PEM, (f.mode ?? 0o444).toString(8)];
  }
  return out;
}

const calm: DockerState = {
  liveRestore: false,
  insecure: [],
  running: [
    { id: 'a'.repeat(64), name: 'registry', restart: 'always' },
    { id: 'b'.repeat(64), name: 'web', restart: 'no' },
  ],
};

function input(
  pb: Playbook,
  host = worker,
  anchor: Later<string> | null = Later.known(PEM),
): PlanInput<Shared> {
  return {
    playbook: pb,
    inventory,
    host,
    secrets: new Map(),
    shared: {
      tls: {
        ...(anchor ? { anchorPem: anchor } : {}),
        anchorChanged: false,
        serverChanged: false,
        serverFingerprint: Later.known('F'),
      },
    },
    now: new Date(),
  };
}

interface Row {
  name: string;
  pb: Playbook;
  state: (pb: Playbook) => HostState;
  os?: TrustFacts['os'];
  docker?: DockerState;
  /** The anchor tls recorded; null: none (tls.mode none, or tls never ran). */
  anchor?: Later<string> | null;
  /** `what` of each change, in order. */
  changes: string[];
  /** `describe` of each step, lanes flattened as `[a | b]`. */
  steps: string[];
  restart?: boolean;
  needsDocker?: boolean;
}

const describeSteps = (steps: readonly Step[]): string[] =>
  steps.map((s) =>
    s.kind === 'parallel'
      ? `[${s.lanes.map((l) => l.map((x) => x.describe).join(', ')).join(' | ')}]`
      : s.describe,
  );

const every = { runtimes: ['docker', 'containerd', 'podman'] as Trust['runtimes'], system: true };

const rows: Row[] = [
  {
    name: 'docker only, converged: nothing to do',
    pb: playbook(),
    state: (pb) => ({ files: converged(pb) }),
    changes: [],
    steps: [],
  },
  {
    name: 'every runtime and the Debian store, converged: nothing to do',
    pb: playbook(every),
    state: (pb) => ({ files: converged(pb) }),
    changes: [],
    steps: [],
  },
  {
    name: 'every runtime on a fresh Debian host: each file in its lane, the store refreshed, containerd told',
    pb: playbook(every),
    state: () => ({ record: null }),
    changes: [
      DOCKER,
      CTRD,
      HOSTS_TOML,
      PODMAN,
      DEB_STORE,
      TRUST_RECORD,
      `${CONFIG_TOML} registry config_path`,
      'containerd',
    ],
    steps: [
      `write ${TRUST_RECORD}`,
      `[write ${DOCKER} | write ${CTRD} | write ${HOSTS_TOML} | write ${PODMAN} | write ${DEB_STORE}, update-ca-certificates]`,
      `write ${CONFIG_TOML}`,
      'restarting containerd',
    ],
  },
  {
    name: 'the RHEL store: its own path and refresh',
    pb: playbook({ runtimes: [], system: true }),
    os: rhel,
    state: () => ({ record: null }),
    changes: [RHEL_STORE, TRUST_RECORD],
    steps: [`write ${TRUST_RECORD}`, `write ${RHEL_STORE}`, 'update-ca-trust extract'],
  },
  {
    name: 'mode drift: a trust file with mode 0644 is put back to 0444, its content kept',
    pb: playbook(),
    state: (pb) => ({ files: { ...converged(pb), [DOCKER]: [PEM, '644'] } }),
    changes: [`${DOCKER} mode`],
    steps: [`chmod ${DOCKER}`],
  },
  {
    name: 'a trust file holding another certificate is written anew',
    pb: playbook(),
    state: (pb) => ({ files: { ...converged(pb), [DOCKER]: [OTHER, '444'] } }),
    changes: [DOCKER],
    steps: [`write ${DOCKER}`],
  },
  {
    name: 'check mode with a CA still to be made: the file would change, its content pending',
    pb: playbook(),
    anchor: Later.pending('a new CA is made'),
    state: (pb) => ({ files: converged(pb) }),
    changes: [DOCKER],
    steps: [`write ${DOCKER}`],
  },
  {
    name: 'stale anchors: what regbook wrote for another address goes, the store rebuilt with it',
    pb: playbook(),
    state: (pb) => {
      const old = [
        '/etc/docker/certs.d/old:5000/ca.crt',
        '/usr/local/share/ca-certificates/regbook-old_5000.crt',
      ];
      return {
        files: converged(pb),
        known: old,
        record: recordText({ files: [DOCKER, ...old], insecure: [] }),
      };
    },
    changes: [
      '/etc/docker/certs.d/old:5000/ca.crt',
      '/usr/local/share/ca-certificates/regbook-old_5000.crt',
      'OS trust store',
      TRUST_RECORD,
    ],
    steps: [
      'rm /etc/docker/certs.d/old:5000/ca.crt',
      'rm /usr/local/share/ca-certificates/regbook-old_5000.crt; update-ca-certificates',
      `write ${TRUST_RECORD}`,
    ],
  },
  {
    name: 'an anchor the operator put there (not regbook’s) stays',
    pb: playbook(),
    state: (pb) => ({ files: { ...converged(pb), '/etc/docker/certs.d/other:443/ca.crt': [OTHER, '444'] } }),
    changes: [],
    steps: [],
  },
  {
    name: 'a plain-HTTP drop-in left from tls.mode none goes',
    pb: playbook({ runtimes: ['docker', 'podman'] }),
    state: (pb) => ({ files: { ...converged(pb), [DROP_IN]: ['[[registry]]\n', '644'] } }),
    changes: [DROP_IN],
    steps: [`rm ${DROP_IN}`],
  },
  {
    name: 'insecure (tls.mode none), fresh: daemon.json lists the address, docker reloads, podman and containerd told',
    pb: playbook({ runtimes: ['docker', 'containerd', 'podman'] }, 'none'),
    anchor: null,
    state: () => ({ record: null, files: { [DAEMON_JSON]: ['{"debug": true}\n', '600'] } }),
    changes: [
      HOSTS_TOML,
      DROP_IN,
      TRUST_RECORD,
      `${CONFIG_TOML} registry config_path`,
      'containerd',
      `${DAEMON_JSON} insecure-registries`,
    ],
    steps: [
      `write ${TRUST_RECORD}`,
      `[write ${HOSTS_TOML} | write ${DROP_IN}]`,
      `write ${CONFIG_TOML}`,
      'restarting containerd',
      `write ${DAEMON_JSON}`,
      'reloading docker (SIGHUP)',
      'waiting for docker to reload',
    ],
  },
  {
    name: 'insecure, daemon.json right but the daemon never reloaded it: a reload alone',
    pb: playbook({}, 'none'),
    anchor: null,
    docker: { ...calm, insecure: [] },
    needsDocker: true,
    state: () => ({
      record: recordText({ files: [], insecure: ['master:5000'] }),
      files: { [DAEMON_JSON]: ['{"insecure-registries": ["master:5000"]}\n', '644'] },
    }),
    changes: ['docker'],
    steps: ['reloading docker (SIGHUP)', 'waiting for docker to reload'],
  },
  {
    name: 'insecure, listed and loaded: nothing to do',
    pb: playbook({}, 'none'),
    anchor: null,
    docker: { ...calm, insecure: ['master:5000'] },
    needsDocker: true,
    state: () => ({
      record: recordText({ files: [], insecure: ['master:5000'] }),
      files: { [DAEMON_JSON]: ['{"insecure-registries": ["master:5000"]}\n', '644'] },
    }),
    changes: [],
    steps: [],
  },
  {
    name: 'back from insecure: the address leaves daemon.json, the operator’s own entry stays',
    pb: playbook(),
    state: (pb) => ({
      record: recordText({ files: [DOCKER], insecure: ['master:5000'] }),
      files: {
        ...converged(pb),
        [DAEMON_JSON]: ['{"insecure-registries": ["mine:5000", "master:5000"]}\n', '644'],
      },
    }),
    changes: [TRUST_RECORD, `${DAEMON_JSON} insecure-registries`],
    steps: [
      `write ${DAEMON_JSON}`,
      'reloading docker (SIGHUP)',
      'waiting for docker to reload',
      `write ${TRUST_RECORD}`,
    ],
  },
  {
    name: 'restartDocker never: the store changes, docker is not restarted',
    pb: playbook({ system: true }),
    state: (pb) => ({ files: { ...converged(pb), [DEB_STORE]: [OTHER, '444'] } }),
    changes: [DEB_STORE],
    steps: [`write ${DEB_STORE}`, 'update-ca-certificates'],
    restart: false,
  },
  {
    name: 'restartDocker on-change: the store changes, docker restarts (rolling), the plan says what stops',
    pb: playbook({ system: true, restartDocker: 'on-change' }),
    docker: calm,
    needsDocker: true,
    state: (pb) => ({ files: { ...converged(pb), [DEB_STORE]: [OTHER, '444'] } }),
    changes: [DEB_STORE, 'docker'],
    steps: [`write ${DEB_STORE}`, 'update-ca-certificates'],
    restart: true,
  },
  {
    name: 'restartDocker on-change, nothing changed: no restart, docker not even read',
    pb: playbook({ system: true, restartDocker: 'on-change' }),
    state: (pb) => ({ files: converged(pb) }),
    changes: [],
    steps: [],
    restart: false,
    needsDocker: false,
  },
  {
    name: 'restartDocker on-change, a bundle that lacks the anchor (a run cut before the refresh): refreshed, restarted',
    pb: playbook({ system: true, restartDocker: 'on-change' }),
    docker: calm,
    needsDocker: true,
    state: (pb) => ({ files: converged(pb), bundleMissing: [DEB_STORE] }),
    changes: ['/etc/ssl/certs/ca-certificates.crt', 'docker'],
    steps: ['update-ca-certificates'],
    restart: true,
  },
  {
    name: 'restartDocker on-change, docker older than the store file (a run cut before the restart): the restart still owed',
    pb: playbook({ system: true, restartDocker: 'on-change' }),
    docker: { ...calm, liveRestore: true },
    needsDocker: true,
    state: (pb) => ({ files: converged(pb), dockerOlder: [DEB_STORE] }),
    changes: ['docker', 'docker'],
    steps: [],
    restart: true,
  },
  {
    name: 'restartDocker always: docker restarts on every run',
    pb: playbook({ restartDocker: 'always' }),
    docker: calm,
    needsDocker: true,
    state: (pb) => ({ files: converged(pb) }),
    changes: ['docker'],
    steps: [],
    restart: true,
  },
];

describe('trust plan: facts in, plan out', () => {
  for (const row of rows) {
    it(row.name, () => {
      const os = row.os ?? debian;
      const record = recordText(wantedRecord(row.pb, trustFiles(row.pb, os)));
      const facts: TrustFacts = {
        wanted: true,
        os,
        probe: probeOf(row.state(row.pb), record),
        ...(row.docker ? { docker: row.docker } : {}),
      };
      const inp = input(row.pb, worker, row.anchor === undefined ? Later.known(PEM) : row.anchor);
      if (row.needsDocker !== undefined)
        assert.equal(dockerNeeded(facts, inp), row.needsDocker, 'docker read');
      const plan = trustStage.plan(facts, inp);
      assert.deepEqual(
        plan.changes.map((c) => c.what),
        row.changes,
      );
      assert.deepEqual(describeSteps(plan.steps), row.steps);
      if (row.restart !== undefined)
        assert.equal(plan.notify?.includes('restart-docker') ?? false, row.restart);
    });
  }

  it('the restart change says what the restart does: with and without live-restore', () => {
    const pb = playbook({ restartDocker: 'always', serial: 2 });
    const facts = (docker: DockerState): TrustFacts => ({
      wanted: true,
      os: debian,
      probe: probeOf({ files: converged(pb) }, recordText(wantedRecord(pb, trustFiles(pb, debian)))),
      docker,
    });
    const why = (d: DockerState) =>
      trustStage.plan(facts(d), input(pb)).changes.find((c) => c.what === 'docker')?.why;
    assert.equal(
      why(calm),
      'restartDocker: always, rolling (serial 2): 2 running containers stop; 1 with a restart policy start again; stay stopped: web',
    );
    assert.equal(
      why({ ...calm, liveRestore: true }),
      'restartDocker: always, rolling (serial 2): live-restore is on: containers keep running',
    );
  });

  it('a pending anchor is written as the Later tls resolves, never as a guess', () => {
    const pb = playbook();
    const anchor = Later.pending<string>('a new CA is made');
    const plan = trustStage.plan(
      { wanted: true, os: debian, probe: probeOf({ files: converged(pb) }, undefined) },
      input(pb, worker, anchor),
    );
    const write = plan.steps.find((s) => s.kind === 'write' && s.path === DOCKER);
    assert.equal(write?.kind === 'write' && write.data, anchor);
    assert.equal(plan.changes[0]?.to, '(new certificate)');
  });

  it('no anchor at all (tls never ran) fails the host', () => {
    const pb = playbook();
    assert.throws(
      () =>
        trustStage.plan({ wanted: true, os: debian, probe: probeOf({}, undefined) }, input(pb, worker, null)),
      /no certificate to distribute/,
    );
  });

  it('the master keeps a file in tls.dir that trust once wrote (a tls.dir inside certs.d)', () => {
    const pb = {
      ...playbook(),
      tls: { dir: '/etc/docker/certs.d/old:5000', mode: 'ca' },
    } as unknown as Playbook;
    const old = '/etc/docker/certs.d/old:5000/ca.crt';
    const st: HostState = {
      files: converged(pb),
      known: [old],
      record: recordText({ files: [DOCKER, old], insecure: [] }),
    };
    const facts: TrustFacts = { wanted: true, os: debian, probe: probeOf(st, undefined) };
    const removed = (host: HostSpec) =>
      trustStage
        .plan(facts, input(pb, host))
        .changes.filter((c) => c.to === 'absent')
        .map((c) => c.what);
    assert.deepEqual(removed(master), []);
    assert.deepEqual(removed(worker), [old]);
  });

  it('a host outside trust.hosts loses all regbook wrote there, and restarts only where its store changed', () => {
    const pb = playbook({ hosts: ['master'], restartDocker: 'on-change' });
    const st: HostState = {
      files: { [DEB_STORE]: [PEM, '444'], [DOCKER]: [PEM, '444'] },
      known: [DOCKER, DEB_STORE],
      record: recordText({ files: [DOCKER, DEB_STORE], insecure: [] }),
    };
    const facts: TrustFacts = { wanted: false, os: debian, probe: probeOf(st, undefined), docker: calm };
    const plan = leftoverStage.plan(facts, input(pb));
    assert.deepEqual(
      plan.changes.map((c) => c.what),
      [DOCKER, DEB_STORE, 'OS trust store', TRUST_RECORD, 'docker'],
    );
    assert.deepEqual(plan.notify, ['restart-docker']);
    const never = leftoverStage.plan(facts, input(playbook({ hosts: ['master'], restartDocker: 'never' })));
    assert.equal(never.notify, undefined);
  });
});

describe('insecure mode: after the reload, docker info must list the address', () => {
  const reloadWait = (): ((conn: Connection) => Promise<void>) => {
    const row = rows.find((r) =>
      r.name.startsWith('insecure, daemon.json right but the daemon never reloaded'),
    )!;
    const facts: TrustFacts = {
      wanted: true,
      os: debian,
      probe: probeOf(row.state(row.pb), recordText(wantedRecord(row.pb, trustFiles(row.pb, debian)))),
      docker: row.docker!,
    };
    const plan = trustStage.plan(facts, input(row.pb, worker, Later.known(PEM)));
    const step = plan.steps.find((s) => s.describe === 'waiting for docker to reload');
    assert.ok(step?.kind === 'fn');
    return step.run;
  };
  // docker info's JSON, with the address insecure or not.
  const info = (listed: boolean) => ({
    RegistryConfig: { IndexConfigs: { 'master:5000': { Secure: !listed } } },
  });
  const asked = { n: 0 };
  const conn = (answers: (n: number) => unknown) => {
    asked.n = 0;
    const docker = {
      json: async (method: string, path: string) => {
        assert.equal(`${method} ${path}`, 'GET /info');
        return answers(++asked.n);
      },
    };
    return { docker: () => docker } as unknown as Connection;
  };

  it('waits until the reloaded daemon lists it', async () => {
    await reloadWait()(conn((n) => info(n >= 3)));
    assert.equal(asked.n, 3, 'asked docker info until the third answer listed it');
  });
  it('fails, naming the address, when the daemon never lists it', async () => {
    await assert.rejects(
      reloadWait()(conn(() => info(false))),
      /docker info does not show master:5000 \(to be listed\) as insecure registries after the reload/,
    );
  });
});
