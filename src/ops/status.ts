// `regbook status`: one look at the whole cluster, read-only. Every host is connected at once and
// read once, by the plans of `apply --check` (ops/plan-health.ts); the health is rendered from what
// they gathered, with a GET /v2/ made on each trust host itself, and on the master the registry's
// catalog.
import type { Cmd } from '../core/cmd.js';
import { declareShellScript } from '../core/shell-script.js';
import { EXIT } from '../core/errors.js';
import { Later } from '../core/later.js';
import type { HostSpec } from '../config/model.js';
import type { HostFacts } from '../core/task.js';
import { readFiles } from '../facts/files.js';
import { factsCmd, parseFacts } from '../facts/os.js';
import { inspectCert, sameSans } from '../pki/index.js';
import { ensureAuthKnown, NO_TLS, registryClient } from '../tasks/api.js';
import { insecureWarning } from '../config/trust-rules.js';
import { desiredContainer, diffContainer, type Inspected } from '../tasks/container.js';
import { ensureHttpSecretKnown } from '../tasks/replicas.js';
import { parseProbe, registryProbeCmd } from '../tasks/registry.js';
import { masterName, type Run } from '../tasks/shared.js';
import { tlsPaths } from '../tasks/tls.js';
import { trustFiles } from '../tasks/trust.js';
import { connect, type Connection } from '../transport/index.js';
import type { ExecOptions, ExecResult } from '../transport/types.js';
import { execBatch } from '../facts/batch.js';
import { isTrustProbe } from '../facts/trust.js';
import { operatorRun } from './catalog.js';
import { planHealth, type PendingChange, type PlanHealth } from './plan-health.js';
import type { RegistryFacts } from '../tasks/registry.js';
import type { TlsFacts } from '../tasks/tls.js';
import type { TrustFacts } from '../tasks/trust/plan.js';

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

export interface ContainerStatus {
  name: string;
  present: boolean;
  state?: string;
  startedAt?: string;
  uptimeSeconds?: number;
  image?: string;
  imageId?: string;
  /** What `apply` would change on it (empty: it is as the playbook wants it). */
  differences?: string[];
}

