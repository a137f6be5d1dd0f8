import { messageOf } from './errors.js';
import { inspectCert, keyMatchesCert, parsePrivateKey, verifySignedBy, type CertInfo } from './inspect.js';
import { constraintsFor, sameConstraints, type NameConstraintsInfo } from './nameConstraints.js';
import { sameSans, sanSet } from './san.js';

export interface DesiredCertificate {
  commonName: string;
  subjectAltNames: readonly string[];
  days: number;
  renewBeforeDays: number;
  mode: 'ca' | 'selfsigned';
}

/** File contents as read from tls.dir; undefined = the file is missing. */
export interface PemFiles {
  keyPem?: string;
  certPem?: string;
}

export interface RegenerateDecision {
  regenerate: boolean;
  /** Plain phrases naming what is wrong, for the change list and --diff. */
  reasons: string[];
}

export interface CertificateVerdict {
  /** In selfsigned mode there is no CA: always {regenerate: false, reasons: []}. */
  ca: RegenerateDecision;
  server: RegenerateDecision;
  /** The existing server certificate, when it parses (the "old" side of a diff). */
  current?: { sans: string[]; notAfter: Date; fingerprint: string };
}

export interface VerdictInput {
  desired: DesiredCertificate;
  now: Date;
  ca?: PemFiles;
  server: PemFiles;
}

const DAY_MS = 86_400_000;

/**
 * Decides, without side effects, whether the CA and the server certificate must be made anew.
 * The CA is remade when it cannot be used, is about to expire, or may vouch for other names than
 * the playbook's SANs (missing or different name constraints, or a path length other than 0);
 * a subject change alone keeps it. A new CA forces a new server certificate.
 */
export function certificateVerdict(input: VerdictInput): CertificateVerdict {
  const { desired, now } = input;
  const ca =
    desired.mode === 'ca' ? caDecision(input.ca ?? {}, desired, now) : { regenerate: false, reasons: [] };

  const reasons: string[] = [];
  const server = input.server;
  const cert = readPair('server', server, reasons);
  if (cert) {
    if (cert.subjectCN !== desired.commonName) {
      reasons.push(`subject differs: CN ${quote(cert.subjectCN)} → ${quote(desired.commonName)}`);
    }
    if (!sameSans(cert.sans, desired.subjectAltNames)) {
      reasons.push(`SANs differ: ${listSans(cert.sans)} → ${listSans(desired.subjectAltNames)}`);
    }
    const expiry = expiryReason('server certificate', cert.notAfter, now, desired.renewBeforeDays);
    if (expiry) reasons.push(expiry);
    if (desired.mode === 'ca') {
      if (ca.regenerate) reasons.push('CA regenerated: the server certificate must be signed by the new CA');
      else if (!signedBy(server.certPem!, input.ca?.certPem)) reasons.push('not signed by the CA');
    } else if (!signedBy(server.certPem!, server.certPem)) {
      reasons.push('not self-signed (mode selfsigned)');
    } else if (cert.isCa) {
      // As earlier versions made it: every host trusts it, so its key could vouch for any name.
      reasons.push('self-signed certificate is a CA (CA:TRUE); it is made again as CA:FALSE');
    }
  } else if (desired.mode === 'ca' && ca.regenerate && reasons.length === 0) {
    reasons.push('CA regenerated: the server certificate must be signed by the new CA');
  }

  const verdict: CertificateVerdict = { ca, server: { regenerate: reasons.length > 0, reasons } };
  if (cert)
    verdict.current = { sans: cert.sans, notAfter: cert.notAfter, fingerprint: cert.fingerprintSha256 };
  return verdict;
}

function caDecision(files: PemFiles, desired: DesiredCertificate, now: Date): RegenerateDecision {
  const reasons: string[] = [];
  const cert = readPair('CA', files, reasons);
  if (cert) {
    // A certificate without CA:true cannot anchor a chain for Go or OpenSSL: as unusable as a missing one.
    if (!cert.isCa) reasons.push('CA certificate is not a CA (basicConstraints CA:false or absent)');
    else if (cert.pathLen !== 0) reasons.push('CA certificate has no path length 0 (it could sign a sub-CA)');
    const want = constraintsFor(desired.subjectAltNames);
    if (!cert.nameConstraints) {
      reasons.push('CA certificate has no critical name constraints (it could vouch for any name)');
    } else if (!sameConstraints(cert.nameConstraints, want)) {
      reasons.push(
        `CA name constraints differ from the SANs: ${listConstraints(cert.nameConstraints)} → ${listConstraints(want)}`,
      );
    }
    const expiry = expiryReason('CA certificate', cert.notAfter, now, desired.renewBeforeDays);
    if (expiry) reasons.push(expiry);
  }
  return { regenerate: reasons.length > 0, reasons };
}

/**
 * Pushes reasons for a missing/unreadable/mismatched key and certificate; returns the parsed
 * certificate only when the pair is whole and belongs together, so later checks can trust it.
 */
function readPair(label: string, files: PemFiles, reasons: string[]): CertInfo | undefined {
  const before = reasons.length;
  let cert: CertInfo | undefined;
  if (files.certPem === undefined) reasons.push(`${label} certificate missing`);
  else {
    try {
      cert = inspectCert(files.certPem);
    } catch (err) {
      reasons.push(`${label} certificate unparsable: ${messageOf(err)}`);
    }
  }
  let keyOk = false;
  if (files.keyPem === undefined) reasons.push(`${label} key missing`);
  else {
    try {
      parsePrivateKey(files.keyPem);
      keyOk = true;
    } catch {
      // The message of a key parse error could quote key material; name the problem only.
      reasons.push(`${label} key unparsable`);
    }
  }
  if (cert && keyOk && !keyMatchesCert(files.keyPem!, files.certPem!)) {
    reasons.push(`${label} key/certificate mismatch`);
  }
  return reasons.length === before ? cert : undefined;
}

function expiryReason(label: string, notAfter: Date, now: Date, renewBeforeDays: number): string | undefined {
  const leftMs = notAfter.getTime() - now.getTime();
  if (leftMs > renewBeforeDays * DAY_MS) return undefined;
  const date = notAfter.toISOString().slice(0, 10);
  if (leftMs <= 0) return `${label} expired ${Math.floor(-leftMs / DAY_MS)} days ago (${date})`;
  return `${label} expires in ${Math.floor(leftMs / DAY_MS)} days (${date}), within renewBeforeDays ${renewBeforeDays}`;
}

function signedBy(certPem: string, issuerPem: string | undefined): boolean {
  if (issuerPem === undefined) return false;
  try {
    return verifySignedBy(certPem, issuerPem);
  } catch {
    return false;
  }
}

function listSans(sans: readonly string[]): string {
  const set = sanSet(sans);
  return set.length ? set.join(', ') : '(none)';
}

function listConstraints(c: NameConstraintsInfo): string {
  const parts = [...c.permitted, ...c.excluded.map((e) => `not ${e || 'any'}`)];
  return parts.join(', ');
}

function quote(v: string | undefined): string {
  return v === undefined ? '(none)' : JSON.stringify(v);
}
