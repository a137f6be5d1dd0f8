import type { Inventory, Playbook } from '../config/model.js';
import { UsageError } from '../core/errors.js';
import { Secret } from '../core/secret.js';
import type { TaskId } from '../core/task.js';
import type { Connection } from '../transport/types.js';
import type { HandlerDef, RunContext, TaskDef } from './context.js';
import type { Emit } from './events.js';
import { runTasks, type RunOutcome } from './run.js';

/** Every `${env:VAR}` the playbook names, read before any connection; an unset one stops the run. */
export function resolveSecrets(pb: Playbook, env: NodeJS.ProcessEnv = process.env): Map<string, Secret> {
  const missing = pb.envRefs.filter((name) => env[name] === undefined || env[name] === '');
  if (missing.length > 0) {
    throw new UsageError(
      `${pb.file}: environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not set ` +
        `(the playbook refers to ${missing.map((m) => `\${env:${m}}`).join(', ')})`,
    );
  }
  return new Map(pb.envRefs.map((name) => [name, new Secret(env[name]!)]));
}

export interface ApplyOptions {
  check: boolean;
  diff: boolean;
  limit?: string[];
  tags?: TaskId[];
  skipTags?: TaskId[];
  forks: number;
  connect(host: Inventory['hosts'][number]): Promise<Connection>;
}

/** Builds the run's context and runs the tasks; `conns` is exposed so a signal handler can close them. */
export function createRun<S>(
  playbook: Playbook,
  inventory: Inventory,
  secrets: Map<string, Secret>,
  opts: Pick<ApplyOptions, 'check' | 'diff'>,
  emit: Emit,
  shared: S,
): RunContext<S> {
  return {
    playbook,
    inventory,
    check: opts.check,
    diff: opts.diff,
    conns: new Map(),
    facts: new Map(),
    secrets,
    shared,
    log: (message, host) => emit({ type: 'log', level: 'info', message, ...(host ? { host } : {}) }),
    debug: (message, host) => emit({ type: 'log', level: 'debug', message, ...(host ? { host } : {}) }),
  };
}

export function apply<S>(
  run: RunContext<S>,
  tasks: TaskDef<S>[],
  handlers: HandlerDef<S>[],
  opts: ApplyOptions,
  emit: Emit,
): Promise<RunOutcome> {
  return runTasks(run, tasks, handlers, opts, emit);
}
