// `regbook gc`: the registry's garbage collection, done the safe way. It holds the deploy lock, so
// no apply can recreate the registry in the middle of a sweep. The registry is recreated in
// read-only mode (pulls keep working, pushes are refused) so no upload can race the sweep, the
// collector runs inside the container, and the container is then recreated exactly as `apply`
// wants it, so the next apply has nothing to change. A signal at any moment ends in that last
// step too: the registry is never left read-only. Replicas that share one storage (S3) are all
// made read-only at once for the sweep, which runs once, in one of them.
import { posix } from 'node:path';
import type { Cmd } from '../core/cmd.js';
import { fileSizesCmd, totalSize } from '../facts/files.js';
import { commandFailed } from '../engine/apply.js';
import { EXIT, ExitError, SIGNAL_EXIT } from '../core/errors.js';
import { listenForStopSignals, type StopSignals } from '../engine/stop-signals.js';
import { TaskFailure } from '../core/task.js';
import { ensureAuthKnown, ensureTlsKnown, replicaRoute, waitForRegistry, type Route } from '../tasks/api.js';
import { ensureHttpSecretKnown } from '../tasks/replicas.js';
import { desiredContainer, diffContainer, type ContainerSpec, type Inspected } from '../tasks/container.js';
import { execInContainer, removeContainer, runContainer } from '../tasks/container-engine.js';
import { inspectRegistry as inspectContainer } from '../tasks/registry.js';
import { must as mustSucceed } from '../tasks/steps.js';
import { masterName, replicasOf, singleOnMaster, type Run } from '../tasks/shared.js';
import { connect, type Connection } from '../transport/index.js';
import { StoppedBySignal, withDeployLock } from '../lock/guard.js';
import { operatorRun } from './catalog.js';

export interface GcArgs {
  playbook: string;
  inventory: string;
  check: boolean;
  /** Also delete manifests no tag refers to (garbage-collect --delete-untagged). */
  untagged: boolean;
  /** The registry binary inside the container, when it is not the image's entrypoint. */
  registryBinary?: string;
  /** Where gc says what it is doing (the registry going read-only, the sweep, back to write mode). */
  progress: (line: string) => void;
  /** Seconds to wait for the deploy lock on the master (0: stop at once when it is held). */
  lockTimeout?: number;
}

/** distribution 2.x reads storage.maintenance.readonly from this variable (a YAML/JSON map). */
export const READONLY_ENV = { REGISTRY_STORAGE_MAINTENANCE_READONLY: '{"enabled":true}' } as const;

// Where the upstream registry:2 image keeps its binary and configuration.
const DEFAULT_BINARY = '/bin/registry';
const DEFAULT_CONFIG = '/etc/docker/registry/config.yml';

type InspectedWithCommand = Inspected & {
  Config?: Inspected['Config'] & { Entrypoint?: string[] | null; Cmd?: string[] | null };
};

/**
 * The registry binary and configuration file the container runs, read from its entrypoint and
 * command (`/bin/registry serve /etc/docker/registry/config.yml` in the upstream image), so an
 * image laid out differently needs no option as long as it starts the registry directly.
 */
export function registryCommandOf(c: InspectedWithCommand): { binary: string; config: string } {
  const words = [...(c.Config?.Entrypoint ?? []), ...(c.Config?.Cmd ?? [])];
  const serve = words.indexOf('serve');
  const binary = serve > 0 ? words[serve - 1]! : DEFAULT_BINARY;
  const config = serve >= 0 && words[serve + 1] ? words[serve + 1]! : DEFAULT_CONFIG;
  return { binary: binary.startsWith('/') ? binary : DEFAULT_BINARY, config };
}

/** The collector's command inside the registry's container. */
export function garbageCollectArgv(
  binary: string,
  config: string,
  opts: { dryRun: boolean; untagged: boolean },
): string[] {
  return [
    binary,
    'garbage-collect',
    ...(opts.dryRun ? ['--dry-run'] : []),
    ...(opts.untagged ? ['--delete-untagged'] : []),
    config,
  ];
}

/** Runs the collector in the container; its standard output is what it would delete or deleted. */
async function sweepIn(conn: Connection, container: string, argv: string[], what: string): Promise<string> {
  const r = await execInContainer(conn.docker(), container, argv, 30 * 60_000);
  if (r.code !== 0) throw commandFailed(what, r);
  return r.stdout;
}

