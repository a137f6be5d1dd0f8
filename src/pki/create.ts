import { randomBytes, sign } from 'node:crypto';
import forge from 'node-forge';
import { PkiError } from './errors.js';
import { forgePrivateKey, forgePublicKeyOf, generateRsaKeyPem } from './keys.js';
import { keyMatchesCert, parseForgeCert } from './inspect.js';
import { constraintsFor, nameConstraintsExtension } from './nameConstraints.js';
import { toForgeAltNames } from './san.js';

export interface PemPair {
  keyPem: string;
  certPem: string;
}

export interface CaOptions {
  /** The playbook's tls.commonName; the CA's subject becomes `<commonName> regbook CA`. */
  commonName: string;
  /** The only names the CA may vouch for (its critical name constraints): the registry's SANs. */
  subjectAltNames: readonly string[];
  days: number;
  keyBits: number;
  /** Reuse this key instead of generating one. */
  keyPem?: string;
  now?: Date;
}

export interface ServerCertOptions {
  commonName: string;
  /** 'DNS:name' | 'IP:address' (IPv4 or IPv6). */
  subjectAltNames: readonly string[];
  days: number;
  keyBits: number;
  /** Sign with this CA; without it the certificate is self-signed and is its own trust anchor. */
  ca?: PemPair;
  /** Reuse this key instead of generating one. */
  keyPem?: string;
  now?: Date;
}

const DAY_MS = 86_400_000;
/** notBefore lies this far in the past, so a host whose clock is a little behind accepts a new certificate. */
const BACKDATE_MS = 3_600_000;

export function caSubjectName(commonName: string): string {
  return `${commonName} regbook CA`;
}

export function createCa(opts: CaOptions): PemPair {
  const keyPem = opts.keyPem ?? generateRsaKeyPem(opts.keyBits);
  const key = forgePrivateKey(keyPem);
  const subject = nameAttrs(caSubjectName(opts.commonName));
  const cert = baseCert(forgePublicKeyOf(key), opts.days, opts.now);
  cert.setSubject(subject);
  cert.setIssuer(subject);
  if (opts.subjectAltNames.length === 0) throw new PkiError('a CA needs the names it may vouch for');
  // Every managed host trusts this CA: pathLen 0 and the name constraints keep its key from
  // minting a certificate for any other site (or an intermediate that could).
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    nameConstraintsExtension(constraintsFor(opts.subjectAltNames)),
    { name: 'subjectKeyIdentifier' },
  ]);
  signWithOpenSsl(cert, keyPem);
  return { keyPem, certPem: toPem(cert) };
}

export function createServerCert(opts: ServerCertOptions): PemPair {
  if (opts.subjectAltNames.length === 0) {
    // Go (and so docker) ignores the CN since 1.15: without a SAN no client would accept the certificate.
    throw new PkiError('a server certificate needs at least one subjectAltName');
  }
  const altNames = toForgeAltNames(opts.subjectAltNames);
  const keyPem = opts.keyPem ?? generateRsaKeyPem(opts.keyBits);
  const key = forgePrivateKey(keyPem);
  const cert = baseCert(forgePublicKeyOf(key), opts.days, opts.now);
  const subject = nameAttrs(opts.commonName);
  cert.setSubject(subject);

  const common = [
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
  ];
  if (opts.ca) {
    const caCert = parseForgeCert(opts.ca.certPem);
    if (!keyMatchesCert(opts.ca.keyPem, opts.ca.certPem)) {
      throw new PkiError('the CA key does not belong to the CA certificate');
    }
    cert.setIssuer(caCert.subject.attributes.map(decodedAttr));
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      ...common,
      { name: 'authorityKeyIdentifier', keyIdentifier: subjectKeyIdBytes(caCert) },
    ]);
    signWithOpenSsl(cert, opts.ca.keyPem);
  } else {
    // Self-signed, as the runbook does, and not a CA: clients trust this very certificate (OpenSSL
    // and Go accept a leaf that is itself in the trust store), and with CA:FALSE and no
    // keyCertSign its key cannot sign a certificate for any other name that they would accept.
    cert.setIssuer(subject);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      ...common,
      { name: 'authorityKeyIdentifier', keyIdentifier: cert.generateSubjectKeyIdentifier().getBytes() },
    ]);
    signWithOpenSsl(cert, keyPem);
  }
  return { keyPem, certPem: toPem(cert) };
}

/**
 * sha256WithRSAEncryption over the certificate node-forge built, computed by OpenSSL through Node's
 * crypto: forge's pure-JS RSA is many times slower, and it is on the first apply's critical path.
 * forge's `cert.sign` only asks the digest for its algorithm name and the bytes to sign, and the
 * key for `sign(digest)`; these stand-ins collect the DER of the TBSCertificate and sign it whole.
 */
function signWithOpenSsl(cert: forge.pki.Certificate, keyPem: string): void {
  let tbs = '';
  const digest = {
    algorithm: 'sha256',
    update(bytes: string) {
      tbs += bytes;
      return digest;
    },
  };
  const signer = { sign: () => sign('sha256', Buffer.from(tbs, 'binary'), keyPem).toString('binary') };
  cert.sign(signer as unknown as forge.pki.rsa.PrivateKey, digest as unknown as forge.md.MessageDigest);
}

function baseCert(publicKey: forge.pki.rsa.PublicKey, days: number, now = new Date()): forge.pki.Certificate {
  if (!Number.isInteger(days) || days < 1) throw new PkiError(`days must be a positive integer, got ${days}`);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(now.getTime() + days * DAY_MS);
  return cert;
}

/** 16 random bytes, first byte in 0x01..0x7f: positive and minimally DER-encoded (Go rejects otherwise). */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString('hex');
}

/** UTF8String, not forge's default PrintableString, so any commonName encodes validly. */
function nameAttrs(commonName: string): forge.pki.CertificateField[] {
  // forge UTF-8-encodes the value itself when the tag class is UTF8String.
  return [{ name: 'commonName', value: commonName, valueTagClass: forge.asn1.Type.UTF8 as number }];
}

/**
 * A parsed name attribute whose value is ready to be encoded again: forge keeps parsed UTF8String
 * values as raw bytes but UTF-8-encodes on write, which would garble a non-ASCII issuer name.
 */
function decodedAttr(attr: forge.pki.CertificateField): forge.pki.CertificateField {
  if (attr.valueTagClass !== (forge.asn1.Type.UTF8 as number) || typeof attr.value !== 'string') return attr;
  return { ...attr, value: forge.util.decodeUtf8(attr.value) };
}

/** The CA's own subjectKeyIdentifier (as written in it), else the usual SHA-1 of its public key. */
function subjectKeyIdBytes(caCert: forge.pki.Certificate): string {
  const ext = caCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  if (ext?.subjectKeyIdentifier) return forge.util.hexToBytes(ext.subjectKeyIdentifier);
  return caCert.generateSubjectKeyIdentifier().getBytes();
}

/** forge writes CRLF line ends; files and checksums are simpler with LF. */
function toPem(cert: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}
