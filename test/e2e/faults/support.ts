// Shared pieces of the fault and hostile-input tests: the CLI from the sources, a CLI run that can be
// interrupted, and views of the hosts read with docker exec (never through regbook).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Lab } from '../../helpers/lab.js';
import { ROOT, type CliResult } from '../../helpers/cli.js';
import { textWaiter } from '../../helpers/text-waiter.js';

/** The entry point: the sources through tsx, so the tests exercise the code as it is now. */
const MAIN = process.env.REGBOOK_FAULTS_MAIN ?? join(ROOT, 'src/cli/main.ts');

export interface Running {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** Resolves when stdout or stderr has shown text matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  output(): string;
}

export function start(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    shown.check();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    shown.check();
  });
  const done = new Promise<CliResult>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code: code ?? (signal ? -1 : -2), stdout, stderr }));
  });
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  const shown = textWaiter(() => [stdout, stderr], done, output);
  return {
    child,
    done,
    output,
    waitFor: (re, timeoutMs = 120_000) => shown.waitFor(re, timeoutMs),
  };
}

export function rb(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return start(args, env).done;
}

/** regbook's temporary files anywhere on the host's root file system (the write script's names). */
export async function tempFiles(lab: Lab, host: string): Promise<string[]> {
  const out = await lab.shOk(host, "find / -xdev -name '.*.regbook.*' 2>/dev/null || true");
  return out.split('\n').filter(Boolean);
}

export async function tempFilesEverywhere(lab: Lab): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const h of lab.hosts) {
    const t = await tempFiles(lab, h.name);
    if (t.length) out[h.name] = t;
  }
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
