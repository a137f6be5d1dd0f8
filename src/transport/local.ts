// The control node itself as a host: `sh -c <rendered command>`, with `sudo -n` for privileged
// commands on become hosts, the same writeFile script as SSH, and net.connect for openTcp and openSocket.

import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { Duplex, type Readable } from 'node:stream';
import { userInfo } from 'node:os';
import { renderCmd, type Cmd } from '../core/cmd.js';
import type { HostSpec } from '../config/model.js';
import {
  SocketOpenError,
  type CommandStream,
  type Connection,
  type ExecOptions,
  type ExecResult,
  type UploadOptions,
} from './types.js';
import { DockerEngine } from './dockerEngine.js';
import { checkSudoResult, signalError, stdinBytes, writeFileWith } from './common.js';

export class LocalConnection implements Connection {
  /** Open TCP streams: close() destroys them, as the SSH connection does its tunnels. */
  readonly #tunnels = new Set<Duplex>();
  readonly hostName: string;
  readonly #become: boolean;
  readonly #user: string;
  readonly #running = new Map<ChildProcess, (e: Error) => void>();
  #closed = false;
  #docker: DockerEngine | undefined;

  constructor(host: Pick<HostSpec, 'name' | 'become'>) {
    this.hostName = host.name;
    this.#become = host.become === 'sudo';
    this.#user = userInfo().username;
  }

  async exec(c: Cmd, opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.#run(renderCmd(c, { sudo: this.#become }), stdinBytes(c.stdin), opts);
    return checkSudoResult(this.hostName, this.#user, this.#become, c, r);
  }

  async execWithFile(c: Cmd, localPath: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.#run(renderCmd(c, { sudo: this.#become }), createReadStream(localPath), opts);
    return checkSudoResult(this.hostName, this.#user, this.#become, c, r);
  }

  writeFile(path: string, data: Buffer | string, opts: UploadOptions): Promise<void> {
    return writeFileWith((c) => this.exec(c), this.hostName, path, data, opts);
  }

  openTcp(host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const sock = netConnect({ host, port });
      this.#tunnels.add(sock);
      sock.once('close', () => this.#tunnels.delete(sock));
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(sock);
      });
      sock.once('error', reject);
    });
  }

  openSocket(path: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const sock = netConnect({ path });
      this.#tunnels.add(sock);
      sock.once('close', () => this.#tunnels.delete(sock));
      sock.once('connect', () => {
        sock.off('error', failed);
        resolve(sock);
      });
      const failed = (e: Error): void =>
        reject(new SocketOpenError(`${this.hostName}: cannot open ${path}: ${e.message}`, { cause: e }));
      sock.once('error', failed);
    });
  }

  async openStream(c: Cmd): Promise<CommandStream> {
    if (c.stdin !== undefined) throw new Error(`${this.hostName}: a streamed command takes no other stdin`);
    if (this.#closed) throw new Error(`${this.hostName}: connection is closed`);
    const line = renderCmd(c, { sudo: this.#become });
    const child = spawn('sh', ['-c', line], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
    // Kept with the tunnels: close() destroys it, and the command's process group goes with it.
    this.#tunnels.add(stream);
    stream.once('close', () => {
      if (child.exitCode === null && child.signalCode === null) killGroup(child);
    });
    const err: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {});
    const ended = new Promise<{ code: number | null; stderr: string }>((resolve) => {
      child.once('close', (code) => {
        this.#tunnels.delete(stream);
        resolve({ code, stderr: Buffer.concat(err).toString('utf8') });
      });
    });
    return { stream, ended };
  }

  docker(): DockerEngine {
    return (this.#docker ??= new DockerEngine(this));
  }

  useDockerSocket(path: string): void {
    this.docker().useSocket(path);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#docker?.close();
    for (const t of this.#tunnels) t.destroy();
    this.#tunnels.clear();
    for (const [child, fail] of this.#running) {
      fail(new Error(`${this.hostName}: connection closed while a command was running`));
      killGroup(child);
    }
    this.#running.clear();
  }

  #run(line: string, input: Buffer | Readable | undefined, opts: ExecOptions): Promise<ExecResult> {
    if (this.#closed) return Promise.reject(new Error(`${this.hostName}: connection is closed`));
    return new Promise((resolve, reject) => {
      // Its own process group, so a timeout or close() kills the whole pipeline, not only `sh`.
      const child = spawn('sh', ['-c', line], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let settled = false;
      const finish = (f: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#running.delete(child);
        f();
      };
      const fail = (e: Error): void => finish(() => reject(e));
      this.#running.set(child, fail);
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            fail(new Error(`${this.hostName}: command timed out after ${opts.timeoutMs} ms`));
            killGroup(child);
          }, opts.timeoutMs)
        : undefined;
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', fail);
      // A command that exits without reading all its stdin makes our writes fail with EPIPE.
      child.stdin.on('error', () => {});
      child.on('close', (code, signal) => {
        if (code === null) return fail(signalError(this.hostName, 'command', signal));
        finish(() =>
          resolve({
            code,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
          }),
        );
      });
      if (input === undefined) child.stdin.end();
      else if (Buffer.isBuffer(input)) child.stdin.end(input);
      else {
        input.on('error', (e) => {
          fail(e);
          killGroup(child);
        });
        input.pipe(child.stdin);
      }
    });
  }
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
