import { posix } from 'node:path';
import type { HostFacts, Change, Step, TaskResult } from '../core/task.js';
import { TaskFailure } from '../core/task.js';
import type { Playbook } from '../config/model.js';
import type { RunStage, TaskDef } from '../engine/context.js';
import type { Cmd } from '../core/cmd.js';
import { declareShellScript } from '../core/shell-script.js';
import { sha256, type RemoteFile } from '../facts/files.js';
import type { Connection } from '../transport/types.js';
import { ensureTlsKnown } from './api.js';
import { takeEarly } from '../engine/early.js';
import { applySteps, parallel, result } from './steps.js';
import { masterName, type Shared } from './shared.js';
import { CERT_MODE } from './tls.js';
import { readDockerState, restartImpact } from './trust/restart.js';
import {
  CONTAINERD_CERTS_D,
  CONTAINERD_CONFIG,
  configPathEdit,
  hostsToml,
  restartContainerdCmd,
} from './trust/containerd.js';
import type { Ctx } from './shared.js';
import {
  OWN_NAMED_GLOBS,
  TRUST_RECORD,
  mergeRecords,
  parseRecord,
  recordText,
  removeStaleCmd,
  removeStoreFilesCmd,
  staleTrust,
  storeRefresh,
  type TrustRecord,
} from './trust/record.js';
import {
  DOCKER_DAEMON_JSON,
  daemonJsonEdit,
  dockerInfoCmd,
  listedInsecure,
  podmanDropIn,
  podmanDropInText,
  reloadDockerCmd,
} from './trust/insecure.js';

export interface TrustFile {
  path: string;
  /** What the file holds when it is not the trust anchor (containerd's hosts.toml). */
  data?: string;
  /** Its mode when not a certificate's. */
  mode?: number;
  /** read: only read, for a later decision (daemon.json, config.toml); absent: must not exist. */
  kind?: 'read' | 'absent';
  /** Refreshes the OS store after the file changed (system trust only). */
  refresh?: string[];
  /** The bundle the refresh builds; it must hold the anchor, or the refresh is still owed. */
  bundle?: string;
  system: boolean;
}

// dockerd writes its pid here when it starts (its default --pidfile, under systemd and SysV init
// alike), so the file's mtime is when the running daemon started.
export const DOCKER_PIDFILE = '/var/run/docker.pid';

// One line per file: "M" when it is missing, else "F <mode> <base64>", and for a store file two
// flags more.
// - Whether the OS bundle holds the certificate the file holds: a run cut off after writing the
//   store file and before the refresh leaves the file right and the bundle stale, and without
//   this no later run would refresh it. The middle line of the PEM body, as a whole line of the
//   bundle, finds the certificate. The file on the host is read rather than the anchor, so the
//   probe needs nothing from tls and can run with the facts; its answer counts only where the
//   file holds the anchor (elsewhere the file is written and the store refreshed anyway).
// - Whether the running docker daemon started before the file was written, and so has not loaded
//   it: a run cut off between the refresh and the restart leaves file and bundle right, and only
//   this shows the restart is still owed. Without a pidfile there is no telling: no restart.
// After those lines, what regbook wrote here before: "R <base64>" with the record when there is
// one, and "K <path>" for each file the record lists or regbook's naming marks that exists.
// Paths are positional arguments ($1 the pidfile, $2 the record, then path and bundle pairs, "-"
// for none); the globs are fixed.
const TRUST_PROBE = [
  'pid=$1 rec=$2; shift 2',
  'while [ $# -ge 2 ]; do',
  '  f=$1 b=$2; shift 2',
  '  if [ ! -f "$f" ]; then echo M; continue; fi',
  '  printf "F %s %s" "$(stat -c %a "$f")" "$(base64 -w0 < "$f")"',
  '  if [ "$b" != - ]; then',
  `    h=0; l=$(awk '$0 != "" && !/^-----/ { a[++n] = $0 } END { if (n) print a[int(n / 2) + 1] }' "$f")`,
  '    [ -n "$l" ] && [ -f "$b" ] && grep -qxF -- "$l" "$b" && h=1',
  '    o=0',
  "    # shellcheck disable=SC3013 # dash's, bash's and busybox's test have -nt, POSIX's has not",
  '    [ -f "$pid" ] && [ "$f" -nt "$pid" ] && o=1',
  '    printf " %s %s" "$h" "$o"',
  '  fi',
  '  echo',
  'done',
  'if [ -f "$rec" ]; then',
  '  printf "R %s\\n" "$(base64 -w0 < "$rec")"',
  '  while IFS= read -r l; do case $l in "file /"*) p=${l#file }',
  '    if [ -e "$p" ] || [ -L "$p" ]; then printf "K %s\\n" "$p"; fi ;; esac; done < "$rec"',
  'fi',
  `for p in ${OWN_NAMED_GLOBS.join(' ')}; do if [ -f "$p" ]; then printf "K %s\\n" "$p"; fi; done`,
].join('\n');
declareShellScript('tasks/trust: trust probe', TRUST_PROBE);

