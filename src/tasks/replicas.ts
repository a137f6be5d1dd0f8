// What the registry replicas share besides their storage: distribution's http.secret (an upload
// that starts on one replica finishes on another only when both sign its state with the same
// secret), and the master's certificate, key and htpasswd file, which every replica serves.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { Later } from '../core/later.js';
import { Secret } from '../core/secret.js';
import { TaskFailure, type Change, type Step } from '../core/task.js';
import type { Playbook } from '../config/model.js';
import type { PlannedStage } from '../engine/context.js';
import { PRIVATE_DIR_MODE, privateDirFixes, readDirs, type RemoteDir } from '../facts/dirs.js';
import { readFiles, sha256, type RemoteFile } from '../facts/files.js';
import { HTPASSWD_MODE } from './auth.js';
import { ensureTlsKnown } from './api.js';
import { HTTP_SECRET_ENV } from './container.js';
import { CERT_MODE, KEY_MODE, modeFixes, tlsPaths } from './tls.js';
import { masterName, replicasOf, type Run, type Shared } from './shared.js';

/**
 * Whether regbook makes and keeps the http.secret: with several replicas, unless registry.env
 * names one (the operator's own, from the environment, is then the one source of truth). A single
 * registry needs none shared, and distribution makes its own at start.
 */
export function makesHttpSecret(run: Pick<Run, 'playbook' | 'inventory'>): boolean {
  return replicasOf(run).length > 1 && !(HTTP_SECRET_ENV in run.playbook.registry.env);
}

/** A usable secret file: one line of text. */
function secretOf(f: RemoteFile | undefined): string | undefined {
  const value = f?.content.toString('utf8').trim();
  return value && !/[\r\n\0]/.test(value) ? value : undefined;
}

export interface HttpSecretFacts {
  file?: RemoteFile;
}

/**
 * The http.secret in tls.dir on the master (0600, beside the server key): made once, random,
 * and read by every later run, so the replicas keep one secret and are not recreated for a new
 * one. Its value is never shown; it reaches the containers as a secret setting (on stdin).
 */
export const httpSecretStage: PlannedStage<Shared, HttpSecretFacts> = {
  hosts: (run) => (makesHttpSecret(run) ? [masterName(run)] : []),
  async gather(ctx) {
    const path = tlsPaths(ctx.run.playbook.tls.dir).httpSecret;
    const file = (await readFiles(ctx.conn, [path])).get(path);
    return file ? { file } : {};
  },
  plan(facts, { playbook }) {
    const path = tlsPaths(playbook.tls.dir).httpSecret;
    const value = secretOf(facts.file);
    if (value !== undefined) {
      const fixes = modeFixes([[path, facts.file, KEY_MODE]]);
      return { ...fixes, record: { httpSecret: Later.known(new Secret(value)) } };
    }
    const made = Later.pending<Secret>('a new http.secret is made');
    const change: Change = {
      what: path,
      to: 'a new random secret',
      why: facts.file ? 'unreadable (not one line of text)' : 'missing',
    };
    const step: Step = {
      kind: 'fn',
      describe: `write ${path}`,
      run: async (conn) => {
        const secret = randomBytes(32).toString('hex');
        try {
          await conn.writeFile(path, `${secret}\n`, {
            mode: KEY_MODE,
            privileged: true,
            dirMode: PRIVATE_DIR_MODE,
          });
        } catch (err) {
          throw new TaskFailure(`write ${path} failed: ${(err as Error).message}`);
        }
        made.resolve(new Secret(secret));
      },
    };
    return { changes: [change], steps: [step], record: { httpSecret: made } };
  },
};

/**
 * The http.secret the registry containers get, when the tls task did not run in this invocation
 * (--tags, --limit): read from the master, never made.
 */
