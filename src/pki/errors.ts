/** Input a certificate function cannot use: a PEM that does not parse, a key of an unsupported kind. */
export class PkiError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PkiError';
  }
}

/** A certificate PEM that cannot be parsed (garbage, truncated, or a key type node-forge cannot read). */
export class CertificateParseError extends PkiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CertificateParseError';
  }
}

/** A private key PEM that cannot be parsed, is encrypted, or is not RSA (node-forge builds RSA certificates only). */
export class KeyParseError extends PkiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyParseError';
  }
}

/** A subjectAltName entry that is neither `DNS:<name>` nor `IP:<address>`. */
export class SanError extends PkiError {
  constructor(message: string) {
    super(message);
    this.name = 'SanError';
  }
}

/** The message of an unknown thrown value, for wrapping it in a typed error. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
