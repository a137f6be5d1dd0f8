/** One entry of the registry's `{"errors": [...]}` body. */
export interface RegistryErrorDetail {
  code: string;
  message?: string;
}

/**
 * A registry request that failed: an unexpected HTTP status (status set, codes from the body), or no
 * HTTP answer at all (status undefined: connection, TLS or timeout; `cause` holds the original error
 * and `tlsCode` Node's certificate error code such as ERR_TLS_CERT_ALTNAME_INVALID).
 * Messages name the method and path only: no header, so no credential, is ever part of one.
 */
export class RegistryError extends Error {
  readonly status: number | undefined;
  readonly codes: string[];
  readonly errors: RegistryErrorDetail[];
  readonly tlsCode: string | undefined;

  constructor(
    message: string,
    opts: { status?: number; errors?: RegistryErrorDetail[]; tlsCode?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RegistryError';
    this.status = opts.status;
    this.errors = opts.errors ?? [];
    this.codes = this.errors.map((e) => e.code);
    this.tlsCode = opts.tlsCode;
  }
}

/** Parses the registry's error body; anything else yields no details. */
export function parseRegistryErrors(body: Buffer): RegistryErrorDetail[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors
      .filter((e): e is { code: string; message?: unknown } => typeof e?.code === 'string')
      .map((e) => (typeof e.message === 'string' ? { code: e.code, message: e.message } : { code: e.code }));
  } catch {
    return [];
  }
}
