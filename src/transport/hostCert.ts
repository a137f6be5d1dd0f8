// OpenSSH host certificates (the format of OpenSSH's PROTOCOL.certkeys): parsing the certificate a
// server presents during key exchange, checking its CA's signature with node:crypto, and deciding
// whether a known_hosts `@cert-authority` line vouches for it, with the checks OpenSSH's client makes
// (sshconnect.c check_host_cert, sshkey_cert_check_authority, hostfile.c): a host certificate, within
// its validity window, naming the host among its principals (an empty list names every host), with no
// critical options, signed by a CA that known_hosts trusts for this name with a signature algorithm
// OpenSSH accepts by default (never ssh-rsa's SHA-1), and neither the host key nor the CA @revoked.
//
// Pure: the caller hands in the parsed known_hosts entries and the time.

import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { fingerprintSha256, hostFieldMatches, type KnownHostEntry } from './knownHosts.js';

const CERT_SUFFIX = '-cert-v01@openssh.com';
/** PROTOCOL.certkeys: the `type` field of a certificate. */
const SSH2_CERT_TYPE_USER = 1;
const SSH2_CERT_TYPE_HOST = 2;
/** valid_before of a certificate made without `-V`: it never expires. */
const FOREVER = 0xffffffffffffffffn;

export interface HostCertificate {
  /** The certificate's type name, e.g. ssh-ed25519-cert-v01@openssh.com. */
  certType: string;
  /** The certified key's plain type, e.g. ssh-ed25519. */
  keyType: string;
  /** The certified key as a plain public key blob (what a known_hosts line or @revoked holds). */
  publicKey: Buffer;
  serial: bigint;
  /** 1 user, 2 host. */
  type: number;
  keyId: string;
  principals: string[];
  /** Seconds since the epoch. */
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: string[];
  extensions: string[];
  /** The CA's public key blob. */
  signatureKey: Buffer;
  /** The algorithm of the CA's signature (ssh-ed25519, rsa-sha2-512, ...). */
  signatureAlgorithm: string;
  /** The SSH signature blob (string algorithm, string signature). */
  signature: Buffer;
  /** The bytes the CA signed: everything before the signature field. */
  signed: Buffer;
}

export class CertificateFormatError extends Error {}

