import bcrypt from 'bcryptjs';
import type { Secret } from '../core/secret.js';

export interface HtpasswdUser {
  username: string;
  password: Secret;
}

/**
 * The bcrypt cost regbook writes, and the least it accepts in a stored hash: 2^12 rounds, OWASP's
 * floor for bcrypt. A weaker stored hash is rewritten even when its password still matches.
 */
export const BCRYPT_COST = 12;

/** bcrypt reads at most 72 bytes: a longer password would be silently cut, so a prefix would also log in. */
const BCRYPT_MAX_PASSWORD_BYTES = 72;

export class HtpasswdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HtpasswdError';
  }
}

/**
 * The htpasswd file the registry's `htpasswd` auth reads: one `user:<bcrypt hash>` line per user.
 * bcryptjs writes `$2b$`; distribution's Go bcrypt accepts `$2a$`, `$2b$` and `$2y$` alike.
 */
export function renderHtpasswd(users: readonly HtpasswdUser[], cost = BCRYPT_COST): string {
  checkUsers(users);
  return users.map((u) => `${u.username}:${bcrypt.hashSync(u.password.reveal(), cost)}\n`).join('');
}

/**
 * True only when `existingText` holds exactly these users and each stored hash, of at least
 * `minCost`, still matches its password. Hashes are salted, so comparing with a fresh rendering
 * would always differ; this is how an unchanged file is recognised and left alone.
 */
export function htpasswdUpToDate(
  existingText: string,
  users: readonly HtpasswdUser[],
  minCost = BCRYPT_COST,
): boolean {
  checkUsers(users);
  const entries = parseHtpasswd(existingText);
  if (entries === undefined || entries.size !== users.length) return false;
  return users.every((u) => {
    const hash = entries.get(u.username);
    return (
      hash !== undefined &&
      isBcrypt(hash) &&
      bcryptCost(hash) >= minCost &&
      bcrypt.compareSync(u.password.reveal(), hash)
    );
  });
}

/** The cost field of a `$2?$NN$…` hash. */
export function bcryptCost(hash: string): number {
  return Number(hash.slice(4, 6));
}

/**
 * user → hash, read as distribution does (blank lines and `#` comments skipped); undefined when a
 * line is malformed or a user appears twice, since such a file is not the one we would write.
 */
export function parseHtpasswd(text: string): Map<string, string> | undefined {
  const entries = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const user = line.slice(0, colon);
    if (entries.has(user)) return undefined;
    entries.set(user, line.slice(colon + 1));
  }
  return entries;
}

function isBcrypt(hash: string): boolean {
  return /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/.test(hash);
}

function checkUsers(users: readonly HtpasswdUser[]): void {
  const seen = new Set<string>();
  for (const u of users) {
    if (!/^[^:\s#][^:\s]*$/.test(u.username)) {
      throw new HtpasswdError(`invalid htpasswd user name ${JSON.stringify(u.username)}`);
    }
    if (seen.has(u.username)) throw new HtpasswdError(`user ${JSON.stringify(u.username)} is listed twice`);
    seen.add(u.username);
    if (Buffer.byteLength(u.password.reveal(), 'utf8') > BCRYPT_MAX_PASSWORD_BYTES) {
      throw new HtpasswdError(
        `the password of ${JSON.stringify(u.username)} is longer than bcrypt's 72 bytes`,
      );
    }
    if (u.password.reveal() === '')
      throw new HtpasswdError(`the password of ${JSON.stringify(u.username)} is empty`);
  }
}
