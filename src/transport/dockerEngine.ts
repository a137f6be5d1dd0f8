// The Docker Engine API of one host, spoken over the host's own connection. Each HTTP stream is
// either a unix-socket channel of the SSH connection to the socket the host's docker client would
// use (when the host's facts found one and the SSH server forwards it: nothing runs on the host),
// or a `docker system dial-stdio` command run with the host's `become`, which pipes its stdin and
// stdout to the daemon the client would reach (sudo, contexts, tcp:// and ssh:// hosts included).
// Nothing listens on the network, nothing is written on the host, and what a request carries (an
// X-Registry-Auth header included) travels inside the SSH channel, never in argv.
//
// Streams are kept alive between requests, so a run opens one stream per host for its sequential
// requests, and more only for requests made at the same time (up to maxStreams).
import { createReadStream } from 'node:fs';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Secret } from '../core/secret.js';
import { sudoWantsPassword } from './common.js';
import {
  SocketOpenError,
  SudoPasswordRequiredError,
  UnreachableError,
  type CommandStream,
  type Connection,
} from './types.js';

/** The API version asked for: docker 20.10 speaks 1.41, and every later daemon still answers it. */
export const ENGINE_API_VERSION = '1.41';

const DIAL = ['docker', 'system', 'dial-stdio'] as const;

/** A path segment of an API URL: names may hold `/` and `:`, which the daemon's router takes as they are. */
export function apiPathSegment(name: string): string {
  return name.replace(/[^A-Za-z0-9._~:@/-]/g, (ch) => encodeURIComponent(ch));
}

/** A request the daemon answered with an error status; `message` is the daemon's own. */
export class EngineError extends Error {
  constructor(
    readonly hostName: string,
    readonly status: number,
    /** The daemon's message, without the host's name. */
    readonly detail: string,
  ) {
    super(`${hostName}: ${detail}`);
    this.name = 'EngineError';
  }
}

export interface EngineRequest {
  /** Sent as JSON. */
  body?: unknown;
  /** A local file sent as the body as it is (POST /images/load of a `docker save` archive). */
  bodyFile?: string;
  /**
   * Sent as X-Registry-Auth, as docker's client does for a push or a pull from a registry with
   * auth; `anonymous` sends `{}`, which a push wants even where no credentials are needed.
   */
  registryAuth?: RegistryAuth | 'anonymous';
  /** Query parameters, encoded here. */
  query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** Give up (and close that stream) after this long. */
  timeoutMs?: number;
}

/** A registry's credentials as docker's X-Registry-Auth carries them. */
export interface RegistryAuth {
  username: string;
  password: Secret;
  serveraddress: string;
}

export interface EngineAnswer {
  status: number;
  body: Buffer;
}

/** One line of a streamed answer (pull, push): docker's progress message, or its failure. */
export interface StreamEvent {
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: unknown;
}

/** What a user of a host's engine calls: requests, each answered or thrown. */
export interface DockerApi {
  readonly hostName: string;
  request(method: string, path: string, req?: EngineRequest): Promise<EngineAnswer>;
  json<T>(method: string, path: string, req?: EngineRequest): Promise<T>;
  stream(method: string, path: string, req?: EngineRequest): Promise<StreamEvent[]>;
}

export class DockerEngine implements DockerApi {
  readonly #conn: Connection;
  readonly #agent: http.Agent;
  readonly #commands = new WeakMap<Duplex, CommandStream>();
  readonly #maxStreams: number;
  /** Streams opened so far, one per stream the agent asked for; and how many were dial-stdio commands. */
  #dialled = 0;
  #commandsStarted = 0;
  /** The docker socket the host's facts found, while its SSH server forwards it. */
  #socket: string | undefined;

