import type { Duplex } from 'node:stream';
import type { Cmd } from '../core/cmd.js';

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
  close(): Promise<void>;
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
