import type { Inventory, Playbook } from '../config/model.js';
import { InputError, UsageError } from '../core/errors.js';
import { passwordProblems } from '../config/passwords.js';
import { Secret } from '../core/secret.js';
import type { RunContext } from './context.js';
import type { Emit } from './events.js';

/** Every `${env:VAR}` the playbook names, read before any connection; an unset one stops the run. */
export function resolveSecrets(pb: Playbook, env: NodeJS.ProcessEnv = process.env): Map<string, Secret> {
  const missing = pb.envRefs.filter((name) => env[name] === undefined || env[name] === '');
  if (missing.length > 0) {
    throw new UsageError(
      `${pb.file}: environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not set ` +
        `(the playbook refers to ${missing.map((m) => `\${env:${m}}`).join(', ')})`,
    );
  }
  const secrets = new Map(pb.envRefs.map((name) => [name, new Secret(env[name]!)]));
  const weak = passwordProblems(pb, secrets);
  if (weak.length > 0) throw new InputError(weak);
  return secrets;
}

/** The run's context: what every task on every host sees; `conns` lets a signal handler close them. */
export function createRun<S>(
  playbook: Playbook,
  inventory: Inventory,
  secrets: Map<string, Secret>,
  opts: { check: boolean; diff: boolean },
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
    early: new Map(),
    log: (message, host) => emit({ type: 'log', level: 'info', message, ...(host ? { host } : {}) }),
    debug: (message, host) => emit({ type: 'log', level: 'debug', message, ...(host ? { host } : {}) }),
  };
}
