import type { Duplex } from 'node:stream';
import type { Cmd } from '../core/cmd.js';
import type { HostSpec } from '../config/model.js';
import type { DockerApi } from './dockerEngine.js';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Kill the command (close its channel) after this long; the result is then a failure. */
  timeoutMs?: number;
}

export interface UploadOptions {
  /** File mode, e.g. 0o600. */
  mode: number;
  /** Needs root to write the target (wrapped in sudo on become hosts). */
  privileged?: boolean;
  /** Make a missing parent directory with this mode first (e.g. 0o755), in the same round trip. */
  dirMode?: number;
}

/**
 * One live connection to one host, shared by every task for the whole run. SSH and local hosts
 * implement the same interface, so tasks never know which they talk to.
 */
export interface Connection {
  readonly hostName: string;
  /** Runs a command; resolves with its exit code (never rejects on a non-zero exit). */
  exec(cmd: Cmd, opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Writes a file atomically: a temporary file in the same directory, mode set, then renamed
   * into place. An interrupted upload leaves the old file and no temporary file.
   */
  writeFile(path: string, data: Buffer | string, opts: UploadOptions): Promise<void>;
  /** Streams a local file into a command's stdin (e.g. `docker load`), without a remote temp file. */
  execWithFile(cmd: Cmd, localPath: string, opts?: ExecOptions): Promise<ExecResult>;
  /** A TCP stream to host:port as seen from the remote host (an SSH direct-tcpip channel). */
  openTcp(host: string, port: number): Promise<Duplex>;
  /**
   * Runs a command whose stdin and stdout are one byte stream for as long as it runs (as
   * `docker system dial-stdio` is), holding a session channel until the stream closes. The
   * command has no other stdin (`cmd.stdin` is refused).
   */
  openStream(cmd: Cmd): Promise<CommandStream>;
  /**
   * A stream to a unix socket on the host, which the SSH server itself opens as the login user
   * (OpenSSH's direct-streamlocal channel): no command runs on the host. Rejects with
   * SocketOpenError.
   */
  openSocket(path: string): Promise<Duplex>;
  /**
   * The host's Docker engine API, the one way regbook talks to docker: made at the first call,
   * its first stream opened at the first request, every stream closed with the connection.
   */
  docker(): DockerApi;
  /**
   * The unix socket the host's docker client would use, as the host's facts found it: the engine
   * then opens its streams there (openSocket) instead of starting `docker system dial-stdio`.
   */
  useDockerSocket(path: string): void;
  close(): Promise<void>;
}

export interface CommandStream {
  /** The command's stdin (what is written) and stdout (what is read). */
  stream: Duplex;
  /** Settles when the command has ended: its exit status (null when killed) and its stderr. */
  ended: Promise<{ code: number | null; stderr: string }>;
}

/** Raised when a host cannot be reached or refuses us; the engine reports the host unreachable. */
export class UnreachableError extends Error {
  constructor(
    readonly hostName: string,
    message: string,
    readonly reason: 'connect' | 'hostkey' | 'auth' | 'lost' = 'connect',
  ) {
    super(message);
    this.name = 'UnreachableError';
  }
}

/**
 * Which connection fields the inventory set itself (as opposed to defaults the loader filled in).
 * ~/.ssh/config may fill only the fields the inventory left unset; when this is absent, every
 * HostSpec value counts as set (identityFile only when present).
 */
export interface ExplicitHostFields {
  user?: boolean;
  port?: boolean;
  identityFile?: boolean;
}

/** A HostSpec as transport accepts it: `explicit` is optional, filled by the inventory loader. */
export type ConnectableHost = HostSpec & { explicit?: ExplicitHostFields };

export interface HostKeyAcceptedInfo {
  hostName: string;
  /** The known_hosts name recorded: `host` or `[host]:port`. */
  knownHostsName: string;
  fingerprint: string;
  file: string;
}

export interface ConnectOptions {
  /** Time allowed for TCP connect, handshake and authentication (default 15 s). */
  connectTimeoutMs?: number;
  /** Default ~/.ssh/config; a missing file counts as empty. */
  sshConfigPath?: string;
  /** false: accept-new writes nothing to known_hosts (check mode changes nothing, here either). */
  recordHostKeys?: boolean;
  /** Told when accept-new records a host key it had not seen. */
  onHostKeyAccepted?: (info: HostKeyAcceptedInfo) => void;
  /** Session channels open at once on this connection (default 10, OpenSSH's MaxSessions). */
  maxSessions?: number;
  /** direct-tcpip channels open at once (default 10). */
  maxTcpChannels?: number;
  /** SSH keepalive interval (default 10 s) and unanswered keepalives before the host is lost (3). */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Told before each authentication method is tried (`publickey:<path>`, `agent`), for diagnostics. */
  onAuthAttempt?: (method: string) => void;
  /** ssh2's protocol trace, one line per event (never holds credentials), for --debug output. */
  debug?: (line: string) => void;
}

/**
 * A privileged command on a `become: sudo` host met a sudo that wants a password. exec rejects
 * with this instead of returning sudo's exit code 1, so the message says what to fix.
 */
export class SudoPasswordRequiredError extends Error {
  constructor(
    readonly hostName: string,
    readonly user: string,
  ) {
    super(
      `${hostName}: sudo asked for a password for user ${user}; regbook needs passwordless sudo on ` +
        `become hosts (e.g. "${user} ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/)`,
    );
    this.name = 'SudoPasswordRequiredError';
  }
}

/** A socket stream the host did not open (nothing listens there, or the SSH server forwards no sockets). */
export class SocketOpenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SocketOpenError';
  }
}
