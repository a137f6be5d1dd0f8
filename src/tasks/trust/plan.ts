// The trust task's plan: from what a host holds (facts/trust.ts, facts/docker-state.ts) and what the
// playbook asks, the changes and the steps that make them. Pure: the same facts give the same plan
// in check mode and in an apply.
import { posix } from 'node:path';
import type { Playbook } from '../../config/model.js';
import { Later } from '../../core/later.js';
import type { Change, HostFacts, Step } from '../../core/task.js';
import { TaskFailure } from '../../core/task.js';
import type { Plan, PlanInput } from '../../engine/context.js';
import type { DockerState } from '../../facts/docker-state.js';
import { sha256, type RemoteFile } from '../../facts/files.js';
import type { TrustProbe } from '../../facts/trust.js';
import type { Shared } from '../shared.js';
import { must, parallel } from '../steps.js';
import { CERT_MODE } from '../tls.js';
import {
  CONTAINERD_CONFIG,
  configPathEdit,
  restartContainerdCmd,
  waitDockerOnContainerd,
} from './containerd.js';
import { leftoverFiles, trustFiles, wantedRecord, type TrustFile } from './files.js';
import {
  DOCKER_DAEMON_JSON,
  daemonJsonEdit,
  dockerInfo,
  listedInsecure,
  reloadDockerCmd,
} from './insecure.js';
import {
  TRUST_RECORD,
  mergeRecords,
  parseRecord,
  recordText,
  removeStaleCmd,
  removeStoreFilesCmd,
  staleTrust,
  storeRefresh,
} from './record.js';
import { restartImpact } from './restart.js';

/** What the trust plan decides from on one host. */
export interface TrustFacts {
  /**
   * The host is in trust.hosts and is to trust the registry; otherwise it only holds what regbook
   * wrote there earlier, which goes.
   */
  wanted: boolean;
  os: Pick<HostFacts, 'osFamily' | 'osId'>;
  probe: TrustProbe;
  /**
   * The running daemon, read only where the plan needs it (`dockerNeeded`): to say what a restart
   * does to its containers, or whether it loaded the registry as insecure.
   */
  docker?: DockerState;
}

export type RestartPolicy = 'never' | 'on-change' | 'always';

/** The files a host of this kind is read for and planned with. */
export function filesFor(pb: Playbook, wanted: boolean, os: TrustFacts['os']): TrustFile[] {
  return wanted ? trustFiles(pb, os) : leftoverFiles();
}

function restartPolicy(pb: Playbook, wanted: boolean): RestartPolicy {
  // A host leaving trust.hosts is restarted only where a store file leaves it, and never when the
  // playbook says never.
  if (wanted) return pb.trust.restartDocker;
  return pb.trust.restartDocker === 'never' ? 'never' : 'on-change';
}

/** Everything but what needs docker's own state: the files, the stale ones, the record, containerd. */
interface Decided {
  changes: Change[];
  recordFirst: Step[];
  removals: Step[];
  lanes: Step[][];
  containerd: Step[];
  containerdChanges: Change[];
  recordLast: Step[];
  recordChange?: Change;
  /** An OS store file is written, refreshed or removed: restartDocker: on-change restarts. */
  systemChanged: boolean;
  restart: RestartPolicy;
  /** docker's insecure-registries: the daemon.json edit, and whether docker must list the address. */
  insecure: {
    edited?: { text: string; from: string; to: string };
    want: boolean;
    targets: [string, boolean][];
  };
  file: RemoteFile | undefined;
}