/** Reads the SSH wire encoding (RFC 4251 §5): uint32, uint64, string. */
class WireReader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  uint32(): number {
    if (this.pos + 4 > this.buf.length) throw new CertificateFormatError('truncated certificate');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  uint64(): bigint {
    if (this.pos + 8 > this.buf.length) throw new CertificateFormatError('truncated certificate');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(): Buffer {
    const len = this.uint32();
    if (this.pos + len > this.buf.length) throw new CertificateFormatError('truncated certificate');
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }
  string(): string {
    return this.bytes().toString('utf8');
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

/** A name-list field (principals) or a name/data list (options, extensions): the names. */
function readNames(field: Buffer, withData: boolean): string[] {
  const r = new WireReader(field);
  const names: string[] = [];
  while (!r.done) {
    names.push(r.string());
    if (withData) r.bytes();
  }
  return names;
}

function sshString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** How many string/mpint fields the public key of each plain type has, after its type name. */
function keyFieldCount(keyType: string): number | undefined {
  if (keyType === 'ssh-ed25519') return 1;
  if (/^ecdsa-sha2-nistp(256|384|521)$/.test(keyType)) return 2;
  if (keyType === 'ssh-rsa') return 2;
  return undefined;
}

export function isCertificateType(type: string | undefined): boolean {
  return type?.endsWith(CERT_SUFFIX) ?? false;
}

/** Parses an OpenSSH certificate blob (as sent in the key exchange, or base64-decoded from a -cert.pub). */
export function parseCertificate(blob: Buffer): HostCertificate {
  const r = new WireReader(blob);
  const certType = r.string();
  if (!certType.endsWith(CERT_SUFFIX)) throw new CertificateFormatError(`${certType} is not a certificate`);
  const keyType = certType.slice(0, -CERT_SUFFIX.length);
  const fields = keyFieldCount(keyType);
  if (fields === undefined) throw new CertificateFormatError(`unsupported certificate type ${certType}`);
  r.bytes(); // nonce
  const keyStart = r.pos;
  for (let i = 0; i < fields; i++) r.bytes();
  const publicKey = Buffer.concat([sshString(keyType), blob.subarray(keyStart, r.pos)]);
  const serial = r.uint64();
  const type = r.uint32();
  const keyId = r.string();
  const principals = readNames(r.bytes(), false);
  const validAfter = r.uint64();
  const validBefore = r.uint64();
  const criticalOptions = readNames(r.bytes(), true);
  const extensions = readNames(r.bytes(), true);
  r.bytes(); // reserved
  const signatureKey = Buffer.from(r.bytes());
  const signedEnd = r.pos;
  const signature = Buffer.from(r.bytes());
  if (!r.done) throw new CertificateFormatError('trailing data after the certificate signature');
  const sigAlgo = new WireReader(signature).string();
  return {
    certType,
    keyType,
    publicKey,
    serial,
    type,
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    signatureKey,
    signatureAlgorithm: sigAlgo,
    signature,
    signed: Buffer.from(blob.subarray(0, signedEnd)),
  };
}

const b64url = (b: Buffer): string => b.toString('base64url');
/** An mpint's magnitude without the sign byte SSH adds when the top bit is set. */
const unsigned = (b: Buffer): Buffer => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
};

const CURVES: Record<string, { crv: string; hash: string; size: number }> = {
  'ecdsa-sha2-nistp256': { crv: 'P-256', hash: 'sha256', size: 32 },
  'ecdsa-sha2-nistp384': { crv: 'P-384', hash: 'sha384', size: 48 },
  'ecdsa-sha2-nistp521': { crv: 'P-521', hash: 'sha512', size: 66 },
};

/** A node:crypto public key from an SSH public key blob (ed25519, ecdsa, rsa). */
function publicKeyObject(blob: Buffer): { type: string; key: KeyObject } {
  const r = new WireReader(blob);
  const type = r.string();
  if (type === 'ssh-ed25519') {
    const x = r.bytes();
    if (x.length !== 32) throw new CertificateFormatError('malformed ed25519 CA key');
    return {
      type,
      key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(x) }, format: 'jwk' }),
    };
  }
  const curve = CURVES[type];
  if (curve) {
    r.bytes(); // curve name, implied by the type
    const q = r.bytes();
    if (q.length !== 1 + 2 * curve.size || q[0] !== 4)
      throw new CertificateFormatError('malformed ECDSA CA key');
    const x = q.subarray(1, 1 + curve.size);
    const y = q.subarray(1 + curve.size);
    return {
      type,
      key: createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64url(x), y: b64url(y) }, format: 'jwk' }),
    };
  }
  if (type === 'ssh-rsa') {
    const e = unsigned(r.bytes());
    const n = unsigned(r.bytes());
    return { type, key: createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' }) };
  }
  throw new CertificateFormatError(`unsupported CA key type ${type}`);
}

/**
 * Whether `signature` (an SSH signature blob) by the key `keyBlob` is valid over `data`. Accepts
 * the algorithms of OpenSSH's default CASignatureAlgorithms: ssh-ed25519, ecdsa-sha2-nistp*,
 * rsa-sha2-256/512; an RSA signature with SHA-1 (ssh-rsa) is refused, as OpenSSH refuses it.
 * Returns the reason when it is not valid.
 */
export function verifySshSignature(keyBlob: Buffer, signature: Buffer, data: Buffer): true | string {
  let pub: { type: string; key: KeyObject };
  try {
    pub = publicKeyObject(keyBlob);
  } catch (e) {
    return `the CA key cannot be read: ${(e as Error).message}`;
  }
  const r = new WireReader(signature);
  let algo: string;
  let sig: Buffer;
  try {
    algo = r.string();
    sig = r.bytes();
  } catch {
    return 'the CA signature is malformed';
  }
  try {
    if (pub.type === 'ssh-ed25519') {
      if (algo !== 'ssh-ed25519') return `signature algorithm ${algo} does not fit an ${pub.type} CA key`;
      return cryptoVerify(null, data, pub.key, sig) || 'the CA signature does not verify';
    }
    const curve = CURVES[pub.type];
    if (curve) {
      if (algo !== pub.type) return `signature algorithm ${algo} does not fit an ${pub.type} CA key`;
      const sr = new WireReader(sig);
      const rs = [unsigned(sr.bytes()), unsigned(sr.bytes())];
      if (rs.some((v) => v.length > curve.size)) return 'the CA signature is malformed';
      const p1363 = Buffer.concat(rs.map((v) => Buffer.concat([Buffer.alloc(curve.size - v.length), v])));
      return (
        cryptoVerify(curve.hash, data, { key: pub.key, dsaEncoding: 'ieee-p1363' }, p1363) ||
        'the CA signature does not verify'
      );
    }
    // ssh-rsa
    const hash = algo === 'rsa-sha2-512' ? 'sha512' : algo === 'rsa-sha2-256' ? 'sha256' : undefined;
    if (!hash)
      return algo === 'ssh-rsa'
        ? 'the CA signed with ssh-rsa (RSA with SHA-1), which OpenSSH no longer accepts for certificates'
        : `signature algorithm ${algo} does not fit an ssh-rsa CA key`;
    return cryptoVerify(hash, data, pub.key, sig) || 'the CA signature does not verify';
  } catch {
    return 'the CA signature is malformed';
  }
}