export function trustProbeCmd(
  files: readonly TrustFile[],
  pidfile = DOCKER_PIDFILE,
  record = TRUST_RECORD,
): Cmd {
  const args = files.flatMap((f) => [f.path, f.system && f.bundle ? f.bundle : '-']);
  return { argv: ['sh', '-c', TRUST_PROBE, 'sh', pidfile, record, ...args], privileged: true };
}

export function parseTrustProbe(files: readonly TrustFile[], stdout: string): TrustProbe {
  const all = stdout.split('\n').filter((l) => l.length > 0);
  const lines = all.slice(0, files.length);
  const rest = all.slice(files.length);
  if (lines.length !== files.length || rest.some((l) => !/^[RK] /.test(l)))
    throw new Error(`expected ${files.length} trust file reports, got ${all.length} lines`);
  const probe: TrustProbe = {
    files: new Map(),
    bundleHolds: new Map(),
    dockerOlder: new Map(),
    known: new Set(),
  };
  for (const l of rest) {
    if (l.startsWith('R ')) probe.record = Buffer.from(l.slice(2), 'base64').toString('utf8');
    else probe.known.add(l.slice(2));
  }
  files.forEach((f, i) => {
    const [kind, mode, b64, holds, older] = lines[i]!.split(' ');
    probe.files.set(
      f.path,
      kind === 'F' ? { mode: mode ?? '', content: Buffer.from(b64 ?? '', 'base64') } : undefined,
    );
    probe.bundleHolds.set(f.path, holds === '1');
    probe.dockerOlder.set(f.path, older === '1');
  });
  return probe;
}

