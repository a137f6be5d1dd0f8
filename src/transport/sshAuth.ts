// Which credentials to offer, in OpenSSH's order: the inventory's identityFile (or else the
// IdentityFiles of ~/.ssh/config), the ssh-agent at SSH_AUTH_SOCK, then OpenSSH's default key
// files. Encrypted keys are opened with REGBOOK_SSH_PASSPHRASE from the environment.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';

// ssh2 is CommonJS: its members are reached through the default export under NodeNext.
const { utils } = ssh2;

export type AuthAttempt =
  { kind: 'key'; path: string; key: Buffer; passphrase?: string } | { kind: 'agent'; socket: string };

export const PASSPHRASE_ENV = 'REGBOOK_SSH_PASSPHRASE';

export function defaultKeyFiles(home = homedir()): string[] {
  return ['id_rsa', 'id_ecdsa', 'id_ed25519'].map((n) => join(home, '.ssh', n));
}

/**
 * Builds the attempts and the notes about keys that could not be used (missing, encrypted without
 * a passphrase, unreadable), which end up in the message if authentication fails.
 * `explicitKeys` must exist; default key files are skipped silently when absent.
 */
export function authAttempts(
  explicitKeys: string[],
  env: NodeJS.ProcessEnv = process.env,
  home = homedir(),
): { attempts: AuthAttempt[]; notes: string[] } {
  const attempts: AuthAttempt[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  const passphrase = env[PASSPHRASE_ENV];
  const addKey = (path: string, required: boolean): void => {
    if (seen.has(path)) return;
    seen.add(path);
    if (!existsSync(path)) {
      if (required) notes.push(`identity file ${path} does not exist`);
      return;
    }
    let key: Buffer;
    try {
      key = readFileSync(path);
    } catch (e) {
      notes.push(`identity file ${path} cannot be read: ${(e as Error).message}`);
      return;
    }
    const plain = utils.parseKey(key);
    if (!(plain instanceof Error)) {
      attempts.push({ kind: 'key', path, key });
      return;
    }
    if (!/encrypted|passphrase/i.test(plain.message)) {
      notes.push(`identity file ${path} is not a usable private key: ${plain.message}`);
      return;
    }
    if (passphrase === undefined) {
      notes.push(`identity file ${path} is encrypted and ${PASSPHRASE_ENV} is not set`);
      return;
    }
    if (utils.parseKey(key, passphrase) instanceof Error) {
      notes.push(`identity file ${path}: ${PASSPHRASE_ENV} does not decrypt it`);
      return;
    }
    attempts.push({ kind: 'key', path, key, passphrase });
  };
  for (const p of explicitKeys) addKey(p, true);
  const agent = env.SSH_AUTH_SOCK;
  if (agent) attempts.push({ kind: 'agent', socket: agent });
  for (const p of defaultKeyFiles(home)) addKey(p, false);
  return { attempts, notes };
}

export function describeAttempt(a: AuthAttempt): string {
  return a.kind === 'agent' ? 'agent' : `publickey:${a.path}`;
}
