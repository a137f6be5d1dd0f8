import { randomBytes } from 'node:crypto';
import { renderCmd, type Cmd } from '../core/cmd.js';
import { declareShellScriptBuilder } from '../core/shell-script.js';
import type { Connection, ExecResult } from '../transport/types.js';

/**
 * Runs several probes in one round trip: each command's stdout and exit code come back separated
 * by a marker with a fresh nonce, which no command's output can forge. Meant for read-only
 * probes (no stdin); stderr is shared and returned whole with each result.
 */
export async function execBatch(conn: Connection, cmds: readonly Cmd[]): Promise<ExecResult[]> {
  if (cmds.length === 1) return [await conn.exec(cmds[0]!)];
  const nonce = randomBytes(12).toString('hex');
  const r = await conn.exec({
    argv: ['sh', '-c', batchScript(cmds, nonce)],
    privileged: cmds.some((c) => c.privileged),
  });
  return splitBatch(r, nonce, cmds.length);
}

// Each command is rendered as quoted words (renderCmd), so only the separators are shell here.
function batchScript(cmds: readonly Cmd[], nonce: string): string {
  return cmds.map((c) => `${renderCmd(c)}; printf '\\n@@%s %s@@\\n' ${nonce} "$?"`).join('\n');
}
declareShellScriptBuilder('facts/batch: probes in one round trip', batchScript, () => [
  [
    [
      { argv: ['printf', '%s\\n', "it's $HOME"], privileged: true },
      { argv: ['true'], env: { LC_ALL: 'C' } },
    ],
    randomBytes(12).toString('hex'),
  ],
]);

export function splitBatch(r: ExecResult, nonce: string, count: number): ExecResult[] {
  const marker = new RegExp(`\\n@@${nonce} (\\d+)@@\\n`, 'g');
  const out: ExecResult[] = [];
  let from = 0;
  for (const m of r.stdout.matchAll(marker)) {
    out.push({ code: Number(m[1]), stdout: r.stdout.slice(from, m.index), stderr: r.stderr });
    from = m.index + m[0].length;
  }
  if (out.length !== count) {
    throw new Error(
      `a batch of ${count} probes returned ${out.length} results (exit ${r.code}): ${r.stderr.trim()}`,
    );
  }
  return out;
}
