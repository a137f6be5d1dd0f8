import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as YAML from 'js-yaml';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BUILT = join(ROOT, 'dist/cli/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the regbook CLI as a user would: the built bin when present, else the sources through tsx. */
export function regbook(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const argv = existsSync(BUILT)
    ? [BUILT, ...args]
    : ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args];
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, argv, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A run that does not end is a failure to report, not a test run that hangs until CI gives up.
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL')
        rej(new Error(`regbook ${args.join(' ')} did not end within its time\n${stdout}\n${stderr}`));
      else res({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

export interface TaskEvent {
  type: 'task';
  host: string;
  task: string;
  status: string;
  changes: Array<{ what: string; from?: string; to?: string; why?: string }>;
  message?: string;
  detail?: string;
}

export interface RecapEvent {
  type: 'recap';
  hosts: Record<
    string,
    {
      ok: number;
      changed: number;
      failed: number;
      skipped: number;
      unreachable: number;
      interrupted?: number;
    }
  >;
}

/** Parses `--output json`: every line must be one JSON object, the last one the recap. */
export function parseNdjson(stdout: string): { tasks: TaskEvent[]; recap: RecapEvent; all: unknown[] } {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  const all = lines.map((l) => JSON.parse(l) as { type: string });
  const recap = all[all.length - 1] as RecapEvent;
  if (!recap || recap.type !== 'recap') throw new Error(`the last NDJSON line is not the recap:\n${stdout}`);
  return { tasks: all.filter((e) => e.type === 'task') as TaskEvent[], recap, all };
}

/** The (host, task) pairs reported changed, sorted, for check-versus-apply comparisons. */
export function changedPairs(tasks: TaskEvent[]): string[] {
  return tasks
    .filter((t) => t.status === 'changed')
    .map((t) => `${t.host}/${t.task}`)
    .sort();
}

export function tempDir(prefix = 'regbook-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a YAML document (from a plain object) and returns its path. */
export function writeYaml(dir: string, name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, YAML.dump(doc));
  return path;
}

export type Counts = RecapEvent['hosts'][string];

/** The recap of the text output, as the same numbers the NDJSON recap carries. */
export function parseTextRecap(stdout: string): Record<string, Counts> {
  const lines = stdout.split('\n');
  const at = lines.lastIndexOf('RECAP');
  if (at < 0) throw new Error(`no RECAP in:\n${stdout}`);
  const out: Record<string, Counts> = {};
  for (const line of lines.slice(at + 1).filter((l) => l.trim())) {
    const [host, ...pairs] = line.trim().split(/\s+/);
    const n = (k: string) => Number(pairs.find((p) => p.startsWith(`${k}=`))?.slice(k.length + 1));
    out[host!] = {
      ok: n('ok'),
      changed: n('changed'),
      failed: n('failed'),
      skipped: n('skipped'),
      unreachable: n('unreachable'),
      // Shown only for a host a signal cut short, as in the NDJSON recap.
      ...(pairs.some((p) => p.startsWith('interrupted=')) ? { interrupted: n('interrupted') } : {}),
    };
  }
  return out;
}
