// `regbook gc`: the registry's garbage collection, done the safe way. It holds the deploy lock, so
// no apply can recreate the registry in the middle of a sweep. The registry is recreated in
// read-only mode (pulls keep working, pushes are refused) so no upload can race the sweep, the
// collector runs inside the container, and the container is then recreated exactly as `apply`
// wants it, so the next apply has nothing to change. A signal at any moment ends in that last
// step too: the registry is never left read-only.
import { posix } from 'node:path';
import type { Cmd } from '../core/cmd.js';
import { declareShellScript } from '../core/shell-script.js';
import { EXIT, ExitError, SIGNAL_EXIT } from '../core/errors.js';
import { listenForStopSignals, type StopSignals } from '../engine/stop-signals.js';
import { TaskFailure } from '../core/task.js';
import { ensureAuthKnown, ensureTlsKnown, waitForRegistry } from '../tasks/api.js';
import {
  desiredContainer,
  diffContainer,
  runCmd,
  type ContainerSpec,
  type Inspected,
} from '../tasks/container.js';
import { parseProbe, registryProbeCmd } from '../tasks/registry.js';
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

export function garbageCollectCmd(
  container: string,
  binary: string,
  config: string,
  opts: { dryRun: boolean; untagged: boolean },
): Cmd {
  return {
    argv: [
      'docker',
      'exec',
      container,
      binary,
      'garbage-collect',
      ...(opts.dryRun ? ['--dry-run'] : []),
      ...(opts.untagged ? ['--delete-untagged'] : []),
      config,
    ],
    privileged: true,
  };
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

const SIZES_SCRIPT = 'for f in "$@"; do if [ -f "$f" ]; then stat -c %s "$f"; else echo 0; fi; done';
declareShellScript('ops/gc: blob sizes', SIZES_SCRIPT);

export interface GcReport {
  master: string;
  container: string;
  dataDir: string;
  check: boolean;
  untagged: boolean;
  blobs: string[];
  manifests: string[];
  summary?: string;
  /** `du -sb` of the data directory before, and after (not in check mode). */
  bytesBefore: number;
  bytesAfter?: number;
  /** Bytes freed (after a collection) or the size of the blobs that would go (check mode). */
  bytesFreed: number;
}

// Maintenance commands (du, garbage-collect) may run long on a big registry.
const must = async (conn: Connection, cmd: Cmd, what: string, timeoutMs = 120_000): Promise<string> =>
  (await mustSucceed(conn, cmd, what, timeoutMs)).stdout;

async function dataDirBytes(conn: Connection, dataDir: string): Promise<number> {
  const out = await must(conn, { argv: ['du', '-sb', '--', dataDir], privileged: true }, `du of ${dataDir}`);
  return Number(out.trim().split(/\s+/)[0]);
}

async function recreate(run: Run, conn: Connection, spec: ContainerSpec, what: string): Promise<void> {
  await must(conn, { argv: ['docker', 'rm', '-f', spec.name], privileged: true }, `removing ${spec.name}`);
  await must(conn, runCmd(spec), `starting ${spec.name} ${what}`);
  const failure = await waitForRegistry(run, 60_000);
  if (failure) throw new TaskFailure(`the registry did not answer GET /v2/ ${what}: ${failure}`);
}

/** Reads what gc needs and refuses to touch a registry that differs from the playbook. */
async function inspectRegistry(run: Run, conn: Connection) {
  const { registry } = run.playbook;
  await ensureTlsKnown(run);
  await ensureAuthKnown(run);
  const probe = await must(conn, registryProbeCmd(registry), 'inspecting the registry container');
  const { container, imageId } = parseProbe(probe);
  if (!container) throw new TaskFailure(`there is no ${registry.name} container: run regbook apply first`);
  if (!container.State?.Running)
    throw new TaskFailure(`the ${registry.name} container is not running: run regbook apply first`);
  const spec = desiredContainer(
    run.playbook,
    run.shared.tls!.serverFingerprint!.value!,
    run.shared.auth?.fileSha?.value,
    run.secrets,
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

export async function collectGarbage(
  run: Run,
  conn: Connection,
  a: GcArgs,
  stop?: StopSignals,
): Promise<GcReport> {
  const halt = () => {
    const sig = stop?.which();
    if (sig) throw new GcInterrupted(sig);
  };
  const { registry } = run.playbook;
  const { spec, container } = await inspectRegistry(run, conn);
  const found = registryCommandOf(container);
  const binary = a.registryBinary ?? found.binary;
  const base = {
    master: masterName(run),
    container: registry.name,
    dataDir: registry.dataDir,
    check: a.check,
    untagged: a.untagged,
  };
  const bytesBefore = await dataDirBytes(conn, registry.dataDir);

  if (a.check) {
    // A dry run only reads the storage, so the registry keeps serving as it is.
    const out = await must(
      conn,
      garbageCollectCmd(registry.name, binary, found.config, { dryRun: true, untagged: a.untagged }),
      'garbage-collect --dry-run',
      30 * 60_000,
    );
    const sweep = parseGarbageCollect(out);
    const sizes = sweep.blobs.length
      ? await must(
          conn,
          {
            argv: [
              'sh',
              '-c',
              SIZES_SCRIPT,
              'sh',
              ...sweep.blobs.map((d) => blobDataPath(registry.dataDir, d)),
            ],
            privileged: true,
          },
          'reading blob sizes',
        )
      : '';
    const bytesFreed = sizes
      .split('\n')
      .filter(Boolean)
      .reduce((sum, s) => sum + Number(s), 0);
    return { ...base, ...sweep, bytesBefore, bytesFreed };
  }

  const readOnly: ContainerSpec = { ...spec, env: { ...spec.env, ...READONLY_ENV } };
  let sweep: GcSweep | undefined;
  halt();
  try {
    a.progress(`${registry.name} on ${base.master} goes read-only for the collection`);
    await recreate(run, conn, readOnly, 'in read-only mode');
    halt();
    a.progress(`sweeping${a.untagged ? ' (untagged manifests too)' : ''}`);
    const collecting = must(
      conn,
      garbageCollectCmd(registry.name, binary, found.config, { dryRun: false, untagged: a.untagged }),
      'garbage-collect',
      30 * 60_000,
    );
    // On a signal the sweep is not waited for: the recreation below kills the collector with its
    // container. Every blob it had yet to delete was unreferenced, so a cut sweep loses nothing.
    collecting.catch(() => undefined);
    const out = stop ? await Promise.race([collecting, aborted(stop.signal)]) : await collecting;
    halt();
    sweep = parseGarbageCollect(out ?? '');
  } finally {
    // Whatever happened, the registry goes back to the playbook's configuration (which also
    // empties its in-memory blob cache, so deleted layers can be pushed again).
    await recreate(run, conn, spec, 'with the playbook’s configuration');
    a.progress(`${registry.name} is back in write mode, as the playbook configures it`);
  }
  const bytesAfter = await dataDirBytes(conn, registry.dataDir);
  return { ...base, ...sweep, bytesBefore, bytesAfter, bytesFreed: bytesBefore - bytesAfter };
}

const aborted = (signal: AbortSignal) =>
  new Promise<undefined>((resolve) => {
    if (signal.aborted) resolve(undefined);
    else signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });

/**
 * Why gc will not sweep this registry, or undefined when it will. The sweep is safe only while
 * nothing can upload: on storage that several replicas share (or a registry away from the master)
 * every replica would have to be read-only for the whole sweep, and a replica gc does not hold
 * would go on taking uploads whose new blobs the sweep sees unreferenced and deletes.
 */
export function gcRefusal(run: Pick<Run, 'playbook' | 'inventory'>): string | undefined {
  const { registry } = run.playbook;
  const s3 = registry.storage?.kind === 's3';
  if (!s3 && singleOnMaster(run)) return undefined;
  const what = s3
    ? 'registry.storage is s3'
    : `the registry runs on ${replicasOf(run).join(', ')}, not on the master`;
  return (
    `${what}: gc sweeps a registry on the master's disk only. A sweep of shared storage is safe only ` +
    'while every replica is read-only, which gc does not do; see docs/storage.md ("Garbage ' +
    'collection") for running the collector by hand with every replica read-only'
  );
}

/**
 * Collects garbage under the deploy lock (check mode reads only, and takes no lock). Throws
 * ExitError: 4 the master is unreachable, 2 the collection failed or the lock is held; a signal's
 * code once the registry is back in write mode.
 */
export async function gc(a: GcArgs): Promise<GcReport> {
  const run = operatorRun(a.playbook, a.inventory);
  const refused = gcRefusal(run);
  if (refused) throw new ExitError(`gc: ${refused}`, EXIT.badInput);
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
    // gc --check only reads (a dry run), so like apply --check it takes no lock.
    const collecting = a.check
      ? collectGarbage(run, c, a, stop)
      : withDeployLock(
          {
            conn: c,
            master: master.name,
            command: ['regbook', ...process.argv.slice(2)],
            timeoutSeconds: a.lockTimeout ?? 0,
            signal: stop.signal,
            releaseHint: `regbook lock release ${a.playbook} -i ${a.inventory}`,
          },
          () => collectGarbage(run, c, a, stop),
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
    await conn?.close();
    stop.dispose();
  }
}