export type HostCertVerdict =
  | { status: 'valid'; ca: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry; what: 'host key' | 'CA key' }
  /** No @cert-authority line for this name holds the key that signed the certificate. */
  | { status: 'unknown-ca' }
  | { status: 'invalid'; ca: KnownHostEntry; reason: string };

const when = (s: bigint): string =>
  s === FOREVER ? 'forever' : new Date(Number(s) * 1000).toISOString().replace('.000Z', 'Z');

/**
 * The decision on a host certificate, as OpenSSH's client makes it.
 * `knownHostsName` is the name known_hosts lines are matched against (`[host]:port` off port 22);
 * `principal` is the name the certificate must list: the host name connected to, without the port.
 */
export function checkHostCertificate(
  cert: HostCertificate,
  entries: KnownHostEntry[],
  knownHostsName: string,
  principal: string,
  nowSeconds: bigint = BigInt(Math.floor(Date.now() / 1000)),
): HostCertVerdict {
  // A revoked host key is revoked under any certificate, and a revoked CA vouches for nothing.
  for (const e of entries) {
    if (e.marker !== '@revoked' || !hostFieldMatches(e.hosts, knownHostsName)) continue;
    if (e.key.equals(cert.publicKey)) return { status: 'revoked', entry: e, what: 'host key' };
    if (e.key.equals(cert.signatureKey)) return { status: 'revoked', entry: e, what: 'CA key' };
  }
  const ca = entries.find(
    (e) =>
      e.marker === '@cert-authority' &&
      e.key.equals(cert.signatureKey) &&
      hostFieldMatches(e.hosts, knownHostsName),
  );
  if (!ca) return { status: 'unknown-ca' };
  const invalid = (reason: string): HostCertVerdict => ({ status: 'invalid', ca, reason });
  const signed = verifySshSignature(cert.signatureKey, cert.signature, cert.signed);
  if (signed !== true) return invalid(signed);
  if (cert.type !== SSH2_CERT_TYPE_HOST)
    return invalid(
      cert.type === SSH2_CERT_TYPE_USER
        ? 'it is a user certificate, not a host certificate'
        : `unknown certificate type ${cert.type}`,
    );
  if (nowSeconds < cert.validAfter) return invalid(`it is not valid before ${when(cert.validAfter)}`);
  if (nowSeconds >= cert.validBefore) return invalid(`it expired at ${when(cert.validBefore)}`);
  if (cert.principals.length > 0 && !cert.principals.includes(principal))
    return invalid(
      `${JSON.stringify(principal)} is not among its principals (${cert.principals.map((p) => JSON.stringify(p)).join(', ')})`,
    );
  if (cert.criticalOptions.length > 0)
    return invalid(
      `it carries critical options a host certificate may not have (${cert.criticalOptions.join(', ')})`,
    );
  return { status: 'valid', ca };
}

/** One line naming a certificate for messages: its key id, serial, principals and CA. */
export function describeCertificate(cert: HostCertificate): string {
  const principals = cert.principals.length ? cert.principals.join(',') : '(any host)';
  return (
    `certificate "${cert.keyId}" serial ${cert.serial} for ${principals}, ` +
    `valid ${when(cert.validAfter)} to ${when(cert.validBefore)}, ` +
    `host key ${fingerprintSha256(cert.publicKey)}, CA ${fingerprintSha256(cert.signatureKey)}`
  );
}