  constructor(conn: Connection, opts: { maxStreams?: number } = {}) {
    this.#conn = conn;
    this.#maxStreams = opts.maxStreams ?? 4;
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: this.#maxStreams });
    // The agent asks for a socket; a command's stream stands in for one. Node's agent accepts an
    // answer through the callback when createConnection returns nothing.
    Object.assign(this.#agent, {
      createConnection: (_: unknown, done: (err: Error | null, socket?: Duplex) => void) => {
        this.#dial().then(
          (s) => done(null, s),
          (e: Error) => done(e),
        );
        return undefined;
      },
    });
    // A dial-stdio stream opened before the host's facts named the socket (a read-ahead's request
    // can come first) ends as soon as it is idle, so the later requests go to the socket.
    this.#agent.on('free', (stream: Duplex) => {
      if (this.#socket !== undefined && this.#commands.has(stream)) stream.destroy();
    });
  }

  get hostName(): string {
    return this.#conn.hostName;
  }

  /** How many streams this client has opened, sockets and commands. */
  get streamsOpened(): number {
    return this.#dialled;
  }

  /** How many of them were dial-stdio commands (each holds one session channel). */
  get commandsStarted(): number {
    return this.#commandsStarted;
  }

  /**
   * Streams from now on go to this unix socket on the host (see Connection.useDockerSocket); the
   * idle dial-stdio streams end now, the busy ones when their request is answered.
   */
  useSocket(path: string): void {
    this.#socket = path;
    for (const idle of Object.values(this.#agent.freeSockets).flat()) {
      if (idle && this.#commands.has(idle)) idle.destroy();
    }
  }

  async #dial(): Promise<Duplex> {
    const stream = (await this.#openSocket()) ?? (await this.#startDialStdio());
    this.#dialled++;
    // What node's agent and client call on a socket, and a command's stream does not have.
    Object.assign(stream, {
      setKeepAlive: () => stream,
      setNoDelay: () => stream,
      setTimeout: () => stream,
      ref: () => stream,
      unref: () => stream,
    });
    return stream;
  }

  /**
   * A stream to the socket, or none: a refusal leaves this stream and every later one to
   * dial-stdio, whose error says why the daemon cannot be reached when it cannot. OpenSSH refuses
   * a server that forwards no sockets and a socket nothing listens on alike (CONNECT_FAILED), so
   * the two cannot be told apart; dial-stdio serves both.
   */
  async #openSocket(): Promise<Duplex | undefined> {
    const path = this.#socket;
    if (path === undefined) return undefined;
    try {
      return await this.#conn.openSocket(path);
    } catch (e) {
      if (!(e instanceof SocketOpenError)) throw e;
      this.#socket = undefined;
      return undefined;
    }
  }

  async #startDialStdio(): Promise<Duplex> {
    const command = await this.#conn.openStream({ argv: [...DIAL], privileged: true });
    this.#commandsStarted++;
    this.#commands.set(command.stream, command);
    return command.stream;
  }

  /** One request; resolves with any status the daemon answered. */
  async request(method: string, path: string, req: EngineRequest = {}): Promise<EngineAnswer> {
    // A kept-alive stream whose dial-stdio has ended (the daemon restarted, which ends every
    // stream to it) fails a request before it reaches any daemon: sent again on a fresh stream.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#send(method, path, req);
      } catch (e) {
        if (!(e instanceof StaleStreamError)) throw e;
        if (attempt >= this.#maxStreams)
          throw new Error(`${this.hostName}: docker engine API: ${e.message}`, { cause: e });
      }
    }
  }

  #send(method: string, path: string, req: EngineRequest): Promise<EngineAnswer> {
    return new Promise((resolve, reject) => {
      const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
      const headers: Record<string, string> = { Host: 'docker' };
      if (body) headers['Content-Type'] = 'application/json';
      if (req.bodyFile !== undefined) headers['Content-Type'] = 'application/x-tar';
      if (req.registryAuth) headers['X-Registry-Auth'] = registryAuthHeader(req.registryAuth);
      let socket: Duplex | undefined;
      const r = http.request(
        { agent: this.#agent, method, path: this.#url(path, req.query), headers },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on('data', (b: Buffer) => chunks.push(b));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
          });
          res.on('error', (e) => fail(e));
        },
      );
      let answered = false;
      const fail = (e: Error): void => {
        clearTimeout(timer);
        if (r.reusedSocket && !answered && !timedOut) return reject(new StaleStreamError(e));
        this.#explain(socket, e).then(reject, reject);
      };
      let timedOut = false;
      const timer = req.timeoutMs
        ? setTimeout(() => {
            timedOut = true;
            r.destroy(new Error(`${method} ${path}: no answer after ${req.timeoutMs} ms`));
          }, req.timeoutMs)
        : undefined;
      r.on('socket', (s: Duplex) => (socket = s));
      r.on('error', fail);
      if (req.bodyFile === undefined) return void r.end(body);
      const file = createReadStream(req.bodyFile);
      file.once('error', (e) => r.destroy(e));
      file.pipe(r);
    });
  }

  /** A request whose answer is JSON (or empty); an error status throws EngineError with the daemon's message. */
  async json<T>(method: string, path: string, req: EngineRequest = {}): Promise<T> {
    const a = await this.request(method, path, req);
    if (a.status >= 400) throw new EngineError(this.hostName, a.status, daemonMessage(a.body));
    const text = a.body.toString('utf8').trim();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /**
   * A request answered with a stream of JSON lines (a pull, a push). The daemon answers 200 as soon
   * as the work starts and reports a failure inside the stream, as `error` or (newer daemons) only
   * `errorDetail`: either throws EngineError. Resolves with the stream's events.
   */
  async stream(method: string, path: string, req: EngineRequest = {}): Promise<StreamEvent[]> {
    const a = await this.request(method, path, req);
    if (a.status >= 400) throw new EngineError(this.hostName, a.status, daemonMessage(a.body));
    const events = parseStream(a.body.toString('utf8'));
    const failed = events.find((e) => e.error !== undefined || e.errorDetail !== undefined);
    if (failed) {
      throw new EngineError(this.hostName, a.status, failed.errorDetail?.message ?? failed.error ?? 'failed');
    }
    return events;
  }

  /** Ends every stream: the sockets' channels close, the dial-stdio commands exit. */
  close(): void {
    this.#agent.destroy();
  }

  #url(path: string, query: EngineRequest['query']): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    return `/v${ENGINE_API_VERSION}${path}${qs ? `?${qs}` : ''}`;
  }

  /**
   * A request that failed without an answer: the stream ended, most often because dial-stdio
   * could not reach the daemon or could not start at all. Its stderr says why; a socket's stream
   * has no more to say than the error.
   */
  async #explain(socket: Duplex | undefined, e: Error): Promise<never> {
    // The host's connection is gone: the host is unreachable, whatever the request was.
    if (e instanceof UnreachableError) throw e;
    const command = socket && this.#commands.get(socket);
    if (!command) throw new Error(`${this.hostName}: docker engine API: ${e.message}`, { cause: e });
    // The command has ended or is ending; do not wait on one that hangs.
    const ended = await Promise.race([
      command.ended,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref()),
    ]);
    const stderr = ended?.stderr.trim() ?? '';
    if (sudoWantsPassword(stderr)) throw new SudoPasswordRequiredError(this.hostName, 'the login user');
    if (stderr === '') throw new Error(`${this.hostName}: docker engine API: ${e.message}`, { cause: e });
    throw new Error(`${this.hostName}: cannot reach the docker daemon: ${lastLine(stderr)}`, { cause: e });
  }
}