function decide(facts: TrustFacts, input: PlanInput<Shared>): Decided {
  const pb = input.playbook;
  const { wanted, probe } = facts;
  const files = filesFor(pb, wanted, facts.os);
  const anchor = input.shared.tls?.anchorPem;
  if (wanted && !anchor && pb.tls.mode !== 'none')
    throw new TaskFailure('no certificate to distribute (the tls task did not produce one)');
  const restart = restartPolicy(pb, wanted);
  const current = probe.files;
  const changes: Change[] = [];
  // One lane per file, run side by side: a file's write and then its store refresh.
  const lanes: Step[][] = [];
  let systemChanged = false;
  for (const f of files) {
    const steps: Step[] = [];
    lanes.push(steps);
    const have = current.get(f.path);
    if (f.kind === 'read') continue;
    if (f.kind === 'absent') {
      if (have) {
        changes.push({ what: f.path, from: 'present', to: 'absent' });
        steps.push({
          kind: 'exec',
          describe: `rm ${f.path}`,
          cmd: { argv: ['rm', '-f', '--', f.path], privileged: true },
        });
      }
      continue;
    }
    // A file's content: its own text, or the anchor, which is pending while tls is still to make it.
    const want: string | Later<string> | undefined = f.data ?? anchor;
    const wantText = want instanceof Later ? want.value : want;
    const mode = (f.mode ?? CERT_MODE).toString(8);
    const haveSha = have ? sha256(have.content) : undefined;
    const wantSha = wantText !== undefined ? sha256(wantText) : undefined;
    if (wantSha !== undefined && haveSha === wantSha) {
      if (have && have.mode !== mode) {
        changes.push({ what: `${f.path} mode`, from: have.mode, to: mode });
        steps.push({
          kind: 'exec',
          describe: `chmod ${f.path}`,
          cmd: { argv: ['chmod', mode, '--', f.path], privileged: true },
        });
      }
      if (f.refresh && f.bundle && !probe.bundleHolds.get(f.path)) {
        systemChanged = true;
        changes.push({ what: f.bundle, why: `does not hold the registry's certificate yet` });
        steps.push({
          kind: 'exec',
          describe: f.refresh.join(' '),
          cmd: { argv: f.refresh, privileged: true },
        });
      } else if (restart === 'on-change' && probe.dockerOlder.get(f.path)) {
        systemChanged = true;
        changes.push({
          what: 'docker',
          why: `running since before ${f.path} was written: the restart is still owed`,
        });
      }
      continue;
    }
    changes.push({
      what: f.path,
      ...(haveSha ? { from: `sha256:${haveSha.slice(0, 16)}` } : {}),
      to: wantSha ? `sha256:${wantSha.slice(0, 16)}` : '(new certificate)',
    });
    steps.push({
      kind: 'write',
      describe: `write ${f.path}`,
      path: f.path,
      data: want ?? '',
      mode: f.mode ?? CERT_MODE,
      dirMode: 0o755,
    });
    if (f.refresh) {
      systemChanged = true;
      steps.push({ kind: 'exec', describe: f.refresh.join(' '), cmd: { argv: f.refresh, privileged: true } });
    }
  }

  // What regbook wrote here before and the playbook no longer asks for. The removals run before
  // the writes, so a store refresh that a write runs anyway covers them.
  const wantRecord = wantedRecord(pb, files);
  const recorded = parseRecord(probe.record);
  // A file kept away above (the plain-HTTP drop-in of this address) is not reported twice. On
  // the master, a file in tls.dir is the tls task's own (a tls.dir inside certs.d, under the
  // old address), whatever trust wrote there before.
  const absent = new Set(files.filter((f) => f.kind === 'absent').map((f) => f.path));
  const tlsDir = posix.join(pb.tls.dir, '/');
  const isMaster = input.host.name === input.inventory.master.name;
  const tlsOwns = (p: string) => isMaster && p.startsWith(tlsDir);
  const stale = staleTrust(
    wantRecord,
    [...probe.known].filter((p) => !absent.has(p) && !tlsOwns(p)),
    recorded,
  );
  // An OS-store file and the store's rebuild go in one command, so a run stopped between steps
  // never leaves the file gone and the bundle still holding it. Where a write of this run
  // rebuilds that store anyway (later, in its lane), the removal leaves it to that: a stop before
  // then leaves the write, and so the rebuild, owed to the next run.
  const removals: Step[] = [];
  const laneRuns = new Set(lanes.flat().flatMap((s) => (s.kind === 'exec' ? [s.cmd.argv.join(' ')] : [])));
  const byStore = new Map<string, string[]>();
  for (const path of stale.files) {
    changes.push({
      what: path,
      from: 'present',
      to: 'absent',
      why: 'written by regbook; the playbook no longer asks for it',
    });
    const refresh = storeRefresh(path);
    if (!refresh) {
      removals.push({ kind: 'exec', describe: `rm ${path}`, cmd: removeStaleCmd(path) });
      continue;
    }
    systemChanged = true;
    const line = refresh.join(' ');
    byStore.set(line, [...(byStore.get(line) ?? []), path]);
  }
  for (const [line, paths] of byStore) {
    const rebuild = !laneRuns.has(line);
    if (rebuild)
      changes.push({ what: 'OS trust store', why: `rebuilt without the removed certificate (${line})` });
    removals.push({
      kind: 'exec',
      describe: `rm ${paths.join(' ')}${rebuild ? `; ${line}` : ''}`,
      cmd: removeStoreFilesCmd(paths, rebuild),
    });
  }

  // The record lists every file before it is written, and drops an entry only once it is gone.
  const finalText = recordText(wantRecord);
  const firstText = recordText(mergeRecords(wantRecord, recorded));
  const recordFirst: Step[] = [];
  const recordLast: Step[] = [];
  let recordChange: Change | undefined;
  if (probe.record !== finalText) {
    recordChange = { what: TRUST_RECORD, why: 'lists the trust files regbook keeps on this host' };
    const write = (data: string): Step => ({
      kind: 'write',
      describe: `write ${TRUST_RECORD}`,
      path: TRUST_RECORD,
      data,
      mode: 0o644,
      dirMode: 0o755,
    });
    if (probe.record !== firstText) recordFirst.push(write(firstText));
    if (firstText !== finalText) recordLast.push(write(finalText));
  }

  const containerdChanges: Change[] = [];
  const containerd =
    wanted && pb.trust.runtimes.includes('containerd')
      ? containerdConfig(current.get(CONTAINERD_CONFIG), containerdChanges)
      : [];

  // docker's insecure-registries: the address listed in daemon.json and loaded by the running
  // daemon in tls.mode none (where docker is in trust.runtimes of a trust host), listed nowhere
  // otherwise; addresses regbook listed earlier taken out. Each address in turn on the text the
  // previous edit left: the first edit's from, the last's to.
  const { address } = pb.registry;
  const manage = wanted && pb.trust.runtimes.includes('docker');
  const wantInsecure = manage && pb.tls.mode === 'none';
  const file = current.get(DOCKER_DAEMON_JSON);
  let text = file?.content.toString('utf8');
  let from: string | undefined;
  let to = '';
  const targets: [string, boolean][] = [
    ...(manage ? [[address, wantInsecure] as [string, boolean]] : []),
    ...stale.insecure.filter((a) => a !== address).map((a) => [a, false] as [string, boolean]),
  ];
  for (const [a, w] of targets) {
    const e = daemonJsonEdit(text, a, w);
    if (!e) continue;
    from ??= e.from;
    to = e.to;
    text = e.text;
  }
  const edited = from !== undefined ? { text: text ?? '', from, to } : undefined;

  return {
    changes,
    recordFirst,
    removals,
    lanes,
    containerd,
    containerdChanges,
    recordLast,
    ...(recordChange ? { recordChange } : {}),
    systemChanged,
    restart,
    insecure: { ...(edited ? { edited } : {}), want: wantInsecure, targets },
    file,
  };
}

