import { createHash } from 'node:crypto';
import {
  Agent,
  request as httpRequest,
  type ClientRequestArgs,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Secret } from '../core/secret.js';
import { RegistryError, parseRegistryErrors } from './errors.js';
import { assertDigest, assertRepository, assertTagOrDigest } from './reference.js';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

/**
 * Every manifest kind we understand. Without them the registry converts a v2 manifest to schema1
 * and returns the digest of that conversion, which matches nothing docker reports.
 */
const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(', ');

export interface RegistryClientOptions {
  /** A raw byte stream to the registry's port, e.g. an SSH direct-tcpip channel; TLS runs over it. */
  connect: () => Promise<Duplex>;
  /** The host of registry.address: sent as SNI and checked against the certificate. */
  servername: string;
  /** The port of registry.address, for the Host header. */
  port: number;
  /**
   * PEM of the only certificate(s) trusted: the private CA, or the self-signed certificate.
   * Absent: the registry speaks plain HTTP (tls.mode none) and the stream carries it as it is.
   */
  ca?: string;
  auth?: { username: string; password: Secret };
  /** Per request, connection included. Default 30 s. */
  timeoutMs?: number;
}

export interface RegistryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestSpec {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Absolute path plus query, starting with /v2/. */
  path: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string;
}

export interface ManifestInfo {
  digest: string;
  mediaType: string;
  /** For an image manifest: config + layer sizes as the manifest states them; undefined for an index. */
  size: number | undefined;
  /** For an image manifest: the config blob's digest, which is the image id docker shows. */
  configDigest?: string;
}

/** Largest response body read into memory; registry API answers are small JSON documents. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_PAGE_SIZE = 1000;
const MAX_PAGES = 10_000;

/**
 * The registry HTTP API v2, spoken over a stream the caller opens, so the control node needs no
 * route to the registry: TLS is negotiated end to end with the registry and the certificate is
 * checked against `servername`, whatever the stream's real path. Connections are kept alive and
 * reused, so a run's many small requests pay for one tunnel and one TLS handshake, not one each.
 */
export class RegistryClient {
  readonly #opts: RegistryClientOptions;
  readonly #authHeader: string | undefined;
  readonly #agent: Agent;

