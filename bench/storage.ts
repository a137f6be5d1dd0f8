// Push and pull times with the registry's images on the master's disk (registry.storage
// filesystem, one registry) and on S3 (the lab's Ceph radosgw, two replicas behind its haproxy), on
// one 1+N lab. regbook sets up each storage in turn, alternating; each run makes an image of fresh random
// bytes on the master (so every layer is really uploaded and downloaded), times `docker push` there,
// then `docker pull` on every worker at once, and removes the copies. A figure, not a test: it
// prints medians and writes bench/STORAGE.md. Uses the build (`npm run build` first):
//   node --import tsx bench/storage.ts            WORKERS=10 RUNS=5 IMAGE_MB=32 by default
// Its lab is REGBOOK_LAB=benchs3 on ports from 2380 unless REGBOOK_LAB is set; KEEP_LAB=1 keeps it up.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

process.env.REGBOOK_LAB ??= 'benchs3';
process.env.REGBOOK_LAB_PORT ??= '2380';
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = join(ROOT, 'dist/cli/main.js');
if (!existsSync(CLI)) throw new Error('no build: run npm run build first');
const WORKERS = Number(process.env.WORKERS ?? 10);
const RUNS = Number(process.env.RUNS ?? 5);
const IMAGE_MB = Number(process.env.IMAGE_MB ?? 32);

// The lab helpers read REGBOOK_LAB when they load.
const { s3Lab } = await import('../test/helpers/s3-lab.js');
const S = await s3Lab({ workers: WORKERS });
const L = S.lab;
const keys = await S.keys();
const env = { ...process.env, BENCH_S3_ACCESS_KEY: keys.accessKey, BENCH_S3_SECRET_KEY: keys.secretKey };
const dir = mkdtempSync(join(tmpdir(), 'regbook-bench-storage-'));
const prefix = `/bench-${Date.now().toString(36)}`;

function playbook(kind: 'filesystem' | 's3'): string {
  const registry =
    kind === 'filesystem'
      ? { address: 'master:5000' }
      : {
          address: S.lb.address,
          replicas: S.lb.replicas,
          storage: {
            s3: {
              endpoint: S.ceph.endpoint,
              bucket: S.ceph.bucket,
              region: 'us-east-1',
              rootDirectory: prefix,
              accessKey: '${env:BENCH_S3_ACCESS_KEY}',
              secretKey: '${env:BENCH_S3_SECRET_KEY}',
            },
          },
        };
  const path = join(dir, `${kind}.yaml`);
  const doc = { version: 1, registry: { ...registry, imageArchive: `${L.dir}/images/registry-2.tar` } };
  writeFileSync(path, JSON.stringify(doc, null, 2)); // JSON is YAML
  return path;
}

function apply(pb: string): void {
  execFileSync(process.execPath, [CLI, 'apply', pb, '-i', L.inventoryPath, '--forks', '25'], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const seconds = async (f: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;

const kinds = ['filesystem', 's3'] as const;
const results = kinds.map((kind) => ({ kind, push: [] as number[], pull: [] as number[] }));
const loadBefore = loadavg();
try {
  await L.reset();
  const pbs = { filesystem: playbook('filesystem'), s3: playbook('s3') };
  // The two storages take turns, in an order that alternates from round to round, so a change in
  // the machine's load falls on both alike. Each turn converges the cluster to that storage first.
  for (let r = 0; r < RUNS; r++) {
    for (const kind of r % 2 === 0 ? kinds : [...kinds].reverse()) {
      apply(pbs[kind]);
      const address = kind === 'filesystem' ? 'master:5000' : S.lb.address;
      const { push, pull } = results.find((x) => x.kind === kind)!;
      const ref = `${address}/bench/random:${kind}-${r}`;
      await L.shOk(
        'master',
        `d=$(mktemp -d) && head -c ${IMAGE_MB}M /dev/urandom > "$d/blob" && tar -C "$d" -c blob | docker import - ${ref} >/dev/null && rm -rf "$d"`,
      );
      push.push(await seconds(() => L.shOk('master', `docker push -q ${ref} >/dev/null`)));
      pull.push(
        await seconds(() =>
          Promise.all(L.workers.map((w) => L.shOk(w.name, `docker pull -q ${ref} >/dev/null`))),
        ),
      );
      await Promise.all(L.hosts.map((h) => L.shOk(h.name, `docker rmi -f ${ref} >/dev/null 2>&1 || true`)));
      console.log(
        `${kind} run ${r + 1}: push ${push.at(-1)!.toFixed(2)} s, pull on ${L.workers.length} ${pull.at(-1)!.toFixed(2)} s`,
      );
    }
  }
} finally {
  if (process.env.KEEP_LAB !== '1') execFileSync('bash', [join(ROOT, 'lab', 'down.sh')], { stdio: 'ignore' });
}

const rows = results.map(
  (r) =>
    `| ${r.kind === 's3' ? `S3 (Ceph radosgw), ${S.lb.replicas.length} replicas behind haproxy` : 'filesystem, one registry on the master'} ` +
    `| ${median(r.push).toFixed(2)} s (${range(r.push)}) | ${median(r.pull).toFixed(2)} s (${range(r.pull)}) |`,
);
const fs = results.find((r) => r.kind === 'filesystem')!;
const s3 = results.find((r) => r.kind === 's3')!;
const report = [
  '# Registry storage: filesystem against S3',
  '',
  `Written by \`node --import tsx bench/storage.ts\` on ${new Date().toISOString()}: 1+${L.workers.length} lab, ` +
    `${RUNS} runs of each, an image of one ${IMAGE_MB} MiB layer of random bytes per run (nothing to reuse). ` +
    `Push: \`docker push\` on the master. Pull: \`docker pull\` on every worker at once, until the last ends. ` +
    `${availableParallelism()} CPUs, load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} at the start; ` +
    'the lab\u2019s hosts, Ceph and haproxy share them.',
  '',
  '| storage | push, median (min–max) | pull on every worker, median (min–max) |',
  '| ------- | ---------------------- | -------------------------------------- |',
  ...rows,
  '',
  `S3 against filesystem: push ${(median(s3.push) / median(fs.push)).toFixed(2)}x, pull ${(median(s3.pull) / median(fs.pull)).toFixed(2)}x.`,
  '',
];
writeFileSync(join(ROOT, 'bench', 'STORAGE.md'), report.join('\n'));
// The repository's lint runs prettier --check on every file.
execFileSync('npx', ['prettier', '--write', join(ROOT, 'bench', 'STORAGE.md')], { stdio: 'ignore' });
console.log(report.join('\n'));