export async function ensureHttpSecretKnown(run: Run): Promise<void> {
  if (run.shared.httpSecret || !makesHttpSecret(run)) return;
  const master = run.conns.get(masterName(run));
  if (!master)
    throw new TaskFailure(
      `the master ${masterName(run)} is not reachable, so the replicas' http.secret is unknown`,
    );
  const path = tlsPaths(run.playbook.tls.dir).httpSecret;
  const value = secretOf((await readFiles(master, [path])).get(path));
  if (value === undefined)
    throw new TaskFailure(`no http.secret in ${path} on ${masterName(run)} yet: run the tls task first`);
  run.shared.httpSecret = Later.known(new Secret(value));
}

/** The master's server pair, when the tls task's first stage did not read it in this run. */
async function ensureServerPairKnown(run: Run): Promise<void> {
  if (run.shared.tls?.serverPair) return;
  // The anchor and fingerprint later tasks need too, when the tls task did not run on the master.
  await ensureTlsKnown(run);
  const master = run.conns.get(masterName(run));
  if (!master)
    throw new TaskFailure(`the master ${masterName(run)} is not reachable, so its certificate is unknown`);
  const p = tlsPaths(run.playbook.tls.dir);
  const files = await readFiles(master, [p.serverCrt, p.serverKey]);
  const cert = files.get(p.serverCrt)?.content.toString('utf8');
  const key = files.get(p.serverKey)?.content.toString('utf8');
  if (cert === undefined || key === undefined)
    throw new TaskFailure(
      `no certificate in ${run.playbook.tls.dir} on ${masterName(run)} yet: run the tls task first`,
    );
  run.shared.tls = {
    ...run.shared.tls!,
    serverPair: { cert: Later.known(cert), key: Later.known(new Secret(key)) },
  };
}

export interface ReplicaCertFacts {
  files: Map<string, RemoteFile | undefined>;
  dirs: Map<string, RemoteDir | undefined>;
}

function replicasBesidesMaster(run: Pick<Run, 'playbook' | 'inventory'>): string[] {
  if (run.playbook.tls.mode === 'none') return [];
  return replicasOf(run).filter((h) => h !== masterName(run as Run));
}

/** Why a replica's copy of a file must be written, or undefined when it holds the master's. */
function copyNeeded(have: string | undefined, want: Later<string | Secret>): string | undefined {
  if (!want.known) return 'the master gets a new one';
  const value = want.value instanceof Secret ? want.value.reveal() : want.value;
  if (have === undefined) return 'missing';
  return have === value ? undefined : "differs from the master's";
}

/**
 * Every replica besides the master serves the master's certificate and key from its own tls.dir
 * (the same paths, so one container definition fits every replica): copied when missing or
 * different, key 0600 and certificate 0444, each written atomically; the directory root's 0700.
 */
export const replicaCertStage: PlannedStage<Shared, ReplicaCertFacts> = {
  hosts: (run) => replicasBesidesMaster(run),
  async gather(ctx) {
    await ensureServerPairKnown(ctx.run);
    const p = tlsPaths(ctx.run.playbook.tls.dir);
    const [files, dirs] = await Promise.all([
      readFiles(ctx.conn, [p.serverCrt, p.serverKey]),
      readDirs(ctx.conn, [ctx.run.playbook.tls.dir]),
    ]);
    return { files, dirs };
  },
  plan(facts, { playbook, shared }) {
    return replicaCertPlan(playbook, facts, shared);
  },
};