  constructor(opts: RegistryClientOptions) {
    this.#opts = opts;
    const openTls = (what: string) => this.#openTls(what);
    // An agent whose sockets are TLS over the caller's streams; kept alive between requests.
    this.#agent = new (class extends Agent {
      override createConnection(
        options: ClientRequestArgs,
        oncreate?: (err: Error | null, stream: Duplex) => void,
      ): undefined {
        openTls(`${options.method ?? 'GET'} ${options.path ?? '/v2/'}`).then(
          (socket) => oncreate?.(null, socket),
          (err: Error) => oncreate?.(err, undefined as unknown as Duplex),
        );
        return undefined;
      }
    })({ keepAlive: true, maxSockets: 4 });
    // Computed once and kept private; it never enters a message, log line or argv.
    this.#authHeader = opts.auth
      ? 'Basic ' + Buffer.from(`${opts.auth.username}:${opts.auth.password.reveal()}`).toString('base64')
      : undefined;
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  /** The HTTP status of GET /v2/: 200 when reachable and authorised, 401 without (valid) credentials. */
  async ping(): Promise<number> {
    return (await this.request({ method: 'GET', path: '/v2/' })).status;
  }

  /** Every repository name, following `Link: <…>; rel="next"` pagination. */
  async catalog(opts: { pageSize?: number } = {}): Promise<string[]> {
    const n = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    const pages = await this.#paged(
      `/v2/_catalog?n=${n}`,
      (doc) => (doc as { repositories?: string[] | null }).repositories,
    );
    if (!pages) throw new RegistryError('GET /v2/_catalog → 404');
    return pages;
  }

  /** The tags of a repository; [] when the repository does not exist (404 NAME_UNKNOWN) or has none. */
  async tags(repo: string, opts: { pageSize?: number } = {}): Promise<string[]> {
    assertRepository(repo);
    const query = opts.pageSize ? `?n=${opts.pageSize}` : '';
    return (
      (await this.#paged(
        `/v2/${repo}/tags/list${query}`,
        (doc) => (doc as { tags?: string[] | null }).tags,
      )) ?? []
    );
  }

  /** The digest the registry serves for repo:tag (Docker-Content-Digest), or undefined when absent. */
  async manifestDigest(repo: string, tag: string): Promise<string | undefined> {
    const path = manifestPath(repo, tag);
    const res = await this.request({ method: 'HEAD', path, headers: { accept: MANIFEST_ACCEPT } });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw statusError('HEAD', path, res);
    const header = res.headers['docker-content-digest'];
    if (typeof header === 'string' && header) return assertDigest(header);
    return (await this.manifestInfo(repo, tag))?.digest;
  }

  /** Media type, digest and size of repo:reference, or undefined when absent. */
  async manifestInfo(repo: string, reference: string): Promise<ManifestInfo | undefined> {
    const path = manifestPath(repo, reference);
    const res = await this.request({ method: 'GET', path, headers: { accept: MANIFEST_ACCEPT } });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw statusError('GET', path, res);
    const header = res.headers['docker-content-digest'];
    const digest =
      typeof header === 'string' && header
        ? assertDigest(header)
        : `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
    let doc: {
      mediaType?: string;
      config?: { size?: number; digest?: string };
      layers?: { size?: number }[];
    };
    try {
      doc = JSON.parse(res.body.toString('utf8')) as typeof doc;
    } catch (err) {
      throw new RegistryError(`GET ${path}: the manifest is not JSON`, { status: res.status, cause: err });
    }
    const mediaType = doc.mediaType ?? res.headers['content-type'] ?? 'unknown';
    const size =
      doc.config && Array.isArray(doc.layers)
        ? (doc.config.size ?? 0) + doc.layers.reduce((sum, l) => sum + (l.size ?? 0), 0)
        : undefined;
    const configDigest = typeof doc.config?.digest === 'string' ? doc.config.digest : undefined;
    return { digest, mediaType, size, ...(configDigest ? { configDigest } : {}) };
  }

  /**
   * Deletes a manifest by digest (which also drops every tag pointing at it). True when deleted,
   * false when it was already absent; a registry without delete enabled answers 405 UNSUPPORTED.
   */
  async deleteManifest(repo: string, digest: string): Promise<boolean> {
    assertDigest(digest);
    const path = manifestPath(repo, digest);
    const res = await this.request({ method: 'DELETE', path });
    if (res.status === 202 || res.status === 200) return true;
    if (res.status === 404) return false;
    throw statusError('DELETE', path, res);
  }

  /** Whether the repository holds a blob (HEAD), so an upload of one it has can be skipped. */
  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const path = `/v2/${assertRepository(repo)}/blobs/${assertDigest(digest)}`;
    const res = await this.request({ method: 'HEAD', path });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw statusError('HEAD', path, res);
  }

  /**
   * Uploads a small blob in one piece (POST an upload, then PUT its bytes with their digest), unless
   * the repository holds it already. Resolves with its digest.
   */
  async putBlob(repo: string, data: Buffer): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    if (await this.hasBlob(repo, digest)) return digest;
    const start = `/v2/${assertRepository(repo)}/blobs/uploads/`;
    const res = await this.request({ method: 'POST', path: start, headers: { 'content-length': '0' } });
    if (res.status !== 202) throw statusError('POST', start, res);
    const location = uploadLocation(res.headers.location);
    if (!location) throw new RegistryError(`POST ${start}: no upload location under /v2/ in the answer`);
    const put = `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
    const done = await this.request({
      method: 'PUT',
      path: put,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
      body: data,
    });
    if (done.status !== 201) throw statusError('PUT', location, done);
    return digest;
  }

  /** Stores a manifest under a tag (or its digest); resolves with the digest the registry gives it. */
  async putManifest(repo: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
    const path = manifestPath(repo, reference);
    const res = await this.request({
      method: 'PUT',
      path,
      headers: { 'content-type': mediaType, 'content-length': String(body.length) },
      body,
    });
    if (res.status !== 201) throw statusError('PUT', path, res);
    const header = res.headers['docker-content-digest'];
    return typeof header === 'string' && header
      ? assertDigest(header)
      : `sha256:${createHash('sha256').update(body).digest('hex')}`;
  }

  /** One raw request; any HTTP status resolves, only a failure to get an answer rejects. */
  async request(spec: RequestSpec): Promise<RegistryResponse> {
    if (!spec.path.startsWith('/v2/')) throw new RegistryError(`refusing a path outside /v2/: ${spec.path}`);
    const { servername, port } = this.#opts;
    const timeoutMs = this.#opts.timeoutMs ?? 30_000;
    const headers: OutgoingHttpHeaders = {
      host: port === 443 ? hostForHeader(servername) : `${hostForHeader(servername)}:${port}`,
      'user-agent': 'regbook',
      ...spec.headers,
    };
    if (this.#authHeader) headers.authorization = this.#authHeader;
    const what = `${spec.method} ${spec.path}`;

    return new Promise<RegistryResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(
          err instanceof RegistryError
            ? err
            : new RegistryError(`${what}: ${messageOf(err)}`, { cause: err }),
        );
      };
      const timer = setTimeout(
        () => fail(new RegistryError(`${what}: no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );

      const req = httpRequest({
        method: spec.method,
        path: spec.path,
        headers,
        agent: this.#agent,
      });
      req.on('error', fail);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > MAX_BODY_BYTES)
            fail(new RegistryError(`${what}: response larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      req.end(spec.body);
    });
  }

  /** The stream from connect(), wrapped in TLS that trusts only `ca` and checks `servername`. */
  async #openTls(what: string): Promise<TLSSocket | Duplex> {
    let raw: Duplex;
    try {
      raw = await this.#opts.connect();
    } catch (err) {
      throw new RegistryError(`${what}: cannot open a stream to the registry: ${messageOf(err)}`, {
        cause: err,
      });
    }
    const { servername, ca } = this.#opts;
    if (ca === undefined) return asSocket(raw);
    const options: ConnectionOptions = { socket: raw, ca, ALPNProtocols: ['http/1.1'] };
    // SNI must be a DNS name (RFC 6066); for an IP address the name check uses `host` instead.
    if (isIP(servername)) options.host = servername;
    else options.servername = servername;
    return new Promise<TLSSocket>((resolve, reject) => {
      const socket = tlsConnect(options);
      const onError = (err: Error & { code?: string }) => {
        socket.destroy();
        raw.destroy();
        reject(
          new RegistryError(`${what}: TLS with ${servername} failed: ${err.message}`, {
            cause: err,
            ...(err.code ? { tlsCode: err.code } : {}),
          }),
        );
      };
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        socket.off('error', onError);
        resolve(socket);
      });
    });
  }

  /** Follows Link pagination; undefined when the first page is a 404 (unknown repository). */
  async #paged(
    first: string,
    pick: (doc: unknown) => string[] | null | undefined,
  ): Promise<string[] | undefined> {
    const out: string[] = [];
    let path: string | undefined = first;
    const seen = new Set<string>();
    while (path) {
      if (seen.has(path) || seen.size >= MAX_PAGES)
        throw new RegistryError(`GET ${first}: pagination does not end`);
      seen.add(path);
      const res = await this.request({ method: 'GET', path });
      if (res.status === 404 && seen.size === 1) {
        const codes = parseRegistryErrors(res.body).map((e) => e.code);
        if (codes.length === 0 || codes.includes('NAME_UNKNOWN')) return undefined;
      }
      if (res.status !== 200) throw statusError('GET', path, res);
      let doc: unknown;
      try {
        doc = JSON.parse(res.body.toString('utf8'));
      } catch (err) {
        throw new RegistryError(`GET ${path}: the answer is not JSON`, { status: res.status, cause: err });
      }
      out.push(...(pick(doc) ?? []));
      path = nextLink(res.headers.link);
    }
    return out;
  }
}

