// Rules on the values `${env:...}` brings in, which only exist at apply time: the file holds the
// reference, the environment the secret. Messages name the reference's place and the variable,
// never the value.
import type { Diagnostic } from '../core/errors.js';
import type { Secret } from '../core/secret.js';
import type { Playbook } from './model.js';

/** Below this, a registry password falls to an offline guess at its bcrypt hash too easily. */
export const MIN_PASSWORD_LENGTH = 12;

/** One diagnostic per registry user whose password (from the environment) is too short. */
export function passwordProblems(pb: Playbook, secrets: ReadonlyMap<string, Secret>): Diagnostic[] {
  const out: Diagnostic[] = [];
  pb.registry.auth?.users.forEach((u, i) => {
    if (typeof u.password === 'string') return;
    const value = secrets.get(u.password.env)?.reveal();
    if (value === undefined || [...value].length >= MIN_PASSWORD_LENGTH) return;
    const at = u.password.at ?? { file: pb.file, line: 1, col: 1 };
    out.push({
      file: at.file,
      line: at.line,
      col: at.col,
      path: `registry.auth.users.${i}.password`,
      message:
        `the password of '${u.username}' (environment variable ${u.password.env}) is ` +
        `${[...value].length} characters long; use at least ${MIN_PASSWORD_LENGTH}`,
    });
  });
  return out;
}
