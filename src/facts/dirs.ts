import type { Cmd } from '../core/cmd.js';
import { declareShellScript } from '../core/shell-script.js';
import type { Change, Step } from '../core/task.js';
import type { Connection } from '../transport/types.js';

/** A directory's permission bits (octal, as `stat` prints them) and owner uid/gid. */
export interface RemoteDir {
  mode: string;
  uid: number;
  gid: number;
}

/** The master's directories that hold keys, password hashes and image data: root's alone. */
export const PRIVATE_DIR_MODE = 0o700;

// Paths are positional arguments ("$@"), never spliced into the script. `-h`: a symlink reports
// its own mode, not its target's, and is then not a directory for this check.
const READ_SCRIPT =
  'for d in "$@"; do if [ -d "$d" ] && [ ! -L "$d" ]; then stat -c "D %a %u %g" -- "$d"; ' +
  'elif [ -e "$d" ] || [ -L "$d" ]; then echo X; else echo M; fi; done';
declareShellScript('facts/dirs: read directories', READ_SCRIPT);

// $1 the mode, $2 the directory.
const MAKE_PRIVATE = 'chown root:root -- "$2" && chmod "$1" -- "$2"';
declareShellScript('facts/dirs: make a directory root:root with a mode', MAKE_PRIVATE);

export function readDirsCmd(paths: readonly string[]): Cmd {
  return { argv: ['sh', '-c', READ_SCRIPT, 'sh', ...paths], privileged: true };
}

/** path → the directory, undefined when missing; a path that exists but is no directory throws. */
export function parseReadDirs(paths: readonly string[], stdout: string): Map<string, RemoteDir | undefined> {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  if (lines.length !== paths.length)
    throw new Error(`expected ${paths.length} directory reports, got ${lines.length}`);
  const out = new Map<string, RemoteDir | undefined>();
  paths.forEach((p, i) => {
    const [kind, mode, uid, gid] = lines[i]!.split(' ');
    if (kind === 'X') throw new Error(`${p} exists but is not a directory`);
    out.set(p, kind === 'D' ? { mode: mode!, uid: Number(uid), gid: Number(gid) } : undefined);
  });
  return out;
}

export async function readDirs(
  conn: Connection,
  paths: readonly string[],
): Promise<Map<string, RemoteDir | undefined>> {
  const r = await conn.exec(readDirsCmd(paths));
  if (r.code !== 0) throw new Error(`reading ${paths.join(', ')} failed: ${r.stderr.trim()}`);
  return parseReadDirs(paths, r.stdout);
}

function describe(d: RemoteDir): string {
  return `${d.mode} ${d.uid === 0 ? 'root' : `uid ${d.uid}`}${d.gid === 0 ? '' : ` gid ${d.gid}`}`;
}

/**
 * Existing directories that are not root:root 0700: each becomes one change and one step that
 * makes it so. A missing directory is left to the write that makes it (with that mode).
 */
export function privateDirFixes(dirs: ReadonlyMap<string, RemoteDir | undefined>): {
  changes: Change[];
  steps: Step[];
} {
  const want = PRIVATE_DIR_MODE.toString(8);
  const changes: Change[] = [];
  const steps: Step[] = [];
  for (const [path, d] of dirs) {
    if (!d || (d.mode === want && d.uid === 0 && d.gid === 0)) continue;
    changes.push({ what: `${path} (directory)`, from: describe(d), to: `${want} root` });
    steps.push({
      kind: 'exec',
      describe: `chown root:root and chmod ${want} ${path}`,
      cmd: {
        argv: ['sh', '-c', MAKE_PRIVATE, 'sh', want, path],
        privileged: true,
      },
    });
  }
  return { changes, steps };
}
