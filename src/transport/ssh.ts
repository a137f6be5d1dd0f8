// The SSH connection: one ssh2 Client per host, opened once and shared by every task, with host
// keys checked before authentication, a cap on concurrent channels, and keepalives.

import { existsSync, readFileSync, createReadStream } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import ssh2, { type AnyAuthMethod, type Client, type ClientChannel, type NextAuthHandler } from 'ssh2';
import { renderCmd, type Cmd } from '../core/cmd.js';
import {
  SocketOpenError,
  UnreachableError,
  type CommandStream,
  type ConnectOptions,
  type ConnectableHost,
  type Connection,
  type ExecOptions,
  type ExecResult,
  type UploadOptions,
} from './types.js';
import { ChannelPool } from './channelPool.js';
import { DockerEngine } from './dockerEngine.js';
import { hostKeyCheck, type HostKeyCheck } from './hostKeyPolicy.js';
import { authAttempts, describeAttempt, type AuthAttempt } from './sshAuth.js';
import { parseJumpHop, resolveSshConfig } from './sshConfig.js';
import { checkSudoResult, signalError, stdinBytes, writeFileWith } from './common.js';

const DEFAULTS = {
  connectTimeoutMs: 15_000,
  maxSessions: 10,
  maxTcpChannels: 10,
  keepaliveIntervalMs: 10_000,
  keepaliveCountMax: 3,
};
/** How often a refused channel open is retried (with a lowered limit) before the command fails. */
const CHANNEL_OPEN_RETRIES = 20;

/** One SSH endpoint to log in to: the target, or a ProxyJump hop on the way. */
interface Endpoint {
  address: string;
  port: number;
  user: string;
  auth: { attempts: AuthAttempt[]; notes: string[] };
}

function isChannelOpenFailure(e: unknown): e is Error & { reason?: number } {
  return e instanceof Error && e.message.includes('Channel open failure');
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Logs in to one endpoint (over `sock` when it is reached through a jump host). Rejects with
 * UnreachableError: hostkey when known_hosts refuses the key (no credential has been offered then:
 * ssh2 calls hostVerifier during key exchange), auth when every credential was refused, connect
 * for everything else.
 */
function openClient(
  hostName: string,
  ep: Endpoint,
  hk: HostKeyCheck,
  opts: ConnectOptions,
  sock?: Duplex,
): Promise<Client> {
  const client = new ssh2.Client();
  const timeoutMs = opts.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
  const where = `${ep.user}@${ep.address}:${ep.port}`;
  const pending = [...ep.auth.attempts];
  const tried: string[] = [];
  const authHandler = (_left: unknown, _partial: boolean, next: NextAuthHandler): void => {
    const a = pending.shift();
    if (!a) return (next as unknown as (m: false) => void)(false);
    const method = describeAttempt(a);
    tried.push(method);
    opts.onAuthAttempt?.(method);
    const m: AnyAuthMethod =
      a.kind === 'agent'
        ? { type: 'agent', username: ep.user, agent: a.socket }
        : {
            type: 'publickey',
            username: ep.user,
            key: a.key,
            ...(a.passphrase ? { passphrase: a.passphrase } : {}),
          };
    next(m);
  };
  return new Promise((resolve, reject) => {
    let ready = false;
    const fail = (reason: 'connect' | 'auth' | 'hostkey', message: string): void => {
      client.end();
      reject(new UnreachableError(hostName, message, reason));
    };
    client.on('handshake', () => hk.onHandshake());
    client.once('ready', () => {
      ready = true;
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string }) => {
      if (ready) return;
      if (hk.refusal) return fail('hostkey', hk.refusal);
      if (err.level === 'client-authentication') {
        const detail = [
          tried.length ? `tried ${tried.join(', ')}` : 'no credential to offer',
          ...ep.auth.notes,
        ];
        return fail('auth', `${hostName}: authentication failed for ${where} (${detail.join('; ')})`);
      }
      if (err.level === 'client-timeout') {
        return fail('connect', `${hostName}: no SSH session with ${where} within ${timeoutMs} ms`);
      }
      fail('connect', `${hostName}: cannot connect to ${where}: ${err.message}`);
    });
    client.on('close', () => {
      if (!ready)
        fail(hk.refusal ? 'hostkey' : 'connect', hk.refusal ?? `${hostName}: ${where} closed the connection`);
    });
    client.connect({
      ...(sock ? { sock } : { host: ep.address, port: ep.port }),
      username: ep.user,
      readyTimeout: timeoutMs,
      keepaliveInterval: opts.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs,
      keepaliveCountMax: opts.keepaliveCountMax ?? DEFAULTS.keepaliveCountMax,
      hostVerifier: (key: Buffer) => hk.verify(key),
      ...(hk.serverHostKey ? { algorithms: { serverHostKey: hk.serverHostKey as never } } : {}),
      authHandler,
      ...(opts.debug ? { debug: opts.debug } : {}),
    });
    declineHostKeyProofs(client);
    // Every remote operation is a few small packets each way (channel open, exec, exit status,
    // close). With Nagle's algorithm on, each of them can wait for the server's delayed ACK, which
    // multiplies the time of every operation. Jump hosts' channels have
    // no socket of their own; their hop's connection is set here too.
    client.setNoDelay(true);
  });
}