function restarts(d: Decided): boolean {
  return d.restart === 'always' || (d.restart === 'on-change' && d.systemChanged);
}

/**
 * Whether the plan needs the running daemon's state: a restart it plans (what the restart does to
 * the containers there), or an insecure registry that daemon.json already lists (whether the
 * daemon loaded it). The gather reads it only then, with the facts it has read so far.
 */
export function dockerNeeded(facts: TrustFacts, input: PlanInput<Shared>): boolean {
  const d = decide(facts, input);
  return restarts(d) || (d.insecure.want && !d.insecure.edited);
}

/**
 * Makes a host trust the registry as the playbook asks (`facts.wanted`), or trust it no more (a
 * host outside trust.hosts), and takes away what regbook wrote there earlier that the playbook no
 * longer asks for.
 */
export function planTrust(facts: TrustFacts, input: PlanInput<Shared>): Plan<Shared> {
  const pb = input.playbook;
  const d = decide(facts, input);
  const docker = (): DockerState => {
    // The gather reads it whenever dockerNeeded says so: a plan without it is the gather's bug.
    if (!facts.docker) throw new Error('the trust plan needs docker’s state, and it was not read');
    return facts.docker;
  };
  const changes = [...d.changes];
  if (d.recordChange) changes.push(d.recordChange);
  const notify = restarts(d);
  if (notify) {
    // The plan says what the restart does to the workload running there.
    changes.push({
      what: 'docker',
      why: `${d.restart === 'always' ? 'restartDocker: always' : 'restart (the OS store changed)'}, rolling (serial ${pb.trust.serial}): ${restartImpact(docker())}`,
    });
  }
  changes.push(...d.containerdChanges);
  const { address } = pb.registry;
  const insecure = insecureSteps(d, changes, address, () => docker().insecure.includes(address));
  return {
    changes,
    steps:
      changes.length === 0
        ? []
        : [
            ...d.recordFirst,
            ...d.removals,
            ...parallel('trust files', d.lanes),
            ...d.containerd,
            ...insecure,
            ...d.recordLast,
          ],
    ...(notify ? { notify: ['restart-docker' as const] } : {}),
  };
}

