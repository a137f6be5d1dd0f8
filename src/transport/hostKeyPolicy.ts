// Host key checking for one SSH hop: reads known_hosts, restricts the key types the server may
// present, decides on the presented key (inside ssh2's hostVerifier, i.e. during key exchange,
// before any authentication), and for accept-new appends the key once the handshake has proved
// the server holds it.

import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HostKeyChecking } from '../config/model.js';
import {
  checkHostKey,
  fingerprintSha256,
  formatKnownHostsLine,
  hostKeyAlgorithmsFor,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
} from './knownHosts.js';

// What ssh2 1.17 can negotiate; a known_hosts type outside it (e.g. sk-*) cannot be offered.
const SSH2_HOST_KEY_ALGORITHMS = new Set([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
  'ssh-dss',
]);

export interface HostKeyCheck {
  /** For ssh2's algorithms.serverHostKey; undefined leaves ssh2's defaults. */
  serverHostKey: string[] | undefined;
  /** ssh2's hostVerifier: true to go on, false to refuse (the reason is in `refusal`). */
  verify(key: Buffer): boolean;
  /** Why verify() refused, in words for the user. */
  refusal: string | undefined;
  /** Call on ssh2's 'handshake': records the key for accept-new. */
  onHandshake(): void;
}

export function hostKeyCheck(opts: {
  /** The inventory host name, for messages. */
  hostName: string;
  /** The address the key belongs to (after ssh config HostName) and its port. */
  address: string;
  port: number;
  file: string;
  mode: HostKeyChecking;
  onAccepted?: (info: {
    hostName: string;
    knownHostsName: string;
    fingerprint: string;
    file: string;
  }) => void;
}): HostKeyCheck {
  const name = knownHostsName(opts.address, opts.port);
  const text = existsSync(opts.file) ? readFileSync(opts.file, 'utf8') : '';
  const entries = parseKnownHosts(text);
  const algos = hostKeyAlgorithmsFor(knownKeyTypes(entries, name)).filter((a) =>
    SSH2_HOST_KEY_ALGORITHMS.has(a),
  );
  let pendingLine: string | undefined;
  let pendingFingerprint = '';

  const check: HostKeyCheck = {
    serverHostKey: opts.mode !== 'off' && algos.length > 0 ? algos : undefined,
    refusal: undefined,
    verify(key) {
      if (opts.mode === 'off') return true;
      const presented = `${fingerprintSha256(key)} (${keyTypeOfBlob(key) ?? 'unknown type'})`;
      const verdict = checkHostKey(entries, name, key);
      switch (verdict.status) {
        case 'match':
          return true;
        case 'revoked':
          check.refusal =
            `${opts.hostName}: the host key presented by ${name} is marked @revoked in ` +
            `${opts.file}:${verdict.entry.line}; refusing to connect.\n  presented: ${presented}`;
          return false;
        case 'changed': {
          const expected = verdict.expected
            .map((e) => `  expected:  ${fingerprintSha256(e.key)} (${e.keyType}) at ${opts.file}:${e.line}`)
            .join('\n');
          check.refusal =
            `${opts.hostName}: HOST KEY CHANGED for ${name}; refusing to connect ` +
            `(someone may be intercepting the connection, or the host was re-installed).\n` +
            `${expected}\n  presented: ${presented}\n` +
            `If the change is expected, remove the old entry: ssh-keygen -R '${name}' -f '${opts.file}'`;
          return false;
        }
        case 'unknown':
          if (opts.mode === 'accept-new') {
            pendingLine = formatKnownHostsLine(name, key);
            pendingFingerprint = fingerprintSha256(key);
            return true;
          }
          check.refusal =
            `${opts.hostName}: no host key for ${name} in ${opts.file} (hostKeyChecking: strict); ` +
            `refusing to connect.\n  presented: ${presented}\n` +
            `Check the fingerprint on the host, then add it (ssh-keyscan -p ${opts.port} ${opts.address} ` +
            `>> '${opts.file}') or use hostKeyChecking: accept-new.`;
          return false;
      }
    },
    onHandshake() {
      if (pendingLine === undefined) return;
      mkdirSync(dirname(opts.file), { recursive: true, mode: 0o700 });
      const needsNewline = existsSync(opts.file) && !/(^|\n)$/.test(readFileSync(opts.file, 'utf8'));
      appendFileSync(opts.file, (needsNewline ? '\n' : '') + pendingLine, { mode: 0o600 });
      opts.onAccepted?.({
        hostName: opts.hostName,
        knownHostsName: name,
        fingerprint: pendingFingerprint,
        file: opts.file,
      });
      pendingLine = undefined;
    },
  };
  return check;
}
