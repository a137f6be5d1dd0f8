import type { Secret } from './secret.js';

/**
 * A remote command as data: an argv array, never a shell string. It is rendered to a shell line
 * only at the transport's edge (`renderCmd`), where every word is POSIX single-quoted, so no value
 * from a playbook can be interpreted by a shell. Secrets may travel only on stdin, never in argv.
 */
export interface Cmd {
  argv: readonly string[];
  /** Bytes for the process's stdin; a Secret is revealed only when it is written there. */
  stdin?: string | Buffer | Secret;
  /** Needs root: wrapped in `sudo -n` on hosts with `become: sudo`. */
  privileged?: boolean;
  /** Extra environment for the process, set with `env NAME=value` inside the quoted command. */
  env?: Readonly<Record<string, string>>;
}

export function cmd(...argv: string[]): Cmd {
  return { argv };
}

/** POSIX shell single-quoting: the one escaping that is correct for every byte string. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The shell line a transport hands to `sh -c` (or to sshd). */
export function renderCmd(c: Cmd, opts: { sudo?: boolean } = {}): string {
  const envWords = c.env ? ['env', ...Object.entries(c.env).map(([k, v]) => `${k}=${v}`)] : [];
  const words = [...envWords, ...c.argv];
  const prefix = opts.sudo && c.privileged ? ['sudo', '-n', '--'] : [];
  return [...prefix, ...words].map(shellQuote).join(' ');
}

/** A line for humans and logs: like renderCmd, but stdin is never shown. */
export function displayCmd(c: Cmd): string {
  return renderCmd(c) + (c.stdin !== undefined ? ' <<stdin' : '');
}