/** Where the CRI plugin does not read containerd's hosts directory yet: config_path set, containerd restarted. */
function containerdConfig(file: RemoteFile | undefined, changes: Change[]): Step[] {
  const edit = configPathEdit(file?.content.toString('utf8'));
  if (!edit) return [];
  changes.push({
    what: `${CONTAINERD_CONFIG} registry config_path`,
    from: edit.from,
    to: edit.to,
    ...(edit.rewritten ? { why: 'written anew from its settings: its comments are not kept' } : {}),
  });
  changes.push({ what: 'containerd', why: 'restarted to read config_path; containers keep running' });
  return [
    {
      kind: 'write',
      describe: `write ${CONTAINERD_CONFIG}`,
      path: CONTAINERD_CONFIG,
      data: edit.text,
      mode: file ? parseInt(file.mode, 8) : 0o644,
      dirMode: 0o755,
    },
    {
      kind: 'fn',
      describe: 'restarting containerd',
      run: async (conn) => {
        await must(conn, restartContainerdCmd(), 'restarting containerd');
        await waitDockerOnContainerd(conn.docker());
      },
    },
  ];
}

/** daemon.json written when its list changes, then a reload (SIGHUP, no restart) and a wait for it. */
function insecureSteps(d: Decided, changes: Change[], address: string, loaded: () => boolean): Step[] {
  const { edited, want, targets } = d.insecure;
  if (edited) {
    changes.push({ what: `${DOCKER_DAEMON_JSON} insecure-registries`, from: edited.from, to: edited.to });
  } else if (!want || loaded()) {
    return [];
  } else {
    changes.push({ what: 'docker', why: `has not loaded ${address} as an insecure registry yet` });
  }
  const steps: Step[] = [];
  if (edited) {
    steps.push({
      kind: 'write',
      describe: `write ${DOCKER_DAEMON_JSON}`,
      path: DOCKER_DAEMON_JSON,
      data: edited.text,
      mode: d.file ? parseInt(d.file.mode, 8) : 0o644,
      dirMode: 0o755,
    });
  }
  steps.push(
    { kind: 'exec', describe: 'reloading docker (SIGHUP)', cmd: reloadDockerCmd() },
    {
      kind: 'fn',
      describe: 'waiting for docker to reload',
      run: async (conn) => {
        for (let i = 0; i < 100; i++) {
          let info: unknown;
          try {
            info = await dockerInfo(conn.docker());
          } catch (e) {
            throw new TaskFailure(`docker info failed: ${(e as Error).message}`);
          }
          if (targets.every(([a, w]) => listedInsecure(info, a) === w)) return;
          await new Promise((res) => setTimeout(res, 100));
        }
        const still = targets.map(([a, w]) => `${a} (${w ? 'to be listed' : 'to be gone'})`).join(', ');
        throw new TaskFailure(`docker info does not show ${still} as insecure registries after the reload`);
      },
    },
  );
  return steps;
}