export interface GcSweep {
  /** Digests of the blobs (layers, configs and manifests) the collector deletes. */
  blobs: string[];
  /** Manifests deleted because no tag refers to them (--delete-untagged). */
  manifests: string[];
  /** The collector's own summary line. */
  summary?: string;
}

/** Parses garbage-collect's output (the same lines with and without --dry-run). */
export function parseGarbageCollect(output: string): GcSweep {
  const blobs = new Set<string>();
  const manifests = new Set<string>();
  let summary: string | undefined;
  for (const line of output.split('\n')) {
    const blob = /blob eligible for deletion: (sha256:[0-9a-f]{64})/.exec(line);
    if (blob) blobs.add(blob[1]!);
    const manifest = /manifest eligible for deletion: .*?(sha256:[0-9a-f]{64})/.exec(line);
    if (manifest) manifests.add(manifest[1]!);
    const sum = /\d+ blobs marked, \d+ blobs and \d+ manifests eligible for deletion/.exec(line);
    if (sum) summary = sum[0];
  }
  return { blobs: [...blobs].sort(), manifests: [...manifests].sort(), ...(summary ? { summary } : {}) };
}

/** Where the filesystem driver keeps a blob's bytes, under the registry's data directory. */
export function blobDataPath(dataDir: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return posix.join(dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

export interface GcReport {
  /** The host whose container ran the collector. */
  master: string;
  container: string;
  /** Where the images are: the data directory, or the bucket (s3://bucket/prefix). */
  dataDir: string;
  /** With shared storage: the replicas that were read-only during the sweep (all of them). */
  replicas?: string[];
  check: boolean;
  untagged: boolean;
  blobs: string[];
  manifests: string[];
  summary?: string;
  /** `du -sb` of the data directory before, and after (not in check mode); unknown on s3. */
  bytesBefore?: number;
  bytesAfter?: number;
  /** Bytes freed (after a collection) or the size of the blobs that would go (check mode). */
  bytesFreed?: number;
}

// Maintenance commands (du, garbage-collect) may run long on a big registry.
const must = async (conn: Connection, cmd: Cmd, what: string, timeoutMs = 120_000): Promise<string> =>
  (await mustSucceed(conn, cmd, what, timeoutMs)).stdout;

async function dataDirBytes(conn: Connection, dataDir: string): Promise<number> {
  const out = await must(conn, { argv: ['du', '-sb', '--', dataDir], privileged: true }, `du of ${dataDir}`);
  return Number(out.trim().split(/\s+/)[0]);
}

async function recreate(
  run: Run,
  conn: Connection,
  spec: ContainerSpec,
  what: string,
  route?: Route,
): Promise<void> {
  await removeContainer(conn.docker(), spec.name);
  await runContainer(conn.docker(), spec);
  const failure = await waitForRegistry(run, 60_000, route);
  if (failure) throw new TaskFailure(`the registry did not answer GET /v2/ ${what}: ${failure}`);
}

/** Reads what gc needs and refuses to touch a registry that differs from the playbook. */
async function inspectRegistry(run: Run, conn: Connection) {
  const { registry } = run.playbook;
  await ensureTlsKnown(run);
  await ensureAuthKnown(run);
  await ensureHttpSecretKnown(run);
  const { container, imageId } = await inspectContainer(conn.docker(), registry);
  if (!container) throw new TaskFailure(`there is no ${registry.name} container: run regbook apply first`);
  if (!container.State?.Running)
    throw new TaskFailure(`the ${registry.name} container is not running: run regbook apply first`);
  const spec = desiredContainer(
    run.playbook,
    run.shared.tls!.serverFingerprint!.value!,
    run.shared.auth?.fileSha?.value,
    run.secrets,
    run.shared.httpSecret?.value,
  );
  const differs = diffContainer(spec, container, imageId);
  if (differs.length > 0) {
    // gc recreates the container from the playbook; doing that here would hide an apply's work.
    throw new TaskFailure(
      `the ${registry.name} container differs from the playbook (${differs.map((d) => d.what).join(', ')}): run regbook apply first`,
    );
  }
  return { spec, container: container as InspectedWithCommand };
}

export class GcInterrupted extends Error {
  constructor(readonly by: string) {
    super(`interrupted by ${by}`);
    this.name = 'GcInterrupted';
  }
}

/**
 * Collects garbage in the registry's storage. Every host whose container serves it (the master
 * alone when the images are on its disk; each replica when they share a bucket) is made read-only
 * at once, so no upload anywhere can race the sweep; the collector runs once, in the first; then
 * every one is recreated as the playbook wants it, however the sweep ended. Sizes are reported only
 * where one host's disk holds the images.
 */
export async function collectGarbage(run: Run, a: GcArgs, stop?: StopSignals): Promise<GcReport> {
  const halt = () => {
    const sig = stop?.which();
    if (sig) throw new GcInterrupted(sig);
  };
  const { registry } = run.playbook;
  const shared = sharedStorage(run);
  const names = shared ? replicasOf(run) : [masterName(run)];
  const conns = names.map((n) => run.conns.get(n)!);
  const sweeper = conns[0]!;
  const found = await onEvery(names, (_, i) => inspectRegistry(run, conns[i]!));
  const command = registryCommandOf(found[0]!.container);
  const binary = a.registryBinary ?? command.binary;
  const base = {
    master: names[0]!,
    container: registry.name,
    dataDir: bucketOf(run),
    ...(shared ? { replicas: names } : {}),
    check: a.check,
    untagged: a.untagged,
  };
  const bytesBefore = shared ? undefined : await dataDirBytes(sweeper, registry.dataDir);
  const sweepArgv = (dryRun: boolean) =>
    garbageCollectArgv(binary, command.config, { dryRun, untagged: a.untagged });

  if (a.check) {
    // A dry run only reads the storage, so the registry keeps serving as it is.
    const sweep = parseGarbageCollect(
      await sweepIn(sweeper, registry.name, sweepArgv(true), 'garbage-collect --dry-run'),
    );
    if (shared) return { ...base, ...sweep };
    return {
      ...base,
      ...sweep,
      bytesBefore,
      bytesFreed: await blobBytes(sweeper, registry.dataDir, sweep.blobs),
    };
  }

  // A replica's registry is waited for under its own name; the master's alone, at the address.
  const route = (i: number) => (shared ? replicaRoute(run, names[i]!, conns[i]) : undefined);
  const where = `${registry.name} on ${names.join(', ')}`;
  let sweep: GcSweep | undefined;
  halt();
  try {
    a.progress(`${where} goes read-only for the collection`);
    await onEvery(names, (_, i) =>
      recreate(
        run,
        conns[i]!,
        { ...found[i]!.spec, env: { ...found[i]!.spec.env, ...READONLY_ENV } },
        'in read-only mode',
        route(i),
      ),
    );
    halt();
    a.progress(`sweeping on ${names[0]}${a.untagged ? ' (untagged manifests too)' : ''}`);
    const collecting = sweepIn(sweeper, registry.name, sweepArgv(false), 'garbage-collect');
    // On a signal the sweep is not waited for: the recreation below kills the collector with its
    // container. Every blob it had yet to delete was unreferenced, so a cut sweep loses nothing.
    collecting.catch(() => undefined);
    const out = stop ? await Promise.race([collecting, aborted(stop.signal)]) : await collecting;
    halt();
    sweep = parseGarbageCollect(out ?? '');
  } finally {
    // Whatever happened, every container goes back to the playbook's configuration, which also
    // empties its in-memory blob cache: a registry that remembered a deleted blob would refuse its
    // new upload.
    await onEvery(names, (_, i) =>
      recreate(run, conns[i]!, found[i]!.spec, 'with the playbook’s configuration', route(i)),
    );
    a.progress(`${where} is back in write mode, as the playbook configures it`);
  }
  if (shared) return { ...base, ...sweep };
  const bytesAfter = await dataDirBytes(sweeper, registry.dataDir);
  return { ...base, ...sweep, bytesBefore, bytesAfter, bytesFreed: bytesBefore! - bytesAfter };
}

/** The bytes on disk of the blobs a sweep would delete. */
async function blobBytes(conn: Connection, dataDir: string, blobs: string[]): Promise<number> {
  if (blobs.length === 0) return 0;
  const paths = blobs.map((d) => blobDataPath(dataDir, d));
  return totalSize(await must(conn, fileSizesCmd(paths), 'reading blob sizes'));
}

/** Where a registry on S3 keeps its images, for the report. */
function bucketOf(run: Run): string {
  const storage = run.playbook.registry.storage;
  if (storage?.kind !== 's3') return run.playbook.registry.dataDir;
  const prefix = (storage.s3.rootDirectory ?? '').replace(/^\/+/, '');
  return `s3://${storage.s3.bucket}${prefix ? `/${prefix}` : ''}`;
}

/** Runs fn on every replica at once; each one runs to its end, then the first failure is thrown. */
async function onEvery<T>(names: string[], fn: (name: string, i: number) => Promise<T>): Promise<T[]> {
  const settled = await Promise.allSettled(names.map(fn));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Whether the registry's storage is shared by replicas (or away from the master): no disk to size. */
export function sharedStorage(run: Pick<Run, 'playbook' | 'inventory'>): boolean {
  return run.playbook.registry.storage?.kind === 's3' || !singleOnMaster(run);
}

const aborted = (signal: AbortSignal) =>
  new Promise<undefined>((resolve) => {
    if (signal.aborted) resolve(undefined);
    else signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });

/**
 * Collects garbage under the deploy lock (check mode reads only, and takes no lock). Throws
 * ExitError: 4 the master is unreachable, 2 the collection failed or the lock is held; a signal's
 * code once the registry is back in write mode.
 */
export async function gc(a: GcArgs): Promise<GcReport> {
  const run = operatorRun(a.playbook, a.inventory);
  const master = run.inventory.master;
  // SIGINT, SIGTERM, SIGHUP: the registry goes back to write mode, the lock is released, then gc
  // exits with the signal's code. A second signal waits for that too: a registry left read-only
  // would refuse every push until someone noticed.
  let working: Promise<unknown> = Promise.resolve();
  const stop: StopSignals = listenForStopSignals({
    onFirst: (sig) => a.progress(`${sig}: putting the registry back in write mode, then stopping`),
    onForce: async () => void (await working.catch(() => undefined)),
    exitCode: (sig) => SIGNAL_EXIT[sig],
    forceExitMs: 5 * 60_000,
  });
  let conn: Connection | undefined;
  try {
    conn = await connect(master).catch((err: Error) => {
      throw new ExitError(`${master.name} unreachable: ${err.message}`, EXIT.unreachable);
    });
    run.conns.set(master.name, conn);
    const c = conn;
    const shared = sharedStorage(run);
    if (shared) {
      for (const name of replicasOf(run)) {
        if (run.conns.has(name)) continue;
        const spec = run.inventory.hosts.find((h) => h.name === name)!;
        const replica = await connect(spec).catch((err: Error) => {
          throw new ExitError(`${name} unreachable: ${err.message}`, EXIT.unreachable);
        });
        run.conns.set(name, replica);
      }
    }
    const collect = () => collectGarbage(run, a, stop);
    // gc --check only reads (a dry run), so like apply --check it takes no lock.
    const collecting = a.check
      ? collect()
      : withDeployLock(
          {
            conn: c,
            master: master.name,
            command: ['regbook', ...process.argv.slice(2)],
            timeoutSeconds: a.lockTimeout ?? 0,
            signal: stop.signal,
            releaseHint: `regbook lock release ${a.playbook} -i ${a.inventory}`,
          },
          collect,
        );
    working = collecting;
    const report = await collecting;
    const sig = stop.which();
    if (sig) throw new StoppedBySignal(sig);
    return report;
  } catch (err) {
    const sig = stop.which();
    if (sig) {
      if (!(err instanceof GcInterrupted) && !(err instanceof StoppedBySignal))
        a.progress((err as Error).message);
      throw new StoppedBySignal(sig);
    }
    if (err instanceof ExitError) throw err;
    throw new ExitError(`gc: ${(err as Error).message}`, EXIT.taskFailed);
  } finally {
    for (const other of run.conns.values()) if (other !== conn) await other.close().catch(() => undefined);
    await conn?.close();
    stop.dispose();
  }
}