function manifestPath(repo: string, reference: string): string {
  return `/v2/${assertRepository(repo)}/manifests/${assertTagOrDigest(reference)}`;
}

/** The path of `Link: </v2/_catalog?last=x&n=100>; rel="next"`, kept on this registry and under /v2/. */
export function nextLink(link: string | string[] | undefined): string | undefined {
  const value = Array.isArray(link) ? link.join(', ') : link;
  if (!value) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(value);
  if (!m) return undefined;
  const url = new URL(m[1]!, 'https://registry.invalid');
  const path = url.pathname + url.search;
  return path.startsWith('/v2/') ? path : undefined;
}

/** The path and query of an upload's Location header (absolute or not), kept under /v2/. */
export function uploadLocation(location: string | string[] | undefined): string | undefined {
  const value = Array.isArray(location) ? location[0] : location;
  if (!value) return undefined;
  const url = new URL(value, 'https://registry.invalid');
  const path = url.pathname + url.search;
  return path.startsWith('/v2/') ? path : undefined;
}

function statusError(method: string, path: string, res: RegistryResponse): RegistryError {
  const errors = parseRegistryErrors(res.body);
  const detail = errors.map((e) => (e.message ? `${e.code} (${e.message})` : e.code)).join(', ');
  return new RegistryError(`${method} ${path} → ${res.status}${detail ? `: ${detail}` : ''}`, {
    status: res.status,
    errors,
  });
}

function hostForHeader(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A plain stream (tls.mode none) where the HTTP agent expects a socket: it calls these socket
 * methods on the connections it keeps alive, and an SSH channel has none of them.
 */
function asSocket(stream: Duplex): Duplex {
  const s = stream as Duplex & Record<string, unknown>;
  for (const name of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref']) {
    if (typeof s[name] !== 'function') s[name] = () => s;
  }
  return s;
}