/** Where a host keeps the registry's trust anchor, by what the playbook asks and the OS family. */
export function trustFiles(pb: Playbook, facts: Pick<HostFacts, 'osFamily' | 'osId'>): TrustFile[] {
  const files: TrustFile[] = [];
  const safeName = `regbook-${pb.registry.address.replace(/[^A-Za-z0-9.-]/g, '_')}.crt`;
  const runtimes = pb.trust.runtimes;
  const address = pb.registry.address;
  // Read without docker in runtimes too: an insecure-registries entry regbook added earlier goes.
  files.push({ path: DOCKER_DAEMON_JSON, kind: 'read', system: false });
  if (runtimes.includes('containerd')) files.push({ path: CONTAINERD_CONFIG, kind: 'read', system: false });
  if (pb.tls.mode === 'none') {
    // Plain HTTP: no certificate anywhere; docker's daemon.json is merged after the files.
    if (runtimes.includes('containerd')) {
      files.push({
        path: posix.join(CONTAINERD_CERTS_D, address, 'hosts.toml'),
        data: hostsToml(address, 'http'),
        mode: 0o644,
        system: false,
      });
    }
    if (runtimes.includes('podman')) {
      files.push({
        path: podmanDropIn(address),
        data: podmanDropInText(address),
        mode: 0o644,
        system: false,
      });
    }
    return files;
  }
  // A drop-in left from tls.mode none would let podman fall back to plain HTTP.
  files.push({ path: podmanDropIn(address), kind: 'absent', system: false });
  if (runtimes.includes('docker') && pb.trust.dockerCertsD) {
    files.push({ path: posix.join('/etc/docker/certs.d', pb.registry.address, 'ca.crt'), system: false });
  }
  if (runtimes.includes('containerd')) {
    const dir = posix.join(CONTAINERD_CERTS_D, pb.registry.address);
    const ca = posix.join(dir, 'ca.crt');
    files.push({ path: ca, system: false });
    files.push({
      path: posix.join(dir, 'hosts.toml'),
      data: hostsToml(pb.registry.address, 'https', ca),
      mode: 0o644,
      system: false,
    });
  }
  if (runtimes.includes('podman')) {
    // podman, CRI-O, buildah and skopeo share containers/image, which reads this directory.
    files.push({ path: posix.join('/etc/containers/certs.d', pb.registry.address, 'ca.crt'), system: false });
  }
  if (pb.trust.system) {
    if (facts.osFamily === 'debian') {
      files.push({
        path: posix.join('/usr/local/share/ca-certificates', safeName),
        refresh: ['update-ca-certificates'],
        bundle: '/etc/ssl/certs/ca-certificates.crt',
        system: true,
      });
    } else if (facts.osFamily === 'rhel') {
      files.push({
        path: posix.join('/etc/pki/ca-trust/source/anchors', safeName),
        refresh: ['update-ca-trust', 'extract'],
        bundle: '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
        system: true,
      });
    } else {
      throw new TaskFailure(
        `cannot add to the system trust store of OS "${facts.osId}" (Debian and RHEL families only); set trust.system: false`,
      );
    }
  }
  return files;
}

/** What trust reads on a host before it decides: the files, and per store file its two probes. */
export interface TrustProbe {
  files: Map<string, RemoteFile | undefined>;
  /** By store file: the OS bundle holds the certificate that file holds. */
  bundleHolds: Map<string, boolean>;
  /** By store file: the running docker daemon started before the file was written. */
  dockerOlder: Map<string, boolean>;
  /** The record of what regbook wrote here (trust/record.ts), when there is one. */
  record?: string;
  /** Files regbook wrote here that exist: those the record lists, and those its naming marks. */
  known: Set<string>;
}

/** Every file trust keeps on a host of either OS family: a read-ahead runs before facts tell which. */
function candidateFiles(pb: Playbook): TrustFile[] {
  const byPath = new Map<string, TrustFile>();
  for (const osFamily of ['debian', 'rhel'] as const) {
    for (const f of trustFiles(pb, { osFamily, osId: osFamily })) byPath.set(f.path, f);
  }
  return [...byPath.values()];
}

/** One round trip: the files, whether each OS bundle holds its store file, and docker's age against it. */
async function probeTrust(conn: Connection, files: readonly TrustFile[]): Promise<TrustProbe> {
  const r = await conn.exec(trustProbeCmd(files));
  if (r.code !== 0)
    throw new TaskFailure(`reading ${files.map((f) => f.path).join(', ')} failed: ${r.stderr.trim()}`);
  return parseTrustProbe(files, r.stdout);
}

export const trustTask: TaskDef<Shared, RunStage<Shared>> = {
  id: 'trust',
  // Nothing before trust writes what it reads on a worker, so each host's probe starts with its
  // facts. On the master, tls may just have written a file trust reads (a tls.dir of
  // /etc/docker/certs.d/<address>), so there a read-ahead counts only when tls wrote nothing.
  readAhead: (run, conn) => probeTrust(conn, candidateFiles(run.playbook)),
  stages: [
    { hosts: (run) => run.playbook.trust.hosts, run: (ctx) => converge(ctx, true) },
    {
      // Hosts of the inventory outside trust.hosts that still hold what regbook wrote there for
      // trust: they lose it (the facts tell which, so the others are not reported).
      hosts: (run) =>
        run.inventory.hosts
          .map((h) => h.name)
          .filter((n) => !run.playbook.trust.hosts.includes(n) && run.facts.get(n)?.trustLeftovers),
      run: (ctx) => converge(ctx, false),
    },
  ],
};

