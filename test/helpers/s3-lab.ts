// The lab with its object store: `lab/up.sh --s3` adds a single-node Ceph (radosgw's S3 API) and
// haproxy in front of the registry replicas (see lab/objects.sh). This module brings them up once
// per test process and reads them from outside with `docker exec`, as lab.ts does for the hosts.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lab, run, type Lab, type ShResult } from './lab.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LAB_DIR_NAME = process.env.REGBOOK_LAB ? `.lab-${process.env.REGBOOK_LAB}` : '.lab';
const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

export interface ObjectStore {
  /** The Ceph container (mon, mgr, osd, radosgw). */
  container: string;
  /** radosgw's S3 endpoint by address (http://IP:7480): what containers on the lab's hosts can reach. */
  endpoint: string;
  /** The same by name (http://ceph:7480), which only the lab's hosts themselves resolve. */
  endpointName: string;
  bucket: string;
  /** The radosgw user that owns the bucket. */
  user: string;
}

export interface S3Lab {
  lab: Lab;
  ceph: ObjectStore;
  /** haproxy: its container, the address the hosts reach it at (lb:5000), the replica hosts behind it. */
  lb: { container: string; address: string; replicas: string[] };
  /** Runs a command in the Ceph container (radosgw-admin, ceph) and returns its result. */
  inCeph(args: string[]): Promise<ShResult>;
  /** The S3 user's keys, read from radosgw (never stored in the lab's files). */
  keys(): Promise<{ accessKey: string; secretKey: string }>;
}

let brought: Promise<S3Lab> | undefined;

/**
 * Brings the lab up with its object store (idempotent, fast when warm) and returns both. `workers`
 * sizes the lab (the benchmark's 1+10); the tests keep the lab's default size.
 */
export function s3Lab(opts: { workers?: number } = {}): Promise<S3Lab> {
  if (opts.workers !== undefined) return bringUp(opts.workers);
  brought ??= bringUp();
  brought.catch(() => (brought = undefined));
  return brought;
}

/**
 * The object store for a test file, or why it is skipped: in CI a lab that cannot come up is a
 * failure, as the lab's own tests are; elsewhere the file is skipped and says why.
 */
export async function s3LabOrSkip(): Promise<{ brought?: S3Lab; unavailable?: string }> {
  try {
    return { brought: await s3Lab() };
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    return { unavailable: `lab object store unavailable: ${(e as Error).message.split('\n')[0]}` };
  }
}

async function bringUp(workers?: number): Promise<S3Lab> {
  const size = workers === undefined ? [] : ['--workers', String(workers)];
  const r = await run('bash', [join(REPO_ROOT, 'lab', 'up.sh'), ...size, '--s3'], undefined, 30 * 60_000);
  if (r.code !== 0) {
    throw new Error(
      `the lab's object store did not come up (bash lab/up.sh --s3 exited ${r.code}); ` +
        `run it by hand to see why, or see lab/README.md\n${r.stderr.slice(-4000)}`,
    );
  }
  const state = JSON.parse(await readFile(join(REPO_ROOT, LAB_DIR_NAME, 's3.json'), 'utf8')) as {
    ceph: ObjectStore;
    lb: S3Lab['lb'];
  };
  const inCeph = (args: string[]) => run(DOCKER, ['exec', state.ceph.container, ...args]);
  return {
    lab: await lab(workers === undefined ? {} : { workers }),
    ceph: state.ceph,
    lb: state.lb,
    inCeph,
    async keys() {
      const info = await inCeph(['radosgw-admin', 'user', 'info', `--uid=${state.ceph.user}`]);
      if (info.code !== 0) throw new Error(`radosgw-admin user info failed: ${info.stderr}`);
      const key = (JSON.parse(info.stdout) as { keys: { access_key: string; secret_key: string }[] }).keys[0];
      if (!key) throw new Error(`the S3 user ${state.ceph.user} has no keys`);
      return { accessKey: key.access_key, secretKey: key.secret_key };
    },
  };
}
