import { TaskFailure, type Change, type Step } from '../core/task.js';
import type { Secret } from '../core/secret.js';
import { Later } from '../core/later.js';
import type { Playbook } from '../config/model.js';
import type { PlannedStage } from '../engine/context.js';
import { posix } from 'node:path';
import { readFiles, sha256, type RemoteFile } from '../facts/files.js';
import { PRIVATE_DIR_MODE, privateDirFixes, readDirs, type RemoteDir } from '../facts/dirs.js';
import { htpasswdUpToDate, renderHtpasswd } from '../registry/htpasswd.js';
import { masterName, type Run, type Shared } from './shared.js';

export const HTPASSWD_MODE = 0o600;

/** The users with their passwords resolved from the environment. */
export function usersOf(
  pb: Playbook,
  secrets: ReadonlyMap<string, Secret>,
): Array<{ username: string; password: Secret }> {
  const auth = pb.registry.auth;
  if (!auth) return [];
  return auth.users.map((u) => {
    const ref = typeof u.password === 'string' ? undefined : u.password.env;
    const secret = ref ? secrets.get(ref) : undefined;
    if (!secret) throw new TaskFailure(`no password for registry user ${u.username}`);
    return { username: u.username, password: secret };
  });
}

/** The users with their passwords resolved from the environment. */
export function authUsers(run: Run): Array<{ username: string; password: Secret }> {
  return usersOf(run.playbook, run.secrets);
}

/** What the auth task reads on the master: the htpasswd file and its directory. */
export interface AuthFacts {
  file: RemoteFile | undefined;
  dirs: Map<string, RemoteDir | undefined>;
}

export const authStage: PlannedStage<Shared, AuthFacts> = {
  hosts: (run) => (run.playbook.registry.auth ? [masterName(run)] : []),
  async gather(ctx) {
    const auth = ctx.run.playbook.registry.auth!;
    const [files, dirs] = await Promise.all([
      readFiles(ctx.conn, [auth.file]),
      readDirs(ctx.conn, [posix.dirname(auth.file)]),
    ]);
    return { file: files.get(auth.file), dirs };
  },
  plan(facts, { playbook, secrets }) {
    const auth = playbook.registry.auth!;
    const users = usersOf(playbook, secrets);
    const current = facts.file?.content.toString('utf8');
    const dirFixes = privateDirFixes(facts.dirs);
    const changes: Change[] = [...dirFixes.changes];
    const steps: Step[] = [...dirFixes.steps];
    // bcrypt salts each hash, so a new file's checksum exists only once the step has hashed it.
    let fileSha: Later<string> | undefined = current === undefined ? undefined : Later.known(sha256(current));
    // The file itself, for the other registry replicas, which serve the same users.
    let content: Later<string> | undefined = current === undefined ? undefined : Later.known(current);
    let rewritten = false;
    if (current === undefined || !htpasswdUpToDate(current, users)) {
      rewritten = true;
      const made = Later.pending<string>('the htpasswd file is hashed anew');
      const madeContent = Later.pending<string>('the htpasswd file is hashed anew');
      fileSha = made;
      content = madeContent;
      changes.push({
        what: auth.file,
        ...(current !== undefined ? { from: `sha256:${sha256(current).slice(0, 12)}` } : {}),
        to: `bcrypt hashes for ${users.map((u) => u.username).join(', ')}`,
        why: current === undefined ? 'missing' : 'users, passwords or bcrypt cost differ',
      });
      steps.push({
        kind: 'fn',
        describe: `write ${auth.file}`,
        run: async (conn) => {
          const text = renderHtpasswd(users);
          try {
            await conn.writeFile(auth.file, text, {
              mode: HTPASSWD_MODE,
              privileged: true,
              dirMode: PRIVATE_DIR_MODE,
            });
          } catch (err) {
            throw new TaskFailure(`write ${auth.file} failed: ${(err as Error).message}`);
          }
          made.resolve(sha256(text));
          madeContent.resolve(text);
        },
      });
    } else if (facts.file && facts.file.mode !== HTPASSWD_MODE.toString(8)) {
      changes.push({ what: `${auth.file} mode`, from: facts.file.mode, to: HTPASSWD_MODE.toString(8) });
      steps.push({
        kind: 'exec',
        describe: `chmod ${auth.file}`,
        cmd: { argv: ['chmod', '600', '--', auth.file], privileged: true },
      });
    }
    return {
      changes,
      steps,
      record: {
        auth: { ...(fileSha ? { fileSha } : {}), ...(content ? { content } : {}), changed: rewritten },
      },
    };
  },
};