/** What regbook records as written on a host that trusts the registry with these files. */
export function wantedRecord(pb: Playbook, files: readonly TrustFile[]): TrustRecord {
  return {
    files: files.filter((f) => !f.kind).map((f) => f.path),
    insecure: pb.tls.mode === 'none' && pb.trust.runtimes.includes('docker') ? [pb.registry.address] : [],
  };
}

/**
 * Makes a host trust the registry as the playbook asks (`wanted`), or trust it no more (a host
 * outside trust.hosts), and takes away what regbook wrote there earlier that the playbook no
 * longer asks for.
 */
async function converge(ctx: Ctx, wanted: boolean): Promise<TaskResult> {
  const pb = ctx.run.playbook;
  const facts = ctx.run.facts.get(ctx.host.name)!;
  const files = wanted
    ? trustFiles(pb, facts)
    : [{ path: DOCKER_DAEMON_JSON, kind: 'read' as const, system: false }];
  await ensureTlsKnown(ctx.run);
  // Pending: the tls task makes it in this run, and it is written as soon as it is made.
  const anchorLater = ctx.run.shared.tls?.anchorPem;
  const anchor = anchorLater?.value;
  if (wanted && !anchorLater && pb.tls.mode !== 'none')
    throw new TaskFailure('no certificate to distribute (the tls task did not produce one)');
  const restart = wanted
    ? pb.trust.restartDocker
    : pb.trust.restartDocker === 'never'
      ? 'never'
      : 'on-change';
  const early = wanted ? takeEarly<TrustProbe, Shared>(ctx.run, 'trust', ctx.host.name) : undefined;
  const tls = ctx.run.shared.tls;
  // What tls made is known once its steps wrote it (never in check mode).
  const tlsWrote =
    ctx.host.name === masterName(ctx.run) &&
    ((tls?.anchorChanged && tls.anchorPem?.known) || (tls?.serverChanged && tls.serverFingerprint?.known));
  const probe = await ((!tlsWrote && early) || probeTrust(ctx.conn, files));
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
    const want = f.data ?? anchor;
    const mode = (f.mode ?? CERT_MODE).toString(8);
    const haveSha = have ? sha256(have.content) : undefined;
    const wantSha = want ? sha256(want) : undefined;
    if (want && haveSha === wantSha) {
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
      steps.push({
        kind: 'exec',
        describe: f.refresh.join(' '),
        cmd: { argv: f.refresh, privileged: true },
      });
    }
  }

  // What regbook wrote here before and the playbook no longer asks for. The removals run before
  // the writes, so a store refresh that a write runs anyway covers them.
  const want = wantedRecord(pb, files);
  const recorded = parseRecord(probe.record);
  // A file kept away above (the plain-HTTP drop-in of this address) is not reported twice. On
  // the master, a file in tls.dir is the tls task's own (a tls.dir inside certs.d, under the
  // old address), whatever trust wrote there before.
  const absent = new Set(files.filter((f) => f.kind === 'absent').map((f) => f.path));
  const tlsDir = posix.join(pb.tls.dir, '/');
  const tlsOwns = (p: string) => ctx.host.name === masterName(ctx.run) && p.startsWith(tlsDir);
  const stale = staleTrust(
    want,
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
  const finalText = recordText(want);
  const firstText = recordText(mergeRecords(want, recorded));
  const recordSteps = { first: [] as Step[], last: [] as Step[] };
  if (probe.record !== finalText) {
    changes.push({ what: TRUST_RECORD, why: 'lists the trust files regbook keeps on this host' });
    const write = (data: string): Step => ({
      kind: 'write',
      describe: `write ${TRUST_RECORD}`,
      path: TRUST_RECORD,
      data,
      mode: 0o644,
      dirMode: 0o755,
    });
    if (probe.record !== firstText) recordSteps.first.push(write(firstText));
    if (firstText !== finalText) recordSteps.last.push(write(finalText));
  }

  if (restart === 'always' || (restart === 'on-change' && systemChanged)) {
    // The plan says what the restart does to the workload running there.
    const impact = restartImpact(await readDockerState(ctx.conn));
    changes.push({
      what: 'docker',
      why: `${restart === 'always' ? 'restartDocker: always' : 'restart (the OS store changed)'}, rolling (serial ${pb.trust.serial}): ${impact}`,
    });
    ctx.notify('restart-docker');
  }
  const after: Step[] = [];
  if (wanted && pb.trust.runtimes.includes('containerd'))
    after.push(...containerdConfig(current.get(CONTAINERD_CONFIG), changes));
  after.push(
    ...(await dockerInsecure(ctx, current.get(DOCKER_DAEMON_JSON), changes, wanted, stale.insecure)),
  );
  if (changes.length > 0)
    await applySteps(ctx, [
      ...recordSteps.first,
      ...removals,
      ...parallel('trust files', lanes),
      ...after,
      ...recordSteps.last,
    ]);
  return result(changes);
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
    { kind: 'exec', describe: 'restarting containerd', cmd: restartContainerdCmd() },
  ];
}

