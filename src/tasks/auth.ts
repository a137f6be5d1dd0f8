import { TaskFailure, type Change } from '../core/task.js';
import type { Secret } from '../core/secret.js';
import type { RunStage, TaskDef } from '../engine/context.js';
import { posix } from 'node:path';
import { readFiles, sha256 } from '../facts/files.js';
import { PRIVATE_DIR_MODE, privateDirFixes, readDirs } from '../facts/dirs.js';
import { applySteps, result } from './steps.js';
import { masterName, type Run, type Shared } from './shared.js';

export const HTPASSWD_MODE = 0o600;

/** The users with their passwords resolved from the environment. */
export function authUsers(run: Run): Array<{ username: string; password: Secret }> {
  const auth = run.playbook.registry.auth;
  if (!auth) return [];
  return auth.users.map((u) => {
    const ref = typeof u.password === 'string' ? undefined : u.password.env;
    const secret = ref ? run.secrets.get(ref) : undefined;
    if (!secret) throw new TaskFailure(`no password for registry user ${u.username}`);
    return { username: u.username, password: secret };
  });
}

export const authTask: TaskDef<Shared, RunStage<Shared>> = {
  id: 'auth',
  stages: [
    {
      hosts: (run) => (run.playbook.registry.auth ? [masterName(run)] : []),
      async run(ctx) {
        const auth = ctx.run.playbook.registry.auth!;
        const { renderHtpasswd, htpasswdUpToDate } = await import('../registry/htpasswd.js');
        const users = authUsers(ctx.run);
        const authDir = posix.dirname(auth.file);
        const [files, dirs] = await Promise.all([
          readFiles(ctx.conn, [auth.file]),
          readDirs(ctx.conn, [authDir]),
        ]);
        const existing = files.get(auth.file);
        const current = existing?.content.toString('utf8');
        const dirFixes = privateDirFixes(dirs);
        const changes: Change[] = [...dirFixes.changes];
        await applySteps(ctx, dirFixes.steps);
        let content = current;
        if (current === undefined || !(await htpasswdUpToDate(current, users))) {
          content = ctx.run.check ? undefined : await renderHtpasswd(users);
          changes.push({
            what: auth.file,
            ...(current !== undefined ? { from: `sha256:${sha256(current).slice(0, 12)}` } : {}),
            to: `bcrypt hashes for ${users.map((u) => u.username).join(', ')}`,
            why: current === undefined ? 'missing' : 'users, passwords or bcrypt cost differ',
          });
          if (!ctx.run.check) {
            await applySteps(ctx, [
              {
                kind: 'write',
                describe: `write ${auth.file}`,
                path: auth.file,
                data: content!,
                mode: HTPASSWD_MODE,
                dirMode: PRIVATE_DIR_MODE,
              },
            ]);
          }
        } else if (existing && existing.mode !== HTPASSWD_MODE.toString(8)) {
          changes.push({ what: `${auth.file} mode`, from: existing.mode, to: HTPASSWD_MODE.toString(8) });
          await applySteps(ctx, [
            {
              kind: 'exec',
              describe: `chmod ${auth.file}`,
              cmd: { argv: ['chmod', '600', '--', auth.file], privileged: true },
            },
          ]);
        }
        ctx.run.shared.auth = {
          ...(content !== undefined ? { fileSha: sha256(content) } : {}),
          changed: changes.some((c) => c.what === auth.file),
        };
        return result(changes);
      },
    },
  ],
};