type GlobalRequestHandler = (
  proto: { requestSuccess(): void },
  name: string,
  wantReply: boolean,
  data: unknown,
) => void;

/**
 * OpenSSH announces all its host keys after login (hostkeys-00@openssh.com, for key rotation),
 * and ssh2 answers, whether anyone listens or not, by asking the server to prove each of them: a
 * signature with every host key, RSA among them, then one check per key here: CPU on the host and
 * here on every connection, for keys regbook does not record
 * (accept-new records only the key the handshake proved). ssh2 has no option for it, so its
 * handler of server requests is wrapped; if ssh2's internals ever change shape, nothing is
 * wrapped and the proofs just run.
 */
function declineHostKeyProofs(client: Client): void {
  const handlers = (client as unknown as { _protocol?: { _handlers?: Record<string, unknown> } })._protocol
    ?._handlers;
  const original = handlers?.GLOBAL_REQUEST;
  if (!handlers || typeof original !== 'function') return;
  const wrapped: GlobalRequestHandler = (proto, name, wantReply, data) => {
    if (name !== 'hostkeys-00@openssh.com')
      return (original as GlobalRequestHandler)(proto, name, wantReply, data);
    if (wantReply) proto.requestSuccess();
  };
  handlers.GLOBAL_REQUEST = wrapped;
}