export function replicaCertPlan(playbook: Playbook, facts: ReplicaCertFacts, shared: Shared) {
  const pair = shared.tls?.serverPair;
  if (!pair) throw new TaskFailure("the master's certificate is unknown (did the tls task run?)");
  const p = tlsPaths(playbook.tls.dir);
  const text = (path: string) => facts.files.get(path)?.content.toString('utf8');
  const changes: Change[] = [];
  const steps: Step[] = [];
  const modes: Array<[string, RemoteFile | undefined, number]> = [];
  // Key first, as on the master: a cut between the two leaves a mismatch the next run repairs.
  const keyWhy = copyNeeded(text(p.serverKey), pair.key);
  if (keyWhy) {
    changes.push({ what: p.serverKey, why: keyWhy });
    steps.push({
      kind: 'fn',
      describe: `write ${p.serverKey}`,
      run: async (conn) => {
        const key = pair.key.value;
        if (!key) throw new Error(`write ${p.serverKey}: the key was never made`);
        try {
          await conn.writeFile(p.serverKey, key.reveal(), {
            mode: KEY_MODE,
            privileged: true,
            dirMode: PRIVATE_DIR_MODE,
          });
        } catch (err) {
          throw new TaskFailure(`write ${p.serverKey} failed: ${(err as Error).message}`);
        }
      },
    });
  } else modes.push([p.serverKey, facts.files.get(p.serverKey), KEY_MODE]);
  const certWhy = copyNeeded(text(p.serverCrt), pair.cert);
  if (certWhy) {
    changes.push({ what: p.serverCrt, why: certWhy });
    steps.push({
      kind: 'write',
      describe: `write ${p.serverCrt}`,
      path: p.serverCrt,
      data: pair.cert,
      mode: CERT_MODE,
      dirMode: PRIVATE_DIR_MODE,
    });
  } else modes.push([p.serverCrt, facts.files.get(p.serverCrt), CERT_MODE]);
  const fixes = modeFixes(modes);
  const dirFixes = privateDirFixes(facts.dirs);
  return {
    changes: [...dirFixes.changes, ...changes, ...fixes.changes],
    steps: [...dirFixes.steps, ...steps, ...fixes.steps],
  };
}

/** The master's htpasswd file, when the auth task did not read it in this run. */
async function ensureHtpasswdKnown(run: Run): Promise<void> {
  const auth = run.playbook.registry.auth;
  if (!auth || run.shared.auth?.content) return;
  const master = run.conns.get(masterName(run));
  if (!master)
    throw new TaskFailure(`the master ${masterName(run)} is not reachable, so its htpasswd file is unknown`);
  const content = (await readFiles(master, [auth.file])).get(auth.file)?.content.toString('utf8');
  if (content === undefined)
    throw new TaskFailure(`no ${auth.file} on ${masterName(run)} yet: run the auth task first`);
  run.shared.auth = {
    changed: false,
    ...run.shared.auth,
    fileSha: Later.known(sha256(content)),
    content: Later.known(content),
  };
}

export interface ReplicaAuthFacts {
  file: RemoteFile | undefined;
  dirs: Map<string, RemoteDir | undefined>;
}

/**
 * Every replica besides the master checks the same users: the master's htpasswd file (bcrypt
 * hashes, made by the auth task) is copied to the same path, 0600 in a root-only directory.
 */
export const replicaAuthStage: PlannedStage<Shared, ReplicaAuthFacts> = {
  hosts: (run) =>
    run.playbook.registry.auth ? replicasOf(run).filter((h) => h !== masterName(run as Run)) : [],
  async gather(ctx) {
    await ensureHtpasswdKnown(ctx.run);
    const file = ctx.run.playbook.registry.auth!.file;
    const [files, dirs] = await Promise.all([
      readFiles(ctx.conn, [file]),
      readDirs(ctx.conn, [posix.dirname(file)]),
    ]);
    return { file: files.get(file), dirs };
  },
  plan(facts, { playbook, shared }) {
    const path = playbook.registry.auth!.file;
    const want = shared.auth?.content;
    if (!want) throw new TaskFailure('the htpasswd file is unknown (did the auth task run?)');
    const why = copyNeeded(facts.file?.content.toString('utf8'), want);
    const dirFixes = privateDirFixes(facts.dirs);
    if (!why) {
      const fixes = modeFixes([[path, facts.file, HTPASSWD_MODE]]);
      return {
        changes: [...dirFixes.changes, ...fixes.changes],
        steps: [...dirFixes.steps, ...fixes.steps],
      };
    }
    return {
      changes: [...dirFixes.changes, { what: path, why }],
      steps: [
        ...dirFixes.steps,
        {
          kind: 'write',
          describe: `write ${path}`,
          path,
          data: want,
          mode: HTPASSWD_MODE,
          dirMode: PRIVATE_DIR_MODE,
        },
      ],
    };
  },
};
