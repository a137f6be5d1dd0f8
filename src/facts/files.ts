import { createHash } from 'node:crypto';
import type { Cmd } from '../core/cmd.js';
import { declareShellScript } from '../core/shell-script.js';
import type { Connection } from '../transport/types.js';

export interface RemoteFile {
  /** Octal permission bits as `stat` prints them, e.g. "600". */
  mode: string;
  content: Buffer;
}

// Paths travel as positional arguments ("$@"), never spliced into the script, so any byte in a
// path is data to the shell. One round trip reads every file a task needs.
const READ_SCRIPT =
  'for f in "$@"; do if [ -f "$f" ]; then printf "F %s %s\\n" "$(stat -c %a "$f")" "$(base64 -w0 < "$f")"; ' +
  'else printf "M\\n"; fi; done';
declareShellScript('facts/files: read files', READ_SCRIPT);

export function readFilesCmd(paths: readonly string[]): Cmd {
  return { argv: ['sh', '-c', READ_SCRIPT, 'sh', ...paths], privileged: true };
}

export function parseReadFiles(
  paths: readonly string[],
  stdout: string,
): Map<string, RemoteFile | undefined> {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  if (lines.length !== paths.length)
    throw new Error(`expected ${paths.length} file reports, got ${lines.length}`);
  const out = new Map<string, RemoteFile | undefined>();
  paths.forEach((p, i) => {
    const [kind, mode, b64] = lines[i]!.split(' ');
    out.set(p, kind === 'F' ? { mode: mode ?? '', content: Buffer.from(b64 ?? '', 'base64') } : undefined);
  });
  return out;
}

/** Reads the given files (as root) in one command; absent files map to undefined. */
export async function readFiles(
  conn: Connection,
  paths: readonly string[],
): Promise<Map<string, RemoteFile | undefined>> {
  if (paths.length === 0) return new Map();
  const r = await conn.exec(readFilesCmd(paths));
  if (r.code !== 0) throw new Error(`reading ${paths.join(', ')} failed: ${r.stderr.trim()}`);
  return parseReadFiles(paths, r.stdout);
}

// One size per path, 0 for a file that is not there: a blob already gone frees nothing.
const SIZES_SCRIPT = 'for f in "$@"; do if [ -f "$f" ]; then stat -c %s "$f"; else echo 0; fi; done';
declareShellScript('facts/files: file sizes', SIZES_SCRIPT);

export function fileSizesCmd(paths: readonly string[]): Cmd {
  return { argv: ['sh', '-c', SIZES_SCRIPT, 'sh', ...paths], privileged: true };
}

/** The total of fileSizesCmd's sizes. */
export function totalSize(stdout: string): number {
  return stdout
    .split('\n')
    .filter(Boolean)
    .reduce((sum, n) => sum + Number(n), 0);
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
