// The remote side of Connection.writeFile, as a command: one POSIX sh script that reads the bytes
// from stdin.
//
// Why a script and not SFTP: an SFTP upload that is cut off leaves its temporary file behind (no
// one is left on the server to remove it) and SFTP cannot write as root through `sudo -n` on a
// `become` host. A script run by the server's own shell can: it writes to a mktemp file in the
// target directory, removes it from an EXIT trap on every path out, accepts the bytes only if
// both their count and their SHA-256 equal what was sent, and only then renames over the target.
// A connection lost mid-transfer closes the script's stdin early, the count check fails, the trap
// removes the temporary file, and the old file is untouched. The same script runs locally.

import { createHash } from 'node:crypto';
import type { Cmd } from '../core/cmd.js';
import { declareShellScript } from '../core/shell-script.js';

// Positional parameters, never interpolated text: the path, the byte count, the hex SHA-256, the
// octal mode and (optionally) the parent directory's mode reach the script as "$1".."$5", and
// renderCmd single-quotes each of them. Making the directory here saves a round trip per file.
const SCRIPT = `set -eu
target=$1 size=$2 sum=$3 mode=$4 dirmode=\${5:-}
case $target in */*) dir=\${target%/*} ;; *) dir=. ;; esac
dir=\${dir:-/} name=\${target##*/}
# shellcheck disable=SC2174 # the mode is for the file's own directory; its parents keep the defaults
if [ -n "$dirmode" ]; then mkdir -p -m "$dirmode" -- "$dir"; fi
tmp=$(mktemp -- "$dir/.$name.regbook.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM
head -c "$size" > "$tmp"
got=$(($(wc -c < "$tmp")))
if [ "$got" != "$size" ]; then
  echo "regbook: short write to $target: received $got of $size bytes" >&2
  exit 1
fi
got=$(sha256sum < "$tmp")
if [ "\${got%% *}" != "$sum" ]; then
  echo "regbook: checksum mismatch writing $target" >&2
  exit 1
fi
chmod "$mode" "$tmp"
mv -f -- "$tmp" "$target"
trap - EXIT
`;
declareShellScript('transport/writeFileScript: write a file', SCRIPT);

/**
 * The command that writes `data` to `path` (data goes on the command's stdin). With `dirMode`, a
 * missing parent directory is made first (as `mkdir -p -m`: the mode applies to the last one).
 */
export function writeFileCmd(
  path: string,
  data: Buffer,
  mode: number,
  privileged: boolean,
  dirMode?: number,
): Cmd {
  const sum = createHash('sha256').update(data).digest('hex');
  const octal = (m: number) => m.toString(8).padStart(4, '0');
  return {
    argv: [
      'sh',
      '-c',
      SCRIPT,
      'regbook-write',
      path,
      String(data.length),
      sum,
      octal(mode),
      ...(dirMode === undefined ? [] : [octal(dirMode)]),
    ],
    stdin: data,
    privileged,
  };
}

/** The temporary-file prefix the script uses next to `name`, for tests and clean-up checks. */
export function tempFilePrefix(name: string): string {
  return `.${name}.regbook.`;
}