/**
 * docker's insecure-registries: the address listed in daemon.json and loaded by the running
 * daemon in tls.mode none (where docker is in trust.runtimes of a trust host), listed nowhere
 * otherwise; addresses regbook listed earlier (`stale`) taken out. A reload (SIGHUP) applies
 * it, no restart.
 */
async function dockerInsecure(
  ctx: Ctx,
  file: RemoteFile | undefined,
  changes: Change[],
  wanted: boolean,
  stale: readonly string[],
): Promise<Step[]> {
  const { address } = ctx.run.playbook.registry;
  const manage = wanted && ctx.run.playbook.trust.runtimes.includes('docker');
  const want = manage && ctx.run.playbook.tls.mode === 'none';
  // Each address in turn on the text the previous edit left: the first edit's from, the last's to.
  let text = file?.content.toString('utf8');
  let from: string | undefined;
  let to = '';
  const targets: [string, boolean][] = [
    ...(manage ? [[address, want] as [string, boolean]] : []),
    ...stale.filter((a) => a !== address).map((a) => [a, false] as [string, boolean]),
  ];
  for (const [a, w] of targets) {
    const e = daemonJsonEdit(text, a, w);
    if (!e) continue;
    from ??= e.from;
    to = e.to;
    text = e.text;
  }
  const edited = from !== undefined;
  const info = async (conn: Connection) => {
    const r = await conn.exec(dockerInfoCmd());
    if (r.code !== 0) throw new TaskFailure(`docker info failed: ${r.stderr.trim()}`);
    return r.stdout;
  };
  if (edited) {
    changes.push({ what: `${DOCKER_DAEMON_JSON} insecure-registries`, from, to });
  } else if (!want || listedInsecure(await info(ctx.conn), address)) {
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
      data: text ?? '',
      mode: file ? parseInt(file.mode, 8) : 0o644,
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
          const now = await info(conn);
          if (targets.every(([a, w]) => listedInsecure(now, a) === w)) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        const still = targets.map(([a, w]) => `${a} (${w ? 'to be listed' : 'to be gone'})`).join(', ');
        throw new TaskFailure(`docker info does not show ${still} as insecure registries after the reload`);
      },
    },
  );
  return steps;
}

export { RESTART_DOCKER, restartDockerHandler } from './trust/restart.js';
