// What the SSH and local connections share: stdin bytes, sudo failure mapping, writeFile.

import { Secret } from '../core/secret.js';
import type { Cmd } from '../core/cmd.js';
import { SudoPasswordRequiredError, type ExecResult, type UploadOptions } from './types.js';
import { writeFileCmd } from './writeFileScript.js';

/** The bytes for a command's stdin. A Secret is revealed here and nowhere else. */
export function stdinBytes(stdin: Cmd['stdin']): Buffer | undefined {
  if (stdin === undefined) return undefined;
  if (stdin instanceof Secret) return Buffer.from(stdin.reveal(), 'utf8');
  return typeof stdin === 'string' ? Buffer.from(stdin, 'utf8') : stdin;
}

/** `sudo -n` prints one of these (and exits 1) when it would have to ask for a password. */
export function sudoWantsPassword(stderr: string): boolean {
  return /sudo: (a password is required|a terminal is required)/.test(stderr);
}

/** Turns sudo's "a password is required" for a privileged command into a clear error. */
export function checkSudoResult(
  hostName: string,
  user: string,
  become: boolean,
  c: Cmd,
  r: ExecResult,
): ExecResult {
  if (become && c.privileged && r.code === 1 && sudoWantsPassword(r.stderr)) {
    throw new SudoPasswordRequiredError(hostName, user);
  }
  return r;
}

/** Runs the write script (see writeFileScript.ts) through `exec` and turns a failure into an Error. */
export async function writeFileWith(
  exec: (c: Cmd) => Promise<ExecResult>,
  hostName: string,
  path: string,
  data: Buffer | string,
  opts: UploadOptions,
): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const r = await exec(writeFileCmd(path, bytes, opts.mode, opts.privileged ?? false, opts.dirMode));
  if (r.code !== 0) {
    const why = r.stderr.trim() || r.stdout.trim() || `exit status ${r.code}`;
    throw new Error(`${hostName}: writing ${path} failed: ${why}`);
  }
}

export function signalError(hostName: string, what: string, signal: string | null | undefined): Error {
  return signal
    ? new Error(`${hostName}: ${what} was killed by signal ${signal}`)
    : new Error(`${hostName}: ${what} ended without an exit status (connection lost?)`);
}
