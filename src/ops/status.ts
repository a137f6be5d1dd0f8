// `regbook status`: one look at the whole cluster, read-only. Every host is connected at once and
// read once, by the plans of `apply --check` (ops/plan-health.ts); the health is rendered from what
// they gathered, with a GET /v2/ made on each trust host itself, one on each registry replica that
// verify's gather did not read, and the registry's catalog. The web view reads the same way.
import type { Cmd } from '../core/cmd.js';
import { parseV2, v2Cmd } from '../facts/registry-reach.js';
import { EXIT } from '../core/errors.js';
import { Later } from '../core/later.js';
import type { HostSpec } from '../config/model.js';
import { readFiles } from '../facts/files.js';
import { inspectCert, sameSans } from '../pki/index.js';
import { ensureAuthKnown, NO_TLS, registryClient } from '../tasks/api.js';
import { insecureWarning } from '../config/trust-rules.js';
import { desiredContainer, type ContainerSpec } from '../tasks/container.js';
import { ensureHttpSecretKnown } from '../tasks/replicas.js';
import { masterName, singleOnMaster, type Run } from '../tasks/shared.js';
import { tlsPaths } from '../tasks/tls.js';
import { trustFiles } from '../tasks/trust.js';
import { connect, type Connection } from '../transport/index.js';
import type { ExecResult } from '../transport/types.js';
import { operatorRun } from './catalog.js';
import { lend, type Lent } from './lent-connection.js';
import { planHealth, type PendingChange, type PlanHealth } from './plan-health.js';
import {
  containerOn,
  judgeReplicas,
  readReplicas,
  type ContainerStatus,
  type ReplicaStatus,
} from './registry-status.js';
import type { TlsFacts } from '../tasks/tls.js';
import type { TrustFacts } from '../tasks/trust/plan.js';

export type { ContainerStatus, ReplicaHealth, ReplicaStatus, ReplicaV2 } from './registry-status.js';

export interface StatusArgs {
  playbook: string;
  inventory: string;
}

export interface CertificateStatus {
  path: string;
  present: boolean;
  subject?: string;
  issuer?: string;
  sans?: string[];
  notAfter?: string;
  daysLeft?: number;
  fingerprint?: string;
  error?: string;
}

export interface ApiStatus {
  /**
   * The name the registry was read through (registry.address, from the master) when it runs on
   * replicas; absent: the master's own container, on the master's loopback. Either way through the
   * master's SSH connection, checked against the trust anchor.
   */
  via?: string;
  status?: number;
  error?: string;
  repositories?: Array<{ repository: string; tags: string[] }>;
}

export type TrustState = 'ok' | 'missing' | 'differs';

export interface TrustFileStatus {
  path: string;
  kind: 'certs.d' | 'system';
  state: TrustState;
}

export interface HostStatus {
  name: string;
  role: 'master' | 'worker';
  reachable: boolean;
  error?: string;
  docker?: 'running' | 'stopped' | 'absent';
  /** Whether the playbook's trust.hosts names this host. */
  trustExpected: boolean;
  trust?: TrustFileStatus[];
  /** GET https://<registry.address>/v2/ run on the host: the HTTP code, "000" when TLS or TCP failed. */
  v2?: { code: string; ok: boolean; detail?: string };
}

