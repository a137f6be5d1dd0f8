import { isIPv4, isIPv6 } from 'node:net';
import { SanError } from './errors.js';

/** A subjectAltName as node-forge reads and writes it: 2 = dNSName, 7 = iPAddress (raw bytes). */
export type ForgeAltName = { type: 2; value: string } | { type: 7; value: string };

/**
 * The canonical text of an IP address: dotted quad for IPv4, RFC 5952 for IPv6 (lowercase, longest
 * zero run compressed). The WHATWG URL parser implements exactly that serialisation.
 */
export function canonicalIp(ip: string): string {
  if (isIPv4(ip)) return new URL(`http://${ip}/`).hostname;
  if (isIPv6(ip)) return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  throw new SanError(`not an IP address: ${JSON.stringify(ip)}`);
}

/**
 * Normalises one SAN written as `DNS:name` or `IP:address` (prefix case-insensitive): DNS names
 * lowercased (DNS is case-insensitive), IPs canonical, so `IP:0:0::1` and `IP:::1` compare equal.
 */
export function normaliseSan(san: string): string {
  const m = /^(dns|ip):(.+)$/i.exec(san.trim());
  if (!m) throw new SanError(`subjectAltName must be DNS:<name> or IP:<address>, got ${JSON.stringify(san)}`);
  const kind = m[1]!.toUpperCase();
  const value = m[2]!.trim();
  if (kind === 'IP') return `IP:${canonicalIp(value)}`;
  if (!/^[A-Za-z0-9*]([A-Za-z0-9.*_-]*[A-Za-z0-9])?$/.test(value)) {
    throw new SanError(`not a DNS name: ${JSON.stringify(value)}`);
  }
  return `DNS:${value.toLowerCase()}`;
}

/** Normalised, de-duplicated and sorted: the form two SAN lists are compared in. */
export function sanSet(sans: readonly string[]): string[] {
  return [...new Set(sans.map(normaliseSan))].sort();
}

export function sameSans(a: readonly string[], b: readonly string[]): boolean {
  const x = sanSet(a);
  const y = sanSet(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Address → network-order bytes as a binary string (node-forge's byte representation). */
export function ipToBytes(ip: string): string {
  const canonical = canonicalIp(ip);
  if (isIPv4(canonical)) return String.fromCharCode(...canonical.split('.').map(Number));
  const [head, tail] = canonical.includes('::') ? canonical.split('::') : [canonical, undefined];
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  const all =
    tail === undefined
      ? left
      : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return all.map((g) => String.fromCharCode(g >> 8, g & 0xff)).join('');
}

/** Network-order bytes (binary string, 4 or 16 long) → canonical address text. */
export function bytesToIp(bytes: string): string {
  const codes = [...bytes].map((c) => c.charCodeAt(0));
  if (codes.length === 4) return codes.join('.');
  if (codes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((codes[i]! << 8) | codes[i + 1]!).toString(16));
    return canonicalIp(groups.join(':'));
  }
  throw new SanError(`an iPAddress SAN must be 4 or 16 bytes, got ${codes.length}`);
}

/** Playbook SAN strings → node-forge altNames. */
export function toForgeAltNames(sans: readonly string[]): ForgeAltName[] {
  return sanSet(sans).map((san) =>
    san.startsWith('IP:') ? { type: 7, value: ipToBytes(san.slice(3)) } : { type: 2, value: san.slice(4) },
  );
}
