// known_hosts parsing and matching, as OpenSSH does it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT").
// Pure: the caller reads and appends the file; this module only interprets text and key bytes.

import { createHash, createHmac, randomBytes } from 'node:crypto';

export interface KnownHostEntry {
  /** 1-based line number in the file, for messages. */
  line: number;
  marker?: '@revoked' | '@cert-authority';
  /** The host field as written: a comma list of patterns, or one `|1|salt|hash` hashed name. */
  hosts: string;
  keyType: string;
  /** The public key blob (the base64 field decoded). */
  key: Buffer;
}

/** Parses known_hosts text; malformed lines are skipped, as OpenSSH skips them. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/[ \t]+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m !== '@revoked' && m !== '@cert-authority') return;
      marker = m;
    }
    const [hosts, keyType, keyB64] = fields;
    if (!hosts || !keyType || !keyB64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(keyB64)) return;
    const key = Buffer.from(keyB64, 'base64');
    if (key.length === 0) return;
    entries.push({ line: i + 1, ...(marker ? { marker } : {}), hosts, keyType, key });
  });
  return entries;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `|1|salt|hash`: HMAC-SHA1 of the name keyed with the salt, as `ssh-keygen -H` writes it. */
export function hashKnownHostsName(name: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

// Compiled wildcard patterns: every connection checks the same known_hosts file, which names every
// host of the inventory, so without this each connection would compile a RegExp per line and the
// cost of checking one host key would grow with the size of the cluster.
const globCache = new Map<string, RegExp>();

/** OpenSSH's glob: `*` any run of characters, `?` one character; case-insensitive, as for host names. */
function globMatch(pattern: string, name: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern.toLowerCase() === name.toLowerCase();
  let re = globCache.get(pattern);
  if (!re) {
    const source = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    re = new RegExp(`^${source}$`, 'i');
    globCache.set(pattern, re);
  }
  return re.test(name);
}

/** Whether the entry's host field names `name` (already in `[host]:port` form where needed). */
export function hostFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , saltB64, hashB64] = hosts.split('|');
    if (!saltB64 || !hashB64) return false;
    const expected = createHmac('sha1', Buffer.from(saltB64, 'base64')).update(name).digest('base64');
    return expected === hashB64;
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern.startsWith('!')) {
      // A negated pattern that matches rejects the whole entry, whatever else matches.
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (globMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** The type name inside an SSH public key blob (its first string field). */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len > blob.length - 4) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH's fingerprint format: `SHA256:` and unpadded base64 of the blob's SHA-256. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export type HostKeyVerdict =
  | { status: 'match'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'changed'; expected: KnownHostEntry[] }
  | { status: 'unknown' };

/**
 * The verdict for a presented key: a key marked @revoked for this name wins over everything, then an exact match, then
 * "changed" when the host has any entry with another key (we restrict negotiation to the key
 * types we hold, so a different key of a held type is what a mismatch means), else unknown.
 * `@cert-authority` lines never match a plain key (see certAuthorityFor).
 */
export function checkHostKey(entries: KnownHostEntry[], name: string, presented: Buffer): HostKeyVerdict {
  const revoked = entries.find(
    (e) => e.marker === '@revoked' && e.key.equals(presented) && hostFieldMatches(e.hosts, name),
  );
  if (revoked) return { status: 'revoked', entry: revoked };
  const forHost = entries.filter((e) => e.marker === undefined && hostFieldMatches(e.hosts, name));
  const exact = forHost.find((e) => e.key.equals(presented));
  if (exact) return { status: 'match', entry: exact };
  if (forHost.length > 0) return { status: 'changed', expected: forHost };
  return { status: 'unknown' };
}

/** The key types known_hosts holds for this name, in file order, without duplicates. */
export function knownKeyTypes(entries: KnownHostEntry[], name: string): string[] {
  const types = entries
    .filter((e) => e.marker === undefined && hostFieldMatches(e.hosts, name))
    .map((e) => e.keyType);
  return [...new Set(types)];
}

/**
 * ssh2 `serverHostKey` algorithm names for the key types held, so the server presents a key we
 * can check (OpenSSH orders HostKeyAlgorithms the same way). An RSA key may be signed with any
 * of the three RSA signature algorithms. Empty when no type is held (then ssh2's defaults apply).
 */
export function hostKeyAlgorithmsFor(keyTypes: string[]): string[] {
  const algos: string[] = [];
  for (const t of keyTypes) {
    if (t === 'ssh-rsa') algos.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else algos.push(t);
  }
  return [...new Set(algos)];
}

/** One known_hosts line for a newly accepted key (the name stays plain, as OpenSSH writes by default). */
export function formatKnownHostsLine(name: string, blob: Buffer): string {
  const type = keyTypeOfBlob(blob) ?? 'unknown';
  return `${name} ${type} ${blob.toString('base64')}\n`;
}

/** The first `@cert-authority` entry whose host patterns cover this name, if any. */
export function certAuthorityFor(entries: KnownHostEntry[], name: string): KnownHostEntry | undefined {
  return entries.find((e) => e.marker === '@cert-authority' && hostFieldMatches(e.hosts, name));
}
