import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import { CertificateParseError, KeyParseError, messageOf } from './errors.js';
import { readNameConstraints, type NameConstraintsInfo } from './nameConstraints.js';
import { bytesToIp } from './san.js';

export interface CertInfo {
  subjectCN: string | undefined;
  issuerCN: string | undefined;
  /** Normalised as 'DNS:lowercased' / 'IP:canonical', in certificate order. */
  sans: string[];
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the certificate's DER bytes, 'AA:BB:…' (what `openssl x509 -fingerprint -sha256` prints). */
  fingerprintSha256: string;
  isCa: boolean;
  /** basicConstraints pathLenConstraint, when set. */
  pathLen: number | undefined;
  /** Critical name constraints as regbook writes them; undefined when absent or of another shape. */
  nameConstraints: NameConstraintsInfo | undefined;
  /** SHA-256 of the SubjectPublicKeyInfo DER, 'AA:BB:…': equal for certificates sharing a key. */
  publicKeyFingerprint: string;
}

/** The first CERTIFICATE block of a PEM, as DER bytes. */
export function certDer(certPem: string): Buffer {
  let blocks: forge.pem.ObjectPEM[];
  try {
    blocks = forge.pem.decode(certPem);
  } catch (err) {
    throw new CertificateParseError(`not a PEM certificate: ${messageOf(err)}`, { cause: err });
  }
  const block = blocks.find((b) => b.type === 'CERTIFICATE' || b.type === 'X509 CERTIFICATE');
  if (!block) throw new CertificateParseError('no CERTIFICATE block in the PEM text');
  return Buffer.from(block.body, 'binary');
}

export function parseForgeCert(certPem: string): forge.pki.Certificate {
  try {
    const der = certDer(certPem);
    return forge.pki.certificateFromAsn1(forge.asn1.fromDer(der.toString('binary')));
  } catch (err) {
    if (err instanceof CertificateParseError) throw err;
    throw new CertificateParseError(`cannot parse the certificate: ${messageOf(err)}`, { cause: err });
  }
}

function nodeCert(certPem: string): X509Certificate {
  try {
    return new X509Certificate(certDer(certPem));
  } catch (err) {
    if (err instanceof CertificateParseError) throw err;
    throw new CertificateParseError(`cannot parse the certificate: ${messageOf(err)}`, { cause: err });
  }
}

export function inspectCert(certPem: string): CertInfo {
  const cert = parseForgeCert(certPem);
  const der = certDer(certPem);
  const spki = nodeCert(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const basic = cert.getExtension('basicConstraints') as
    { cA?: boolean; pathLenConstraint?: number } | undefined;
  return {
    subjectCN: commonNameOf(cert.subject),
    issuerCN: commonNameOf(cert.issuer),
    sans: sansOf(cert),
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
    fingerprintSha256: colonHex(createHash('sha256').update(der).digest()),
    isCa: basic?.cA === true,
    pathLen: basic?.pathLenConstraint,
    nameConstraints: readNameConstraints(cert),
    publicKeyFingerprint: colonHex(createHash('sha256').update(spki).digest()),
  };
}

/** Throws KeyParseError / CertificateParseError when either side is unreadable. */
export function keyMatchesCert(keyPem: string, certPem: string): boolean {
  const cert = nodeCert(certPem);
  return cert.checkPrivateKey(parsePrivateKey(keyPem));
}

/** Whether `caCertPem`'s subject issued `certPem` and its key made the signature. */
export function verifySignedBy(certPem: string, caCertPem: string): boolean {
  const cert = nodeCert(certPem);
  const ca = nodeCert(caCertPem);
  // A self-signed leaf has no keyCertSign, which OpenSSL's issuer check (checkIssued) demands:
  // for it, "issued by itself" is its names and its own signature.
  if (cert.raw.equals(ca.raw)) return cert.issuer === cert.subject && cert.verify(cert.publicKey);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** Any private key Node can read (RSA, EC, Ed25519), unencrypted. */
export function parsePrivateKey(keyPem: string): ReturnType<typeof createPrivateKey> {
  try {
    return createPrivateKey({ key: keyPem, format: 'pem' });
  } catch (err) {
    throw new KeyParseError(`cannot read the private key: ${messageOf(err)}`, { cause: err });
  }
}

function commonNameOf(name: forge.pki.Certificate['subject']): string | undefined {
  const field = name.getField('CN') as forge.pki.CertificateField | null;
  if (!field || typeof field.value !== 'string') return undefined;
  return field.valueTagClass === (forge.asn1.Type.UTF8 as number)
    ? forge.util.decodeUtf8(field.value)
    : field.value;
}

function sansOf(cert: forge.pki.Certificate): string[] {
  const ext = cert.getExtension('subjectAltName') as
    { altNames?: { type: number; value: string }[] } | undefined;
  const out: string[] = [];
  for (const alt of ext?.altNames ?? []) {
    if (alt.type === 2) out.push(`DNS:${alt.value.toLowerCase()}`);
    else if (alt.type === 7) out.push(`IP:${bytesToIp(alt.value)}`);
    // Other kinds (email, URI) are not something this tool writes or compares.
  }
  return out;
}

function colonHex(buf: Buffer): string {
  return buf.toString('hex').toUpperCase().match(/../g)!.join(':');
}
