import type { Cmd } from '../core/cmd.js';
import { Interrupted } from '../core/errors.js';
import { Later } from '../core/later.js';
import { TaskFailure, type Step } from '../core/task.js';
import type { Connection, ExecResult } from '../transport/types.js';
import type { HostContext } from './context.js';
import { mapLimit } from './limit.js';

/** Runs a command that must succeed; a non-zero exit fails the task with the command's stderr. */
export async function must(conn: Connection, c: Cmd, what: string, timeoutMs?: number): Promise<ExecResult> {
  const r = await conn.exec(c, timeoutMs ? { timeoutMs } : {});
  if (r.code !== 0) throw commandFailed(what, r);
  return r;
}

/** A command that exited non-zero, as a task failure: its exit code and the last lines it printed. */
export function commandFailed(
  what: string,
  r: { code: number; stdout: string; stderr: string },
): TaskFailure {
  return new TaskFailure(
    `${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`,
  );
}

// Lanes of one step that run at once on a host. Each holds an SSH channel (OpenSSH allows 10 per
// connection by default) and, for images, a docker client that itself moves several layers at once.
const LANES_AT_ONCE = 4;

/**
 * The one applier: runs a plan's steps in order on the host. Check mode is the same path up to
 * here, and stops before the first step. Says whether it ran any.
 */
export async function applySteps<S>(ctx: HostContext<S>, steps: readonly Step[]): Promise<boolean> {
  if (ctx.run.check || steps.length === 0) return false;
  await runSteps(ctx, steps);
  return true;
}

async function runSteps<S>(ctx: HostContext<S>, steps: readonly Step[]): Promise<void> {
  for (const step of steps) {
    // A signal stops the run between steps: the step in flight finishes, the next one never starts.
    if (ctx.signal?.aborted) throw new Interrupted();
    if (step.kind !== 'parallel') ctx.progress?.(step.describe);
    ctx.run.debug(`step: ${step.describe}`, ctx.host.name);
    switch (step.kind) {
      case 'exec':
        // The engine's connection tells each command at -vv, as it does the handlers' own.
        await must(ctx.conn, step.cmd, step.describe);
        break;
      case 'write': {
        const data = step.data instanceof Later ? step.data.value : step.data;
        // A plan that writes what no earlier step made is a bug in the plan, not in the host.
        if (data === undefined) throw new Error(`${step.describe}: its content was never made`);
        try {
          await ctx.conn.writeFile(step.path, data, {
            mode: step.mode,
            privileged: step.privileged ?? true,
            ...(step.dirMode === undefined ? {} : { dirMode: step.dirMode }),
          });
        } catch (err) {
          throw new TaskFailure(`${step.describe} failed: ${(err as Error).message}`);
        }
        break;
      }
      case 'fn':
        await step.run(ctx.conn);
        break;
      case 'parallel': {
        // Every lane runs to its end before a failure is reported: nothing is still writing on
        // the host when the task says it failed.
        const errors: unknown[] = [];
        await mapLimit(step.lanes, LANES_AT_ONCE, (lane) =>
          runSteps(ctx, lane).catch((err: unknown) => void errors.push(err)),
        );
        if (errors.length > 0) throw errors[0];
        break;
      }
    }
  }
}