export interface StatusReport {
  registry: string;
  /** tls.mode none: the registry speaks plain HTTP and has no certificate. */
  plainHttp?: true;
  renewBeforeDays: number;
  certificate: CertificateStatus;
  anchor: CertificateStatus;
  /** The registry container: the master's, or with replicas the first replica's (all are in `replicas`). */
  container: ContainerStatus;
  api: ApiStatus;
  /** Each registry replica, when registry.replicas names other hosts than the master alone. */
  replicas?: ReplicaStatus[];
  hosts: HostStatus[];
  /**
   * What the next apply would change, host by host, as `apply --check` plans it (the same
   * engine, facts and plans): a host is healthy only when its plan is empty.
   */
  pending: PendingChange[];
  problems: string[];
  warnings: string[];
  exitCode: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The certificate's facts; an unreadable one is reported, not thrown. */
export function certificateStatus(path: string, pem: string | undefined, now: Date): CertificateStatus {
  if (pem === undefined) return { path, present: false };
  try {
    const c = inspectCert(pem);
    return {
      path,
      present: true,
      ...(c.subjectCN !== undefined ? { subject: `CN=${c.subjectCN}` } : {}),
      ...(c.issuerCN !== undefined ? { issuer: `CN=${c.issuerCN}` } : {}),
      sans: c.sans,
      notAfter: c.notAfter.toISOString(),
      daysLeft: Math.floor((c.notAfter.getTime() - now.getTime()) / DAY_MS),
      fingerprint: c.fingerprintSha256,
    };
  } catch (err) {
    return { path, present: true, error: (err as Error).message };
  }
}

/** Whether a trust file holds the anchor: compared by certificate fingerprint, not bytes. */
export function trustState(pem: string | undefined, anchorFingerprint: string | undefined): TrustState {
  if (pem === undefined) return 'missing';
  try {
    return anchorFingerprint !== undefined && inspectCert(pem).fingerprintSha256 === anchorFingerprint
      ? 'ok'
      : 'differs';
  } catch {
    return 'differs';
  }
}

interface MasterCerts {
  anchorPem?: string;
  certificate: CertificateStatus;
  anchor: CertificateStatus;
}

/** The server certificate and the trust anchor, where the tls task's plan did not read them. */
async function readMasterCerts(run: Run, conn: Connection, now: Date): Promise<MasterCerts> {
  const p = tlsPaths(run.playbook.tls.dir);
  const anchorPath = run.playbook.tls.mode === 'ca' ? p.caCrt : p.serverCrt;
  const files = await readFiles(conn, [...new Set([anchorPath, p.serverCrt])]);
  return certsFrom(run, { files }, now);
}

/**
 * The container the playbook wants, made with the certificate in place now (not one the next apply
 * would make): the containers and the registry's TLS are judged against what is there. Undefined
 * when there is no trust anchor to judge with. The same anchor as the plans' keeps the registry
 * client they opened (and its channel).
 */
async function inPlaceSpec(run: Run, certs: MasterCerts): Promise<ContainerSpec | undefined> {
  const pb = run.playbook;
  const plain = pb.tls.mode === 'none';
  const { anchorPem, certificate } = certs;
  if (!plain && !(anchorPem && certificate.fingerprint)) return undefined;
  run.shared.tls = {
    ...(plain ? {} : { anchorPem: Later.known(anchorPem!) }),
    anchorChanged: false,
    serverFingerprint: Later.known(plain ? NO_TLS : certificate.fingerprint!),
    serverChanged: false,
  };
  await ensureAuthKnown(run);
  // The replicas' http.secret, when there is one yet: the containers are compared with it.
  await ensureHttpSecretKnown(run).catch(() => undefined);
  return desiredContainer(
    pb,
    run.shared.tls.serverFingerprint!.value!,
    run.shared.auth?.fileSha?.value,
    run.secrets,
    run.shared.httpSecret?.value,
  );
}

/** GET /v2/, the catalog and the tags, through the run's client (the master's connection). */
async function readApi(run: Run): Promise<ApiStatus> {
  const api: ApiStatus = singleOnMaster(run) ? {} : { via: run.playbook.registry.address };
  try {
    const client = await registryClient(run);
    api.status = await client.ping();
    if (api.status === 200) {
      const repos = await client.catalog();
      api.repositories = await Promise.all(
        repos.map(async (repository) => ({ repository, tags: (await client.tags(repository)).sort() })),
      );
    }
  } catch (err) {
    api.error = (err as Error).message;
  }
  return api;
}

/**
 * The master's side: its certificates (as the tls task gathered them), the container the playbook
 * wants, the master's own container (when it is the one registry) and the registry's API.
 */
async function masterSide(run: Run, master: Connection, health: PlanHealth, now: Date) {
  const tls = health.gathered.get<TlsFacts>('tls', masterName(run));
  const certs = tls ? certsFrom(run, tls, now) : await readMasterCerts(run, master, now);
  const spec = await inPlaceSpec(run, certs);
  const container = singleOnMaster(run)
    ? await containerOn(run, masterName(run), master, health.gathered, spec, now)
    : undefined;
  const api: ApiStatus = spec
    ? await readApi(run)
    : { error: 'no trust anchor to check the registry’s certificate with' };
  return { certificate: certs.certificate, anchor: certs.anchor, spec, container, api };
}

/**
 * The verdict, from facts already gathered: what is wrong (problems), what needs attention soon
 * (warnings), and the exit code: 4 when a host is unreachable, else 2 when anything is listed.
 */
export function judge(
  r: Omit<StatusReport, 'problems' | 'warnings' | 'exitCode' | 'pending'> & { pending?: PendingChange[] },
  pb: Run['playbook'],
  failed: PlanHealth['failed'] = [],
): Pick<StatusReport, 'problems' | 'warnings' | 'exitCode'> {
  const problems: string[] = [];
  const warnings: string[] = [];
  // With the master unreachable nothing is known about the registry; that host's line says why.
  const masterDown = r.hosts.some((h) => h.role === 'master' && !h.reachable);
  if (pb.tls.mode === 'none') warnings.push(insecureWarning(pb)!);
  if (!masterDown) {
    const cert = r.certificate;
    if (pb.tls.mode === 'none') {
      // No certificate to judge: the registry speaks plain HTTP.
    } else if (!cert.present) problems.push(`certificate: ${cert.path} is missing on the master (run apply)`);
    else if (cert.error) problems.push(`certificate: ${cert.path} is unreadable: ${cert.error}`);
    else if (cert.daysLeft !== undefined) {
      if (cert.daysLeft < 0) problems.push(`certificate: expired on ${cert.notAfter}`);
      else if (cert.daysLeft <= r.renewBeforeDays)
        warnings.push(
          `certificate: expires in ${cert.daysLeft} days (${cert.notAfter?.slice(0, 10)}), within ` +
            `renewBeforeDays ${r.renewBeforeDays}: the next apply renews it`,
        );
      if (!sameSans(cert.sans ?? [], pb.tls.subjectAltNames))
        warnings.push(
          `certificate: SANs ${(cert.sans ?? []).join(', ')} differ from the playbook's: the next apply reissues it`,
        );
    }
    if (pb.tls.mode === 'none') {
      // No CA either.
    } else if (!r.anchor.present && r.anchor.path !== cert.path)
      problems.push(`certificate: the CA ${r.anchor.path} is missing on the master`);
    else if (r.anchor.daysLeft !== undefined && r.anchor !== cert && r.anchor.daysLeft <= r.renewBeforeDays)
      warnings.push(
        `CA certificate: expires in ${r.anchor.daysLeft} days, within renewBeforeDays ${r.renewBeforeDays}`,
      );

    const c = r.container;
    if (r.replicas) {
      // Judged replica by replica, below.
    } else if (!c.present) problems.push(`registry: no container ${c.name} on the master (run apply)`);
    else {
      if (c.state !== 'running') problems.push(`registry: container ${c.name} is ${c.state}`);
      if (c.differences?.length)
        warnings.push(
          `registry: the container differs from the playbook (${c.differences.join(', ')}): apply recreates it`,
        );
    }
    const through = r.api.via ? ` through ${r.api.via}` : '';
    if (r.api.error) problems.push(`registry${through}: ${r.api.error}`);
    else if (r.api.status !== undefined && r.api.status !== 200 && r.api.status !== 401)
      problems.push(`registry${through}: GET /v2/ answered ${r.api.status}`);
  }
  if (r.replicas) {
    const j = judgeReplicas(r.replicas);
    problems.push(...j.problems);
    warnings.push(...j.warnings);
  }
  for (const h of r.hosts) {
    if (!h.reachable) {
      problems.push(`${h.name}: unreachable: ${h.error ?? ''}`.trim());
      continue;
    }
    if (h.error) problems.push(`${h.name}: ${h.error}`);
    if (h.docker && h.docker !== 'running')
      problems.push(`${h.name}: docker is ${h.docker === 'absent' ? 'not installed' : 'not running'}`);
    for (const t of h.trust ?? []) {
      if (t.state !== 'ok')
        problems.push(
          `${h.name}: ${t.path} ${t.state === 'missing' ? 'is missing' : 'does not hold the registry’s certificate'}`,
        );
    }
    if (h.v2 && !h.v2.ok)
      problems.push(
        `${h.name}: cannot reach ${pb.tls.mode === 'none' ? 'http' : 'https'}://${r.registry}/v2/ (${h.v2.detail ?? h.v2.code})`,
      );
  }
  for (const f of failed) problems.push(`${f.host}: ${f.task} cannot be planned: ${f.message}`);
  const exitCode = r.hosts.some((h) => !h.reachable)
    ? EXIT.unreachable
    : problems.length + warnings.length + (r.pending?.length ?? 0) > 0
      ? EXIT.taskFailed
      : EXIT.ok;
  return { problems, warnings, exitCode };
}

/** The GET /v2/ a trust host is checked with: curl trusting what docker trusts there. */
function hostV2Cmd(run: Run): Cmd {
  const pb = run.playbook;
  // The certs.d file is the same on either OS family; only the store's path differs.
  const certsD = trustFiles(pb, { osFamily: 'debian', osId: 'debian' }).find(
    (f) => f.data === undefined && !f.kind && !f.system,
  )?.path;
  return v2Cmd(pb.registry.address, certsD, pb.tls.mode === 'none' ? 'http' : 'https');
}

/** The certificates' state from the master's files, as tls gathered them or as read here. */
function certsFrom(run: Run, tls: Pick<TlsFacts, 'files'>, now: Date): MasterCerts {
  const p = tlsPaths(run.playbook.tls.dir);
  const anchorPath = run.playbook.tls.mode === 'ca' ? p.caCrt : p.serverCrt;
  const anchorPem = tls.files.get(anchorPath)?.content.toString('utf8');
  const serverPem = tls.files.get(p.serverCrt)?.content.toString('utf8');
  return {
    ...(anchorPem ? { anchorPem } : {}),
    certificate: certificateStatus(p.serverCrt, serverPem, now),
    anchor: certificateStatus(anchorPath, anchorPem, now),
  };
}

/**
 * One host's health from what the plans gathered there: its facts, its trust files (the trust
 * task's probe), then GET /v2/ run on the host. A host the plans did not reach that far (its facts
 * failed a task first) has its trust files read here.
 */
async function hostStatusFrom(
  run: Run,
  host: HostSpec,
  conn: Connection | Error,
  v2Of: () => Promise<ExecResult>,
  health: PlanHealth,
  anchorFp: string | undefined,
): Promise<HostStatus> {
  const pb = run.playbook;
  const trustExpected = pb.trust.hosts.includes(host.name);
  const base = { name: host.name, role: host.role, trustExpected };
  if (conn instanceof Error) return { ...base, reachable: false, error: conn.message };
  const facts = run.facts.get(host.name);
  if (!facts) {
    const failed = health.failed.find((f) => f.host === host.name && f.task === 'facts');
    return { ...base, reachable: true, error: failed?.message ?? 'no facts were read' };
  }
  const docker = facts.dockerRunning ? 'running' : facts.dockerPresent ? 'stopped' : 'absent';
  if (!trustExpected) return { ...base, reachable: true, docker };
  try {
    // The certificates only: containerd's hosts.toml is configuration, not a trust anchor.
    const files = trustFiles(pb, facts).filter((f) => f.data === undefined && !f.kind);
    const gathered = health.gathered.get<TrustFacts>('trust', host.name)?.probe.files;
    const [contents, v2] = await Promise.all([
      gathered ??
        readFiles(
          conn,
          files.map((f) => f.path),
        ),
      v2Of(),
    ]);
    return {
      ...base,
      reachable: true,
      docker,
      trust: files.map((f) => ({
        path: f.path,
        kind: f.system ? 'system' : 'certs.d',
        state: trustState(contents.get(f.path)?.content.toString('utf8'), anchorFp),
      })),
      v2: parseV2(v2.stdout),
    };
  } catch (err) {
    return { ...base, reachable: true, docker, error: (err as Error).message };
  }
}

export interface StatusRead<T> {
  report: StatusReport;
  /** What the reader's own callback read on the way (the web view's tags and images). */
  more: T | undefined;
}

/**
 * The cluster's health through the connections given (an Error: that host is unreachable), which
 * stay open: the caller closes them. One gather per host: the plans of `apply --check` read every
 * host once (in `run`, a fresh check-mode run), and the health is rendered from what they read;
 * only what no plan reads is asked here (GET /v2/ from each trust host, in the trust probe's round
 * trip; on a replica that verify did not read; the registry's catalog and tags). `more` reads on
 * through the same connections and registry client before they are released.
 */
export async function readStatus<T = undefined>(
  run: Run,
  conns: ReadonlyMap<string, Connection | Error>,
  now = new Date(),
  more?: (run: Run, report: StatusReport) => Promise<T>,
): Promise<StatusRead<T>> {
  const pb = run.playbook;
  const hosts = run.inventory.hosts;
  const v2 = hostV2Cmd(run);
  const lent = new Map<string, Lent | Error>(
    hosts.map((h) => {
      const c = conns.get(h.name) ?? new Error(`${h.name} is not connected`);
      return [h.name, c instanceof Error ? c : lend(c, pb.trust.hosts.includes(h.name) ? v2 : undefined)];
    }),
  );
  try {
    const health = await planHealth(
      run,
      new Map([...lent].map(([n, l]) => [n, l instanceof Error ? l : l.conn])),
    );
    // The engine dropped them; the reads go on through the same (lent) connections.
    for (const [n, l] of lent) if (!(l instanceof Error)) run.conns.set(n, l.conn);

    const master = masterName(run);
    const masterConn = run.conns.get(master);
    const p = tlsPaths(pb.tls.dir);
    const unknown = (path: string): CertificateStatus => ({ path, present: false });
    const side = masterConn
      ? await masterSide(run, masterConn, health, now).catch((err: Error) => err)
      : new Error(`the master ${master} is unreachable`);
    const ok = side instanceof Error ? undefined : side;
    const replicas = await readReplicas(run, health.gathered, ok?.spec, now);
    // A master whose files cannot be read leaves the anchor unknown: hosts then report "differs".
    const anchorFp = ok?.anchor.fingerprint;
    const hostsOut = await Promise.all(
      hosts.map((h) => {
        const l = lent.get(h.name)!;
        return l instanceof Error
          ? hostStatusFrom(run, h, l, () => Promise.reject(l), health, anchorFp)
          : hostStatusFrom(run, h, l.conn, l.extra, health, anchorFp);
      }),
    );
    const partial = {
      registry: pb.registry.address,
      ...(pb.tls.mode === 'none' ? { plainHttp: true as const } : {}),
      renewBeforeDays: pb.tls.renewBeforeDays,
      certificate: ok?.certificate ?? unknown(p.serverCrt),
      anchor: ok?.anchor ?? unknown(pb.tls.mode === 'ca' ? p.caCrt : p.serverCrt),
      container: replicas?.[0]?.container ?? ok?.container ?? { name: pb.registry.name, present: false },
      api: ok?.api ?? { error: (side as Error).message },
      ...(replicas ? { replicas } : {}),
      hosts: hostsOut,
      pending: health.pending,
    };
    const report: StatusReport = { ...partial, ...judge(partial, pb, health.failed) };
    return { report, more: more ? await more(run, report) : undefined };
  } finally {
    run.shared.api?.client.close();
    delete run.shared.api;
    run.conns.clear();
    for (const l of lent.values()) if (!(l instanceof Error)) l.release();
  }
}

/** Connects to every host, reads the health through those connections, and closes them. */
export async function gatherStatus(run: Run, now = new Date()): Promise<StatusReport> {
  const hosts = run.inventory.hosts;
  const opened = await Promise.all(
    hosts.map((h) =>
      connect(h).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
    ),
  );
  try {
    return (await readStatus(run, new Map(hosts.map((h, i) => [h.name, opened[i]!])), now)).report;
  } finally {
    await Promise.all(opened.map((c) => (c instanceof Error ? undefined : c.close().catch(() => undefined))));
  }
}

/** Gathers every host's health; the report carries its own exit code (4, else 2 when anything is listed). */
export async function status(a: StatusArgs): Promise<StatusReport> {
  return gatherStatus(operatorRun(a.playbook, a.inventory));
}