/** A kept-alive stream that had ended before the request went out on it. */
class StaleStreamError extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

/**
 * A host's engine that tells `trace` each request (method and path, never a header or a body,
 * which may hold credentials), as a traced connection tells each command.
 */
export function tracedEngine(engine: DockerApi, trace: (line: string) => void): DockerApi {
  const say = (method: string, path: string) => trace(`docker API ${method} ${path}`);
  return {
    hostName: engine.hostName,
    request: (m, p, r) => (say(m, p), engine.request(m, p, r)),
    json: (m, p, r) => (say(m, p), engine.json(m, p, r)),
    stream: (m, p, r) => (say(m, p), engine.stream(m, p, r)),
  };
}

/** The X-Registry-Auth value: the JSON docker's client sends, base64-encoded. Never logged: a header only. */
export function registryAuthHeader(a: NonNullable<EngineRequest['registryAuth']>): string {
  if (a === 'anonymous') return 'e30=';
  const json = JSON.stringify({
    username: a.username,
    password: a.password.reveal(),
    serveraddress: a.serveraddress,
  });
  // URL-safe base64 with its padding: the daemon's decoder (Go's base64.URLEncoding) wants the
  // padding, and without it reads no credentials at all.
  return Buffer.from(json, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** The daemon's `{"message": …}`, or the body as it is. */
export function daemonMessage(body: Buffer): string {
  const text = body.toString('utf8').trim();
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    // Not JSON: shown as it came.
  }
  return text || '(empty answer)';
}

/** The JSON lines of a streamed answer; a line that is not JSON is kept as a status. */
export function parseStream(text: string): StreamEvent[] {
  const out: StreamEvent[] = [];
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '') continue;
    try {
      out.push(JSON.parse(l) as StreamEvent);
    } catch {
      out.push({ status: l });
    }
  }
  return out;
}

/**
 * A container's output as the daemon sends it when the container has no terminal (logs, exec):
 * frames of an 8-byte header (the stream: 1 stdout, 2 stderr; then the length, big-endian) and
 * that many bytes. A body that does not start with a frame header is taken as plain output.
 */
export function demuxStream(body: Buffer): { stdout: string; stderr: string; all: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const all: Buffer[] = [];
  let at = 0;
  while (at + 8 <= body.length) {
    const kind = body[at]!;
    if (kind > 2 || body[at + 1] !== 0 || body[at + 2] !== 0 || body[at + 3] !== 0) break;
    const size = body.readUInt32BE(at + 4);
    const frame = body.subarray(at + 8, at + 8 + size);
    (kind === 2 ? err : out).push(frame);
    all.push(frame);
    at += 8 + size;
  }
  if (at < body.length) {
    out.push(body.subarray(at));
    all.push(body.subarray(at));
  }
  const text = (b: Buffer[]) => Buffer.concat(b).toString('utf8');
  return { stdout: text(out), stderr: text(err), all: text(all) };
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines[lines.length - 1] ?? text;
}
