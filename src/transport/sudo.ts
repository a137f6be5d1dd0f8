import { SudoPasswordRequiredError, type Connection } from './types.js';
import { sudoWantsPassword } from './common.js';

/**
 * Proves privileged commands will run: executes `true` as a privileged command. On a become host
 * whose sudo wants a password this rejects with SudoPasswordRequiredError (exec maps it); any
 * other failure (no sudo, not in sudoers) rejects with sudo's own words and the host name.
 */
export async function checkSudo(conn: Connection): Promise<void> {
  const r = await conn.exec({ argv: ['true'], privileged: true });
  if (r.code === 0) return;
  if (sudoWantsPassword(r.stderr)) throw new SudoPasswordRequiredError(conn.hostName, 'the login user');
  throw new Error(
    `${conn.hostName}: cannot run privileged commands: ${r.stderr.trim() || `exit status ${r.code}`}`,
  );
}