export interface ApiStatus {
  /** GET /v2/ through the master's SSH connection, checked against the trust anchor. */
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
  container: ContainerStatus;
  api: ApiStatus;
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

// curl on the host, trusting what docker trusts for this registry: certs.d's ca.crt when there is
// one, else the system store. Prints the HTTP code and curl's exit code; the address and the path
// travel as positional arguments.
const V2_SCRIPT = [
  'command -v curl >/dev/null 2>&1 || { echo "nocurl"; exit 0; }',
  'url="${3:-https}://$1/v2/"',
  'if [ -n "$2" ] && [ -f "$2" ]; then set -- --cacert "$2"; else set --; fi',
  'code=$(curl -s -o /dev/null -w "%{http_code}" --max-time 10 "$@" "$url"); rc=$?',
  'echo "$code $rc"',
].join('\n');
declareShellScript('ops/status: registry /v2/ from a host', V2_SCRIPT);

export function v2Cmd(address: string, certsD: string | undefined, scheme: 'https' | 'http' = 'https'): Cmd {
  return { argv: ['sh', '-c', V2_SCRIPT, 'sh', address, certsD ?? '', scheme] };
}

export function parseV2(stdout: string): { code: string; ok: boolean; detail?: string } {
  const out = stdout.trim();
  if (out === 'nocurl') return { code: '-', ok: false, detail: 'curl is not installed on the host' };
  const [code = '000', rc = '0'] = out.split(/\s+/);
  // 401: the registry answered and wants a login (auth on): it is reachable and trusted.
  const ok = code === '200' || code === '401';
  return {
    code,
    ok,
    ...(ok ? {} : { detail: rc !== '0' ? `curl exit ${rc}` : `HTTP ${code}` }),
  };
}

/**
 * One host: facts, then trust files and GET /v2/ together. The facts come back too, for a reader
 * that shows more of them (the web view's images per host).
 */
export async function readHostStatus(
  run: Run,
  host: HostSpec,
  conn: Connection | Error,
  anchorFingerprint: Promise<string | undefined>,
): Promise<{ status: HostStatus; facts?: HostFacts }> {
  const pb = run.playbook;
  const trustExpected = pb.trust.hosts.includes(host.name);
  const base = { name: host.name, role: host.role, trustExpected };
  if (conn instanceof Error) return { status: { ...base, reachable: false, error: conn.message } };
  try {
    const fr = await conn.exec(factsCmd());
    const facts = parseFacts(fr.stdout);
    const docker = facts.dockerRunning ? 'running' : facts.dockerPresent ? 'stopped' : 'absent';
    if (!trustExpected) return { status: { ...base, reachable: true, docker }, facts };
    // The certificates only: containerd's hosts.toml is configuration, not a trust anchor.
    const files = trustFiles(pb, facts).filter((f) => f.data === undefined && !f.kind);
    const certsD = files.find((f) => !f.system)?.path;
    const [contents, v2] = await Promise.all([
      readFiles(
        conn,
        files.map((f) => f.path),
      ),
      conn.exec(v2Cmd(pb.registry.address, certsD, pb.tls.mode === 'none' ? 'http' : 'https'), {
        timeoutMs: 20_000,
      }),
    ]);
    const anchorFp = await anchorFingerprint;
    return {
      status: {
        ...base,
        reachable: true,
        docker,
        trust: files.map((f) => ({
          path: f.path,
          kind: f.system ? 'system' : 'certs.d',
          state: trustState(contents.get(f.path)?.content.toString('utf8'), anchorFp),
        })),
        v2: parseV2(v2.stdout),
      },
      facts,
    };
  } catch (err) {
    return { status: { ...base, reachable: true, error: (err as Error).message } };
  }
}

type InspectedWithState = Inspected & { State?: Inspected['State'] & { StartedAt?: string } };

/** The registry container and its image id, as `docker inspect` shows them. */
export async function probeRegistry(conn: Connection, run: Run) {
  const { registry } = run.playbook;
  const r = await conn.exec(registryProbeCmd(registry));
  if (r.code !== 0) throw new Error(`inspecting the registry container failed: ${r.stderr.trim()}`);
  const { container, imageId } = parseProbe(r.stdout);
  return { container: container as InspectedWithState | undefined, imageId };
}

export interface MasterCerts {
  anchorPem?: string;
  certificate: CertificateStatus;
  anchor: CertificateStatus;
}

/** The server certificate and the trust anchor (the CA, or the same certificate when selfsigned). */
export async function readMasterCerts(
  run: Run,
  conn: Connection | undefined,
  now: Date,
): Promise<MasterCerts> {
  const p = tlsPaths(run.playbook.tls.dir);
  const anchorPath = run.playbook.tls.mode === 'ca' ? p.caCrt : p.serverCrt;
  const files = conn ? await readFiles(conn, [...new Set([anchorPath, p.serverCrt])]) : new Map();
  return certsFrom(run, { files }, now);
}

/** The master's side: its container as gathered, and the registry's API through its connection. */
async function registryStatus(
  run: Run,
  certs: MasterCerts,
  probe: { container: InspectedWithState | undefined; imageId: string | undefined },
  now: Date,
) {
  const pb = run.playbook;
  const { anchorPem, certificate, anchor } = certs;
  const { container: c, imageId } = probe;
  const container: ContainerStatus = { name: pb.registry.name, present: c !== undefined };
  if (c) {
    const started = c.State?.StartedAt ? new Date(c.State.StartedAt) : undefined;
    Object.assign(container, {
      state: c.State?.Status ?? 'unknown',
      ...(c.State?.Running && started
        ? {
            startedAt: started.toISOString(),
            uptimeSeconds: Math.max(0, Math.floor((now.getTime() - started.getTime()) / 1000)),
          }
        : {}),
      ...(c.Config?.Image ? { image: c.Config.Image } : {}),
      ...(c.Image ? { imageId: c.Image } : {}),
    });
  }

  const api: ApiStatus = {};
  const plain = pb.tls.mode === 'none';
  if (plain || (anchorPem && certificate.fingerprint)) {
    // The certificate in place now, not one the next apply would make: the container and the
    // registry's TLS are judged against what is there. The same anchor as the plans' keeps the
    // registry client they opened (and its channel).
    run.shared.tls = {
      ...(plain ? {} : { anchorPem: Later.known(anchorPem!) }),
      anchorChanged: false,
      serverFingerprint: Later.known(plain ? NO_TLS : certificate.fingerprint!),
      serverChanged: false,
    };
    await ensureAuthKnown(run);
    // The replicas' http.secret, when there is one yet: the container is compared with it.
    await ensureHttpSecretKnown(run).catch(() => undefined);
    if (c) {
      const spec = desiredContainer(
        pb,
        run.shared.tls.serverFingerprint!.value!,
        run.shared.auth?.fileSha?.value,
        run.secrets,
        run.shared.httpSecret?.value,
      );
      container.differences = diffContainer(spec, c, imageId).map((d) => d.what);
    }
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
  } else {
    api.error = 'no trust anchor to check the registry’s certificate with';
  }
  return { certificate, anchor, container, api };
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
    if (!c.present) problems.push(`registry: no container ${c.name} on the master (run apply)`);
    else {
      if (c.state !== 'running') problems.push(`registry: container ${c.name} is ${c.state}`);
      if (c.differences?.length)
        warnings.push(
          `registry: the container differs from the playbook (${c.differences.join(', ')}): apply recreates it`,
        );
    }
    if (r.api.error) problems.push(`registry: ${r.api.error}`);
    else if (r.api.status !== undefined && r.api.status !== 200 && r.api.status !== 401)
      problems.push(`registry: GET /v2/ answered ${r.api.status}`);
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

/**
 * A host's connection for the plans. The engine "closes" it at the end of its run, while status
 * still reads through it (the registry's catalog), so status closes the real one itself. And
 * status's own GET /v2/ from the host goes in the round trip of the trust task's probe there, so
 * status opens no channel that `apply --check` does not; where no probe ran, it goes alone.
 */
function forStatus(conn: Connection, v2: Cmd | undefined): { conn: Connection; v2(): Promise<ExecResult> } {
  let batched: Promise<ExecResult> | undefined;
  const wrapped = new Proxy(conn, {
    get(target, prop, receiver) {
      if (prop === 'close') return async () => undefined;
      if (prop === 'exec')
        return (c: Cmd, opts?: ExecOptions) => {
          if (!v2 || batched || !isTrustProbe(c)) return target.exec(c, opts);
          const both = execBatch(target, [c, v2]);
          batched = both.then((r) => r[1]!);
          batched.catch(() => undefined);
          return both.then((r) => r[0]!);
        };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return {
    conn: wrapped,
    v2: () =>
      batched ?? (v2 ? conn.exec(v2, { timeoutMs: 20_000 }) : Promise.reject(new Error('no /v2/ check'))),
  };
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

/** The master's certificates as the tls task gathered them (tls.dir read once for both). */
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

/**
 * One gather per host: the plans of `apply --check` read every host once, and the health is
 * rendered from what they read; only what no plan reads is asked here (GET /v2/ from each trust
 * host, the registry's catalog and tags).
 */
export async function gatherStatus(run: Run, now = new Date()): Promise<StatusReport> {
  const hosts = run.inventory.hosts;
  const opened = await Promise.all(
    hosts.map((h) =>
      connect(h).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
    ),
  );
  try {
    const v2 = hostV2Cmd(run);
    const conns = new Map(
      hosts.map((h, i) => {
        const c = opened[i]!;
        return [
          h.name,
          c instanceof Error ? c : forStatus(c, run.playbook.trust.hosts.includes(h.name) ? v2 : undefined),
        ];
      }),
    );
    const kept = new Map([...conns].map(([n, c]) => [n, c instanceof Error ? c : c.conn]));
    const health = await planHealth(run, kept);
    // The engine dropped them; status reads on through the same (kept open) connections.
    for (const [n, c] of kept) if (!(c instanceof Error)) run.conns.set(n, c);

    const master = masterName(run);
    const masterConn = run.conns.get(master);
    const p = tlsPaths(run.playbook.tls.dir);
    const unknown = (path: string): CertificateStatus => ({ path, present: false });
    let masterSide: Awaited<ReturnType<typeof registryStatus>> | Error;
    if (!masterConn) masterSide = new Error(`the master ${master} is unreachable`);
    else {
      try {
        const tls = health.gathered.get<TlsFacts>('tls', master);
        const certs = tls ? certsFrom(run, tls, now) : await readMasterCerts(run, masterConn, now);
        const reg = health.gathered.get<RegistryFacts>('registry', master);
        const probe = reg
          ? { container: reg.container as InspectedWithState | undefined, imageId: reg.imageId }
          : await probeRegistry(masterConn, run);
        masterSide = await registryStatus(run, certs, probe, now);
      } catch (err) {
        masterSide = err as Error;
      }
    }
    const ok = masterSide instanceof Error ? undefined : masterSide;
    // A master whose files cannot be read leaves the anchor unknown: hosts then report "differs".
    const anchorFp = ok?.anchor.fingerprint;
    const hostsOut = await Promise.all(
      hosts.map((h) => {
        const c = conns.get(h.name)!;
        return c instanceof Error
          ? hostStatusFrom(run, h, c, () => Promise.reject(c), health, anchorFp)
          : hostStatusFrom(run, h, c.conn, c.v2, health, anchorFp);
      }),
    );
    const certificate = ok?.certificate ?? unknown(p.serverCrt);
    const anchor = ok?.anchor ?? unknown(run.playbook.tls.mode === 'ca' ? p.caCrt : p.serverCrt);
    const container: ContainerStatus = ok?.container ?? { name: run.playbook.registry.name, present: false };
    const api: ApiStatus = ok?.api ?? { error: (masterSide as Error).message };
    const partial = {
      registry: run.playbook.registry.address,
      ...(run.playbook.tls.mode === 'none' ? { plainHttp: true as const } : {}),
      renewBeforeDays: run.playbook.tls.renewBeforeDays,
      certificate,
      anchor,
      container,
      api,
      hosts: hostsOut,
      pending: health.pending,
    };
    return { ...partial, ...judge(partial, run.playbook, health.failed) };
  } finally {
    run.shared.api?.client.close();
    delete run.shared.api;
    run.conns.clear();
    await Promise.all(opened.map((c) => (c instanceof Error ? undefined : c.close().catch(() => undefined))));
  }
}

/** Gathers every host's health; the report carries its own exit code (4, else 2 when anything is listed). */
export async function status(a: StatusArgs): Promise<StatusReport> {
  return gatherStatus(operatorRun(a.playbook, a.inventory));
}