function forwardOut(client: Client, host: string, port: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

function forwardOutSocket(client: Client, path: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.openssh_forwardOutStreamLocal(path, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

/** Resolves the host against ~/.ssh/config, opens any ProxyJump hops, and logs in. */
export async function connectSsh(host: ConnectableHost, opts: ConnectOptions = {}): Promise<SshConnection> {
  const configPath = opts.sshConfigPath ?? join(homedir(), '.ssh', 'config');
  const configText = existsSync(configPath) ? readFileSync(configPath, 'utf8') : '';
  const cfg = resolveSshConfig(configText, host.address);
  // Without `explicit`, the inventory's values are taken as set by the user (they win).
  const explicit = host.explicit ?? { user: true, port: true, identityFile: true };
  const user = explicit.user ? host.user : (cfg.user ?? host.user);
  const port = explicit.port ? host.port : (cfg.port ?? host.port);
  const keys =
    host.identityFile !== undefined && (explicit.identityFile ?? true)
      ? [host.identityFile]
      : cfg.identityFiles;
  const target: Endpoint = { address: cfg.hostName ?? host.address, port, user, auth: authAttempts(keys) };

  const check = (address: string, p: number): HostKeyCheck =>
    hostKeyCheck({
      hostName: host.name,
      address,
      port: p,
      file: host.knownHosts,
      mode: host.hostKeyChecking,
      ...(opts.recordHostKeys === false ? { record: false } : {}),
      ...(opts.onHostKeyAccepted ? { onAccepted: opts.onHostKeyAccepted } : {}),
    });

  // ProxyJump: log in to each hop in turn, reaching the next one through a direct-tcpip channel.
  const hops: Endpoint[] = (cfg.proxyJump ?? []).map((h) => {
    const hop = parseJumpHop(h);
    const hopCfg = resolveSshConfig(configText, hop.host);
    return {
      address: hopCfg.hostName ?? hop.host,
      port: hop.port ?? hopCfg.port ?? 22,
      user: hop.user ?? hopCfg.user ?? userInfo().username,
      auth: authAttempts([...hopCfg.identityFiles, ...(host.identityFile ? [host.identityFile] : [])]),
    };
  });
  const jumpClients: Client[] = [];
  let sock: Duplex | undefined;
  try {
    for (const [i, hop] of hops.entries()) {
      const c = await openClient(host.name, hop, check(hop.address, hop.port), opts, sock);
      jumpClients.push(c);
      const next = hops[i + 1] ?? target;
      sock = await forwardOut(c, next.address, next.port).catch((e: Error) => {
        throw new UnreachableError(
          host.name,
          `${host.name}: jump host ${hop.address} cannot reach ${next.address}:${next.port}: ${e.message}`,
        );
      });
    }
    const client = await openClient(host.name, target, check(target.address, target.port), opts, sock);
    return new SshConnection(host, client, jumpClients, target.user, opts);
  } catch (e) {
    for (const c of jumpClients) c.end();
    throw e;
  }
}

export class SshConnection implements Connection {
  readonly hostName: string;
  readonly #client: Client;
  readonly #jumpClients: Client[];
  readonly #user: string;
  readonly #become: boolean;
  readonly #sessions: ChannelPool;
  readonly #tcp: ChannelPool;
  /** Open tunnels: close() destroys them, so a kept-alive HTTP connection cannot hold the run open. */
  readonly #tunnels = new Set<Duplex>();
  /** Rejecters of every command in flight, called when the connection ends under them. */
  readonly #inFlight = new Set<(e: Error) => void>();
  #ended: Error | undefined;
  #docker: DockerEngine | undefined;

  constructor(
    host: ConnectableHost,
    client: Client,
    jumpClients: Client[],
    user: string,
    opts: ConnectOptions,
  ) {
    this.hostName = host.name;
    this.#client = client;
    this.#jumpClients = jumpClients;
    this.#user = user;
    this.#become = host.become === 'sudo';
    this.#sessions = new ChannelPool(opts.maxSessions ?? DEFAULTS.maxSessions);
    this.#tcp = new ChannelPool(opts.maxTcpChannels ?? DEFAULTS.maxTcpChannels);
    client.on('error', (err: Error) => {
      this.#end(
        new UnreachableError(this.hostName, `${this.hostName}: connection lost: ${err.message}`, 'lost'),
      );
    });
    client.on('close', () => {
      this.#end(new UnreachableError(this.hostName, `${this.hostName}: connection lost`, 'lost'));
    });
  }

  /** The session channel limit now in force (lowered when the server refused channels). */
  get sessionLimit(): number {
    return this.#sessions.limit;
  }

  async exec(c: Cmd, opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.#run(renderCmd(c, { sudo: this.#become }), stdinBytes(c.stdin), opts);
    return checkSudoResult(this.hostName, this.#user, this.#become, c, r);
  }

  async execWithFile(c: Cmd, localPath: string, opts: ExecOptions = {}): Promise<ExecResult> {
    // Opened before the channel, so a missing file fails without touching the host.
    const input = createReadStream(localPath);
    await new Promise<void>((resolve, reject) => {
      input.once('open', () => resolve());
      input.once('error', reject);
    });
    const r = await this.#run(renderCmd(c, { sudo: this.#become }), input, opts);
    return checkSudoResult(this.hostName, this.#user, this.#become, c, r);
  }

  writeFile(path: string, data: Buffer | string, opts: UploadOptions): Promise<void> {
    return writeFileWith((c) => this.exec(c), this.hostName, path, data, opts);
  }

  async openTcp(host: string, port: number): Promise<Duplex> {
    for (let attempt = 0; ; attempt++) {
      const release = await this.#tcp.acquire();
      try {
        return this.#keepTunnel(await forwardOut(this.#client, host, port), release);
      } catch (e) {
        const openAtRefusal = this.#tcp.active - 1;
        release();
        this.#throwIfEnded();
        // Reason 2 is CONNECT_FAILED: nothing listens there; only resource refusals are retried.
        if (!isChannelOpenFailure(e) || e.reason === 2 || attempt >= CHANNEL_OPEN_RETRIES) {
          throw new Error(
            `${this.hostName}: cannot open a tunnel to ${host}:${port}: ${(e as Error).message}`,
            { cause: e },
          );
        }
        this.#tcp.lower(openAtRefusal);
        await delay(20 * (attempt + 1));
      }
    }
  }

  async openSocket(path: string): Promise<Duplex> {
    const release = await this.#tcp.acquire();
    try {
      return this.#keepTunnel(await forwardOutSocket(this.#client, path), release);
    } catch (e) {
      release();
      this.#throwIfEnded();
      // OpenSSH answers CONNECT_FAILED whether forwarding is off or the socket cannot be opened:
      // the engine takes either as "use dial-stdio on this host".
      throw new SocketOpenError(`${this.hostName}: cannot open ${path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /** A forwarded channel, kept with the tunnels (closed with the connection); its pool slot freed when it closes. */
  #keepTunnel(stream: ClientChannel, release: () => void): ClientChannel {
    this.#tunnels.add(stream);
    stream.once('close', () => {
      this.#tunnels.delete(stream);
      release();
    });
    return stream;
  }

  async openStream(c: Cmd): Promise<CommandStream> {
    if (c.stdin !== undefined) throw new Error(`${this.hostName}: a streamed command takes no other stdin`);
    const { channel, release } = await this.#openSession(renderCmd(c, { sudo: this.#become }));
    // Kept with the tunnels: when the connection ends, #end destroys it, which closes it.
    this.#tunnels.add(channel);
    const err: Buffer[] = [];
    channel.stderr.on('data', (b: Buffer) => err.push(b));
    const ended = new Promise<{ code: number | null; stderr: string }>((resolve) => {
      channel.once('close', (status: number | null | undefined) => {
        this.#tunnels.delete(channel);
        release();
        resolve({
          code: typeof status === 'number' ? status : null,
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
    });
    return { stream: channel, ended };
  }

  docker(): DockerEngine {
    return (this.#docker ??= new DockerEngine(this));
  }

  useDockerSocket(path: string): void {
    this.docker().useSocket(path);
  }

  async close(): Promise<void> {
    this.#docker?.close();
    const closed = new Promise<void>((resolve) => {
      if (this.#ended) return resolve();
      this.#client.once('close', () => resolve());
      setTimeout(resolve, 2000).unref();
    });
    this.#end(new Error(`${this.hostName}: connection closed`));
    this.#client.end();
    for (const c of this.#jumpClients) c.end();
    await closed;
  }

  #end(err: Error): void {
    if (this.#ended) return;
    this.#ended = err;
    this.#sessions.close(err);
    this.#tcp.close(err);
    for (const t of this.#tunnels) t.destroy();
    this.#tunnels.clear();
    for (const fail of this.#inFlight) fail(err);
    this.#inFlight.clear();
  }

  #throwIfEnded(): void {
    if (this.#ended) throw this.#ended;
  }

  /** A session channel running `line`, within the pool's limit; retried when the server refuses it. */
  async #openSession(line: string): Promise<{ channel: ClientChannel; release: () => void }> {
    for (let attempt = 0; ; attempt++) {
      this.#throwIfEnded();
      const release = await this.#sessions.acquire();
      try {
        const channel = await new Promise<ClientChannel>((resolve, reject) => {
          this.#client.exec(line, (err, ch) => (err ? reject(err) : resolve(ch)));
        });
        return { channel, release };
      } catch (e) {
        // The server's real limit is the number of channels that were open when it refused.
        const openAtRefusal = this.#sessions.active - 1;
        release();
        this.#throwIfEnded();
        if (!isChannelOpenFailure(e) || attempt >= CHANNEL_OPEN_RETRIES) {
          throw new Error(`${this.hostName}: cannot start a command: ${(e as Error).message}`, { cause: e });
        }
        this.#sessions.lower(openAtRefusal);
        await delay(20 * (attempt + 1));
      }
    }
  }

  async #run(line: string, input: Buffer | Readable | undefined, opts: ExecOptions): Promise<ExecResult> {
    let opened: { channel: ClientChannel; release: () => void };
    try {
      opened = await this.#openSession(line);
    } catch (e) {
      if (input && !Buffer.isBuffer(input)) input.destroy();
      throw e;
    }
    const { channel, release } = opened;
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let exitCode: number | undefined;
      let exitSignal: string | undefined;
      let settled = false;
      const settle = (f: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#inFlight.delete(fail);
        f();
      };
      const fail = (e: Error): void => {
        // The connection is gone: no close will come for this channel, so free its slot now.
        if (this.#ended) release();
        settle(() => reject(e));
      };
      this.#inFlight.add(fail);
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            settle(() => reject(new Error(`${this.hostName}: command timed out after ${opts.timeoutMs} ms`)));
            try {
              channel.signal('KILL');
            } catch {
              // Not every server honours signals; closing the channel ends the command's stdio.
            }
            channel.close();
          }, opts.timeoutMs)
        : undefined;
      channel.on('data', (b: Buffer) => out.push(b));
      channel.stderr.on('data', (b: Buffer) => err.push(b));
      // The exit status is read from 'close', whose arguments ssh2 takes from the channel's
      // recorded exit: an 'exit' event can fire before these listeners exist when the command's
      // whole output arrives in the same packet batch as the exec reply.
      channel.on('error', (e: Error) => fail(new Error(`${this.hostName}: ${e.message}`)));
      channel.on('close', (status: number | null | undefined, signal?: string) => {
        release();
        if (typeof status === 'number') exitCode = status;
        else if (signal) exitSignal = signal.startsWith('SIG') ? signal : `SIG${signal}`;
        if (exitCode === undefined) return fail(signalError(this.hostName, 'command', exitSignal));
        const code = exitCode;
        settle(() =>
          resolve({
            code,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
          }),
        );
      });
      if (input === undefined) channel.end();
      else if (Buffer.isBuffer(input)) channel.end(input);
      else {
        input.on('error', (e) => {
          fail(new Error(`${this.hostName}: reading local input failed: ${e.message}`));
          channel.close();
        });
        input.pipe(channel);
      }
    });
  }
}
