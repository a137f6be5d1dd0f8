// Certificates for the registry: creation (node-forge), inspection and the pure regenerate decision.
export {
  createCa,
  createServerCert,
  caSubjectName,
  type PemPair,
  type CaOptions,
  type ServerCertOptions,
} from './create.js';
export { inspectCert, keyMatchesCert, verifySignedBy, type CertInfo } from './inspect.js';
export { generateRsaKeyPem, generateRsaKeyPemAsync } from './keys.js';
export {
  constraintsFor,
  readNameConstraints,
  sameConstraints,
  type NameConstraintsInfo,
} from './nameConstraints.js';
export { normaliseSan, sanSet, sameSans, canonicalIp } from './san.js';
export {
  certificateVerdict,
  type CertificateVerdict,
  type DesiredCertificate,
  type PemFiles,
  type RegenerateDecision,
  type VerdictInput,
} from './verdict.js';
export { PkiError, CertificateParseError, KeyParseError, SanError } from './errors.js';
