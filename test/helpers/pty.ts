// The built CLI in a real pseudo-terminal (util-linux `script`), as an operator runs it: the live
// tree, keys sent to the terminal (Ctrl-C is \x03, turned into SIGINT by the terminal itself), and
// the screen as a terminal would show it once the escape sequences are applied.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { ROOT } from './cli.js';
import { textWaiter } from './text-waiter.js';

const BUILT = join(ROOT, 'dist/cli/main.js');

export interface PtyResult {
  code: number;
  /** Everything written to the terminal, escape sequences included. */
  raw: string;
  /** The terminal's text once every cursor movement and erase is applied, colours dropped. */
  screen: string;
}

export interface PtyRun {
  /** The CLI's own pid (the shell that `script` starts execs it). */
  pid: Promise<number>;
  /** Typed at the terminal, e.g. '\x03' for Ctrl-C. */
  send(keys: string): void;
  /** Resolves when the screen shows text matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  screen(): string;
  done: Promise<PtyResult>;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `regbook ARGS` in a pty of the given size; killed (and failed) after `timeoutMs`. */
export function regbookInPty(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cols?: number; rows?: number; timeoutMs?: number } = {},
): PtyRun {
  const inner =
    `stty cols ${opts.cols ?? 120} rows ${opts.rows ?? 200}; echo "@@pid=$$@@"; ` +
    `exec ${shq(process.execPath)} ${shq(BUILT)} ${args.map(shq).join(' ')}`;
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...opts.env };
  delete env.NO_COLOR;
  delete env.CI;
  if (opts.env?.NO_COLOR !== undefined) env.NO_COLOR = opts.env.NO_COLOR;
  // stdin is a pipe this test holds open: `script` forwards what is written to it to the terminal.
  const child = spawn('script', ['-q', '-f', '-e', '-c', inner, '/dev/null'], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  let resolvePid!: (n: number) => void;
  const pid = new Promise<number>((r) => (resolvePid = r));
  const check = () => {
    const m = /@@pid=(\d+)@@/.exec(raw);
    if (m) resolvePid(Number(m[1]));
    shown.check();
  };
  // A character split between two reads is decoded whole.
  const utf8 = new StringDecoder('utf8');
  child.stdout.on('data', (d: Buffer) => {
    raw += utf8.write(d);
    check();
  });
  child.stderr.on('data', (d: Buffer) => (raw += d.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
  const done = new Promise<PtyResult>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      child.stdin.destroy();
      if (signal === 'SIGKILL')
        rej(new Error(`regbook ${args.join(' ')} did not end within its bound\n${renderScreen(raw)}`));
      else res({ code: code ?? -1, raw, screen: renderScreen(raw) });
    });
  });
  const shown = textWaiter(
    () => [renderScreen(raw)],
    done,
    () => `the screen:\n${renderScreen(raw)}`,
  );
  return {
    pid,
    send: (keys) => void child.stdin.write(keys),
    screen: () => renderScreen(raw),
    waitFor: (re, timeoutMs = 120_000) => shown.waitFor(re, timeoutMs),
    done,
  };
}

/**
 * A terminal's screen from its output: text at the cursor, CR, LF, and the CSI sequences a
 * log-update style renderer uses (cursor up/down/column/position, erase line, erase below).
 * Colours and modes are dropped. The screen has no height limit, so nothing scrolls away.
 */
export function renderScreen(raw: string): string {
  const lines: string[][] = [[]];
  let r = 0;
  let c = 0;
  const row = () => (lines[r] ??= []);
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\u001b') {
      if (raw[i + 1] === '[') {
        let j = i + 2;
        while (j < raw.length && !/[@-~]/.test(raw[j]!)) j++;
        const params = raw.slice(i + 2, j);
        const n = Number(params.replace(/^\?/, '').split(';')[0]) || 0;
        switch (raw[j]) {
          case 'A':
            r = Math.max(0, r - (n || 1));
            break;
          case 'B':
            r += n || 1;
            break;
          case 'G':
            c = Math.max(0, (n || 1) - 1);
            break;
          case 'H': {
            const [y, x] = params.split(';').map((v) => Number(v) || 1);
            r = (y ?? 1) - 1;
            c = (x ?? 1) - 1;
            break;
          }
          case 'K':
            if (n === 2) lines[r] = [];
            else if (n === 1) lines[r] = row().map((x, k) => (k <= c ? ' ' : x));
            else lines[r] = row().slice(0, c);
            break;
          case 'J':
            if (n === 2) lines.splice(0, lines.length, []);
            else {
              lines[r] = row().slice(0, c);
              lines.splice(r + 1);
            }
            break;
          default:
            break;
        }
        i = j;
      } else if (raw[i + 1] === ']') {
        // OSC: up to BEL or ST.
        const bel = raw.indexOf('\u0007', i);
        const st = raw.indexOf('\u001b\\', i + 1);
        const ends = [bel, st].filter((x) => x >= 0);
        i = ends.length ? Math.min(...ends) : raw.length;
      } else i++;
      continue;
    }
    if (ch === '\r') c = 0;
    else if (ch === '\n') {
      r++;
      row();
    } else {
      const l = row();
      while (l.length < c) l.push(' ');
      l[c++] = ch;
    }
  }
  return lines
    .map((l) => l.join('').trimEnd())
    .join('\n')
    .replace(/\n+$/, '\n');
}

/** The screen with its varying parts made constant: durations, pids, temporary directories. */
export function normaliseScreen(screen: string): string {
  return screen
    .replace(/@@pid=\d+@@\n?/g, '')
    .replace(/\/tmp\/[\w.-]+\//g, 'TMP/')
    .replace(/\b\d+m\d\ds\b/g, 'Ns')
    .replace(/\b\d+(\.\d+)?s\b/g, 'Ns')
    .replace(/sha256:[0-9a-f]{8,64}/g, 'sha256:…');
}
