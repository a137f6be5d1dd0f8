// Pure helpers for the value grammars the semantic rules need after the schema has checked the
// shapes: registry addresses, subject alternative names, image names and control-node paths.
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';

export interface ParsedAddress {
  /** Without brackets for IPv6. */
  host: string;
  port: number;
  /** Whether the address spelt out a port. */
  explicitPort: boolean;
}

/** docker talks to a registry address without a port on 443. */
export const DEFAULT_REGISTRY_PORT = 443;

/** Splits a schema-valid host[:port] (IPv6 in brackets). */
export function parseAddress(address: string): ParsedAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(address);
  if (!m) throw new Error(`not a host[:port] address: ${address}`);
  const host = m[1] ?? m[2]!;
  return { host, port: m[3] ? Number(m[3]) : DEFAULT_REGISTRY_PORT, explicitPort: m[3] !== undefined };
}

/** The canonical text of an IP address (IPv6 compressed and lowercase), or undefined. */
export function canonicalIp(text: string): string | undefined {
  const family = isIP(text);
  if (family === 0) return undefined;
  // The WHATWG URL parser serialises IP hosts canonically (RFC 5952 for IPv6).
  const host = new URL(family === 6 ? `http://[${text}]/` : `http://${text}/`).hostname;
  return family === 6 ? host.slice(1, -1) : host;
}

/**
 * Whether a subjectAltName entry makes a TLS client accept the certificate for `host`, as
 * browsers and Go's crypto/x509 (docker) decide: an IP host needs an equal IP entry; a DNS host
 * an equal DNS entry (case-insensitive) or a wildcard standing for exactly its first label.
 */
export function sanCovers(san: string, host: string): boolean {
  const ip = canonicalIp(host);
  if (ip !== undefined) {
    return san.startsWith('IP:') && canonicalIp(san.slice(3)) === ip;
  }
  if (!san.startsWith('DNS:')) return false;
  const name = san.slice(4).toLowerCase();
  const wanted = host.toLowerCase();
  if (!name.startsWith('*.')) return name === wanted;
  const dot = wanted.indexOf('.');
  return dot > 0 && wanted.slice(dot + 1) === name.slice(2);
}

/** The SAN that covers a host by itself: IP:<addr> for an IP address, DNS:<name> otherwise. */
export function sanForHost(host: string): string {
  return isIP(host) ? `IP:${host}` : `DNS:${host}`;
}

export interface ImageNameParts {
  repository: string;
  tag: string;
}

/** Splits a schema-valid `repository[:tag]`; a missing tag is `latest`, as docker assumes. */
export function splitImageName(name: string): ImageNameParts {
  const colon = name.lastIndexOf(':');
  if (colon < 0) return { repository: name, tag: 'latest' };
  return { repository: name.slice(0, colon), tag: name.slice(colon + 1) };
}

/** `${env:NAME}` → NAME, or undefined. */
export function envRefName(value: string): string | undefined {
  return /^\$\{env:([A-Z_][A-Z0-9_]*)\}$/.exec(value)?.[1];
}

export type ExpandResult = { ok: true; path: string } | { ok: false; message: string };

/** A control-node path: `~` and `~/…` are the home directory; a relative path is relative to `baseDir`. */
export function expandLocalPath(p: string, baseDir: string): ExpandResult {
  if (p === '~' || p.startsWith('~/')) return { ok: true, path: resolve(homedir(), p.slice(2)) };
  if (p.startsWith('~')) {
    return { ok: false, message: `only ~ and ~/ are expanded, not ${p.split('/')[0]}; write the full path` };
  }
  return { ok: true, path: isAbsolute(p) ? resolve(p) : resolve(baseDir, p) };
}
