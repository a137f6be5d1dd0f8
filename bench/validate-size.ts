// How long validation takes for the largest input regbook accepts (1 MiB per file): builds a valid
// playbook just under the limit (with a small inventory), and a valid inventory just under it (with
// a small playbook), and times `regbook validate` on each, in process (loadBoth, as the CLI calls
// it) and as a whole command. A figure, not a test; it uses the build (`npm run build` first):
//   node --import tsx bench/validate-size.ts [runs]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = join(ROOT, 'dist/cli/main.js');
if (!existsSync(CLI)) throw new Error('no build: run npm run build first');
type Config = typeof import('../src/config/index.js');
type YamlSource = typeof import('../src/config/yaml-source.js');
const { loadBoth } = (await import(pathToFileURL(join(ROOT, 'dist/config/index.js')).href)) as Config;
const { MAX_INPUT_BYTES } = (await import(
  pathToFileURL(join(ROOT, 'dist/config/yaml-source.js')).href
)) as YamlSource;

const runs = Number(process.argv[2] ?? 5);
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

const worker = (i: number) =>
  `  - name: worker${i}\n    address: 10.${(i >> 8) & 255}.${i & 255}.${(i % 200) + 20}\n    port: ${2200 + (i % 100)}\n`;
const INV_HEAD = 'defaults:\n  user: root\nmaster:\n  name: master\n  address: 10.0.0.10\nworkers:\n';
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

// Wall time on a shared machine grows with its load; CPU time much less so. Both are printed.
console.log(
  `${availableParallelism()} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  for (const c of cases) {
    const pbPath = join(dir, 'site.yaml');
    const invPath = join(dir, 'inventory.yaml');
    writeFileSync(pbPath, c.pb);
    writeFileSync(invPath, c.inv);
    const inProcess: number[] = [];
    const cpu: number[] = [];
    const command: number[] = [];
    for (let r = 0; r < runs; r++) {
      let t0 = performance.now();
      const c0 = process.cpuUsage();
      loadBoth(pbPath, invPath);
      const c1 = process.cpuUsage(c0);
      inProcess.push(performance.now() - t0);
      cpu.push((c1.user + c1.system) / 1000);
      t0 = performance.now();
      execFileSync(process.execPath, [CLI, 'validate', pbPath, '-i', invPath], { stdio: 'ignore' });
      command.push(performance.now() - t0);
    }
    const size = Math.max(statSync(pbPath).size, statSync(invPath).size);
    console.log(
      `${c.name} (${size} bytes, limit ${MAX_INPUT_BYTES}): validation ${median(inProcess).toFixed(0)} ms ` +
        `(min ${Math.min(...inProcess).toFixed(0)}; CPU ${median(cpu).toFixed(0)} ms), ` +
        `\`regbook validate\` ${median(command).toFixed(0)} ms ` +
        `(min ${Math.min(...command).toFixed(0)}); median of ${runs} runs`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
