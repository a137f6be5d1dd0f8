import { displayCmd, type Cmd } from '../core/cmd.js';
import { TaskFailure, type Change, type Step, type TaskResult } from '../core/task.js';
import type { Connection, ExecResult } from '../transport/types.js';
import type { Ctx } from './shared.js';

/** Runs a command that must succeed; a non-zero exit fails the task with the command's stderr. */
export async function must(conn: Connection, c: Cmd, what: string, timeoutMs?: number): Promise<ExecResult> {
  const r = await conn.exec(c, timeoutMs ? { timeoutMs } : {});
  if (r.code !== 0) {
    throw new TaskFailure(
      `${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
  return r;
}

/** Runs the steps in order, unless in check mode, where planning is all there is. */
export async function applySteps(ctx: Ctx, steps: readonly Step[]): Promise<void> {
  if (ctx.run.check) return;
  for (const step of steps) {
    ctx.run.debug(`step: ${step.describe}`, ctx.host.name);
    switch (step.kind) {
      case 'exec':
        ctx.run.debug(`$ ${displayCmd(step.cmd)}`, ctx.host.name);
        await must(ctx.conn, step.cmd, step.describe);
        break;
      case 'write':
        try {
          await ctx.conn.writeFile(step.path, step.data, {
            mode: step.mode,
            privileged: step.privileged ?? true,
          });
        } catch (err) {
          throw new TaskFailure(`${step.describe} failed: ${(err as Error).message}`);
        }
        break;
      case 'fn':
        await step.run(ctx.conn);
        break;
    }
  }
}

export function result(changes: Change[], message?: string): TaskResult {
  return { status: changes.length > 0 ? 'changed' : 'ok', changes, ...(message ? { message } : {}) };
}

export function mkdirCmd(dir: string, mode = '755'): Cmd {
  return { argv: ['mkdir', '-p', '-m', mode, '--', dir], privileged: true };
}
