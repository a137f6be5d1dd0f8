// Host key checking for one SSH hop: reads known_hosts, restricts the key types the server may
// present, decides on the presented key (inside ssh2's hostVerifier, i.e. during key exchange,
// before any authentication), and for accept-new appends the key once the handshake has proved
// the server holds it, and says so on stderr with its fingerprint, as OpenSSH does.
//
// `@cert-authority` lines (OpenSSH host certificates): when one covers the host, the certificate
// algorithms are offered first, as OpenSSH orders them, so a server with a host certificate
// presents it; hostCert.ts decides on it. ssh2 negotiates certificates only with the patch in
// patches/ (see docs/security.md); without it no certificate algorithm is offered and a host
// known only through a CA line is refused, naming why.

import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { HostKeyChecking } from '../config/model.js';
import {
  CertificateFormatError,
  checkHostCertificate,
  describeCertificate,
  isCertificateType,
  parseCertificate,
  type HostCertificate,
} from './hostCert.js';
import {
  certAuthorityFor,
  checkHostKey,
  fingerprintSha256,
  formatKnownHostsLine,
  hostKeyAlgorithmsFor,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
  type KnownHostEntry,
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

/**
 * The host certificate algorithms the installed ssh2 can negotiate, in its (OpenSSH's) order of
 * preference, and its default plain ones; none when ssh2 is not patched for certificates.
 */
export function ssh2HostKeyAlgorithms(): { certificates: string[]; plainDefaults: string[] } {
  try {
    const constants = createRequire(import.meta.url)('ssh2/lib/protocol/constants.js') as {
      HOST_CERT_ALGORITHMS?: Record<string, unknown>;
      DEFAULT_SERVER_HOST_KEY?: string[];
    };
    return {
      certificates: Object.keys(constants.HOST_CERT_ALGORITHMS ?? {}),
      plainDefaults: constants.DEFAULT_SERVER_HOST_KEY ?? [],
    };
  } catch {
    return { certificates: [], plainDefaults: [] };
  }
}
const SSH2_ALGORITHMS = ssh2HostKeyAlgorithms();

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

// Every connection of a run reads the same known_hosts file; parsing it once per distinct text
// keeps the check of one host key from growing with the number of hosts the file names. The text is
// re-read each time, so a key appended by accept-new is seen by the next connection.
let lastParsed: { text: string; entries: KnownHostEntry[] } | undefined;
function parsedOnce(text: string): KnownHostEntry[] {
  if (lastParsed?.text !== text) lastParsed = { text, entries: parseKnownHosts(text) };
  return lastParsed.entries;
}

export function hostKeyCheck(opts: {
  /** The inventory host name, for messages. */
  hostName: string;
  /** The address the key belongs to (after ssh config HostName) and its port. */
  address: string;
  port: number;
  file: string;
  mode: HostKeyChecking;
  /** false (check mode): accept-new accepts an unknown key for this connection but writes nothing. */
  record?: boolean;
  /** Where notices go (default: stderr). */
  warn?: (line: string) => void;
  onAccepted?: (info: {
    hostName: string;
    knownHostsName: string;
    fingerprint: string;
    file: string;
  }) => void;
}): HostKeyCheck {
  const name = knownHostsName(opts.address, opts.port);
  const text = existsSync(opts.file) ? readFileSync(opts.file, 'utf8') : '';
  const entries = parsedOnce(text);
  const algos = hostKeyAlgorithmsFor(knownKeyTypes(entries, name)).filter((a) =>
    SSH2_HOST_KEY_ALGORITHMS.has(a),
  );
  const ca = certAuthorityFor(entries, name);
  // Certificates first, then the plain keys held (or ssh2's defaults when none is held, so that a
  // server without a certificate still shows its key and the refusal can name it).
  const offered =
    opts.mode === 'off'
      ? []
      : ca && SSH2_ALGORITHMS.certificates.length > 0
        ? [...SSH2_ALGORITHMS.certificates, ...(algos.length > 0 ? algos : SSH2_ALGORITHMS.plainDefaults)]
        : algos;
  // The name a host certificate must list: the host connected to, as OpenSSH compares it.
  const principal = opts.address.toLowerCase();
  let pendingLine: string | undefined;
  let pendingFingerprint = '';
  let pendingType = '';
  const warn = opts.warn ?? ((line: string) => void process.stderr.write(`${line}\n`));

  /**
   * true: a CA line accepts the certificate; false: refused outright (malformed, revoked), with
   * `refusal` set; otherwise the certified plain key to check as OpenSSH then does, and why the
   * certificate itself was not accepted.
   */
  const decideCertificate = (key: Buffer): boolean | { plainKey: Buffer; reason: string } => {
    let cert: HostCertificate;
    try {
      cert = parseCertificate(key);
    } catch (e) {
      if (!(e instanceof CertificateFormatError)) throw e;
      check.refusal =
        `${opts.hostName}: the host certificate presented by ${name} cannot be read (${e.message}); ` +
        `refusing to connect.`;
      return false;
    }
    const about = describeCertificate(cert);
    const verdict = checkHostCertificate(cert, entries, name, principal);
    switch (verdict.status) {
      case 'valid':
        return true;
      case 'revoked':
        check.refusal =
          `${opts.hostName}: the ${verdict.what} of the host certificate presented by ${name} is marked ` +
          `@revoked in ${opts.file}:${verdict.entry.line}; refusing to connect.\n  ${about}`;
        return false;
      case 'unknown-ca':
        return {
          plainKey: cert.publicKey,
          reason:
            `${opts.hostName}: the host certificate presented by ${name} is signed by a CA that ` +
            `${opts.file} does not trust for ${name} (no @cert-authority line for it holds that key).\n  ${about}`,
        };
      case 'invalid':
        return {
          plainKey: cert.publicKey,
          reason:
            `${opts.hostName}: the host certificate presented by ${name} is not valid for it: ` +
            `${verdict.reason} (CA trusted at ${opts.file}:${verdict.ca.line}).\n  ${about}`,
        };
    }
  };

  const check: HostKeyCheck = {
    serverHostKey: offered.length > 0 ? offered : undefined,
    refusal: undefined,
    verify(key) {
      let presented = `${fingerprintSha256(key)} (${keyTypeOfBlob(key) ?? 'unknown type'})`;
      if (opts.mode === 'off') {
        // Said on every connection: with checking off, anyone on the path can pose as this host.
        warn(
          `Warning: ${opts.hostName}: hostKeyChecking is off; the host key of ${name} is not verified ` +
            `(presented: ${presented}). Anyone between here and the host could impersonate it.`,
        );
        return true;
      }
      let plainKey = key;
      let certRefusal: string | undefined;
      if (isCertificateType(keyTypeOfBlob(key))) {
        const decided = decideCertificate(key);
        if (decided === true) return true;
        if (decided === false) return false;
        // As OpenSSH does, a certificate no CA line accepts is checked once more as the plain
        // key it certifies: a known_hosts entry for that key still lets the host in.
        plainKey = decided.plainKey;
        certRefusal = decided.reason;
      }
      const verdict = checkHostKey(entries, name, plainKey);
      if (plainKey !== key)
        presented = `${fingerprintSha256(plainKey)} (${keyTypeOfBlob(plainKey)}, certified)`;
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
            (certRefusal ? `  ${certRefusal}\n` : '') +
            `If the change is expected, remove the old entry: ssh-keygen -R '${name}' -f '${opts.file}'`;
          return false;
        }
        case 'unknown': {
          // A name that a CA line covers is trusted through its certificate only: no plain key is
          // accepted for it on first use, in accept-new either (OpenSSH would record it there).
          if (certRefusal !== undefined) {
            check.refusal = `${certRefusal}\nrefusing to connect.`;
            return false;
          }
          if (ca) {
            check.refusal =
              SSH2_ALGORITHMS.certificates.length === 0
                ? `${opts.hostName}: ${opts.file}:${ca.line} vouches for ${name} through @cert-authority, but ` +
                  `host certificates cannot be checked here: the installed SSH library (ssh2) lacks the patch ` +
                  `that lets it negotiate *-cert-v01@openssh.com (run npm ci to apply it), so the host cannot ` +
                  `present its certificate; refusing to connect.\n  presented: ${presented}`
                : `${opts.hostName}: ${opts.file}:${ca.line} vouches for ${name} through @cert-authority, but ` +
                  `the host presented a plain key, not a certificate (is HostCertificate set in its ` +
                  `sshd_config?); refusing to connect.\n  presented: ${presented}\n` +
                  `Or add the host's own key to ${opts.file} (ssh-keyscan -p ${opts.port} ${opts.address}), ` +
                  `after checking its fingerprint.`;
            return false;
          }
          if (opts.mode === 'accept-new') {
            if (opts.record === false) {
              warn(
                `Warning: ${opts.hostName}: accepting the unknown host key of ${name} for this check only ` +
                  `(${presented}); --check records nothing in ${opts.file}.`,
              );
              return true;
            }
            pendingLine = formatKnownHostsLine(name, key);
            pendingFingerprint = fingerprintSha256(key);
            pendingType = keyTypeOfBlob(key) ?? 'unknown';
            return true;
          }
          check.refusal =
            `${opts.hostName}: no host key for ${name} in ${opts.file} (hostKeyChecking: strict); ` +
            `refusing to connect.\n  presented: ${presented}\n` +
            `Check the fingerprint on the host, then add it (ssh-keyscan -p ${opts.port} ${opts.address} ` +
            `>> '${opts.file}') or use hostKeyChecking: accept-new.`;
          return false;
        }
      }
    },
    onHandshake() {
      if (pendingLine === undefined) return;
      mkdirSync(dirname(opts.file), { recursive: true, mode: 0o700 });
      const needsNewline = existsSync(opts.file) && !/(^|\n)$/.test(readFileSync(opts.file, 'utf8'));
      appendFileSync(opts.file, (needsNewline ? '\n' : '') + pendingLine, { mode: 0o600 });
      warn(
        `Warning: Permanently added '${name}' (${keyTypeLabel(pendingType)}) to the list of known hosts ` +
          `(${opts.file}); ${opts.hostName}'s host key fingerprint is ${pendingFingerprint}.`,
      );
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

/** OpenSSH's short names in "Permanently added" (ED25519, ECDSA, RSA). */
function keyTypeLabel(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type.startsWith('ecdsa-')) return 'ECDSA';
  if (type === 'ssh-rsa') return 'RSA';
  return type;
}
