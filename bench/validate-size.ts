// How long validation takes for the largest input regbook accepts (1 MiB per file): builds a valid
// playbook just under the limit (with a small inventory), and a valid inventory just under it (with
// a small playbook), and times each two ways, every run in a fresh process (what a user waits for
// is a cold start: nothing compiled, nothing cached):
//   - validation: loadBoth as `validate` calls it, timed inside that process;
//   - the command: `node dist/cli/main.js validate FILE -i INV` from spawn to exit, so node's own
//     start-up and the loading of the CLI's modules count too.
// It prints wall and CPU time, medians of the runs. A figure, not a test; it uses the build
// (`npm run build` first):
//   node --import tsx bench/validate-size.ts [runs]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = join(ROOT, 'dist/cli/main.js');
const CONFIG = pathToFileURL(join(ROOT, 'dist/config/index.js')).href;
if (!existsSync(CLI)) throw new Error('no build: run npm run build first');
type YamlSource = typeof import('../src/config/yaml-source.js');
const { MAX_INPUT_BYTES } = (await import(
  pathToFileURL(join(ROOT, 'dist/config/yaml-source.js')).href
)) as YamlSource;

const runs = Number(process.argv[2] ?? 7);
const dir = mkdtempSync(join(tmpdir(), 'regbook-validate-size-'));

/** `head`, then `entry(i)` for i = 0, 1, … while the text stays under the limit. */
function fill(head: string, entry: (i: number) => string): { text: string; count: number } {
  const parts = [head];
  let bytes = Buffer.byteLength(head);
  for (let i = 0; ; i++) {
    const next = entry(i);
    const size = Buffer.byteLength(next);
    if (bytes + size > MAX_INPUT_BYTES - 64) return { text: parts.join(''), count: i };
    parts.push(next);
    bytes += size;
  }
}

// validate checks the local files a run reads: strict host key checking needs a known_hosts file.
const knownHosts = join(dir, 'known_hosts');
writeFileSync(knownHosts, '');
const worker = (i: number) =>
  `  - name: worker${i}\n    address: 10.${(i >> 8) & 255}.${i & 255}.${(i % 200) + 20}\n    port: ${2200 + (i % 100)}\n`;
const INV_HEAD = `defaults:\n  user: root\n  knownHosts: ${knownHosts}\nmaster:\n  name: master\n  address: 10.0.0.10\nworkers:\n`;
const PB_HEAD =
  'version: 1\nregistry:\n  address: master:5000\ntls:\n  subjectAltNames: [DNS:master]\ntrust:\n  hosts: all\nimages:\n';
const image = (i: number) =>
  `  - name: team${i % 50}/app${i}:1.${i % 10}\n    source: {pull: docker.io/library/app${i}:1.0}\n    pullOn: all\n`;

const smallInventory = INV_HEAD + [0, 1, 2].map(worker).join('');
const smallPlaybook = PB_HEAD + [0, 1].map(image).join('');
const bigPlaybook = fill(PB_HEAD, image);
const bigInventory = fill(INV_HEAD, worker);

const cases = [
  { name: `playbook of ${bigPlaybook.count} images`, pb: bigPlaybook.text, inv: smallInventory },
  { name: `inventory of ${bigInventory.count} workers`, pb: smallPlaybook, inv: bigInventory.text },
];

/** One timed call of loadBoth in a fresh node process: its wall and CPU time in ms. */
const IN_PROCESS = `
const { loadBoth } = await import(${JSON.stringify(CONFIG)});
const [pb, inv] = process.argv.slice(-2);
const t0 = performance.now();
const c0 = process.cpuUsage();
loadBoth(pb, inv, { localFiles: true });
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 }));
`;

/** CPU time (ms) of this process's children that have been waited for (Linux only; NaN elsewhere). */
function childrenCpu(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name in parentheses; cutime and cstime are fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** The whole command, spawn to exit: wall time, and its CPU time (ms). */
function command(pbPath: string, invPath: string): { wall: number; cpu: number } {
  const c0 = childrenCpu();
  const t0 = performance.now();
  execFileSync(process.execPath, [CLI, 'validate', pbPath, '-i', invPath], { stdio: 'ignore' });
  return { wall: performance.now() - t0, cpu: childrenCpu() - c0 };
}

function validation(pbPath: string, invPath: string): { wall: number; cpu: number } {
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', IN_PROCESS, '--', pbPath, invPath],
    { encoding: 'utf8' },
  );
  return JSON.parse(out) as { wall: number; cpu: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (xs: number[]) => `${median(xs).toFixed(0)} ms`;
const figures = (label: string, samples: { wall: number; cpu: number }[]) =>
  `  ${label}: wall ${ms(samples.map((s) => s.wall))} ` +
  `(${Math.min(...samples.map((s) => s.wall)).toFixed(0)}–${Math.max(...samples.map((s) => s.wall)).toFixed(0)}), ` +
  `CPU ${ms(samples.map((s) => s.cpu))}`;

// Wall time on a shared machine grows with its load; CPU time much less so. Both are printed.
console.log(
  `${availableParallelism()} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; medians of ${runs} runs, each in a fresh process`,
);
try {
  for (const c of cases) {
    const pbPath = join(dir, 'site.yaml');
    const invPath = join(dir, 'inventory.yaml');
    writeFileSync(pbPath, c.pb);
    writeFileSync(invPath, c.inv);
    // Fails loudly (and the figures mean nothing) if the generated files stopped being valid.
    execFileSync(process.execPath, [CLI, 'validate', pbPath, '-i', invPath], { stdio: 'pipe' });
    const inProcess: { wall: number; cpu: number }[] = [];
    const whole: { wall: number; cpu: number }[] = [];
    // The two kinds take turns, so a change in the machine's load falls on both alike.
    for (let r = 0; r < runs; r++) {
      inProcess.push(validation(pbPath, invPath));
      whole.push(command(pbPath, invPath));
    }
    const size = Math.max(statSync(pbPath).size, statSync(invPath).size);
    console.log(`${c.name} (${size} bytes, limit ${MAX_INPUT_BYTES}):`);
    console.log(figures('validation (loadBoth, in process)', inProcess));
    console.log(figures('`regbook validate` (whole process)', whole));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
