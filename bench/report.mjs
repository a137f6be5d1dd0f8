// Turns bench/run.sh's raw figures (size, phase, tool, run, wall ms, peak RSS kB, and when present
// CPU ms, sshd logins, connections never logged in, unreachable hosts; tab-separated) into
// bench/RESULTS.md: the machine, the table, regbook/Ansible ratios, the cost per added host, the
// issues' targets, and (CHART_FILE set) an SVG chart of time against hosts.
// Usage: node bench/report.mjs results.tsv "LOAD_AT_START" "LOAD_AT_END" FORKS [cpu-floor.txt]
//          [cpu-start cpu-end]   (the first line of /proc/stat at the start and at the end)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { scalingChart } from './chart.mjs';
import { cpus, totalmem } from 'node:os';
import process from 'node:process';
import { URL } from 'node:url';

const [file, loadStart, loadEnd, forks, floorFile, cpuStartFile, cpuEndFile] = process.argv.slice(2);
const ansibleForks =
  process.env.ANSIBLE_FORKS ??
  readFileSync(new URL('ansible/ansible.cfg', import.meta.url), 'utf8').match(/^forks\s*=\s*(\d+)/m)?.[1] ??
  '?';
// Columns 7-10 are absent in figures from before they were recorded: undefined, never 0.
const num = (x) => (x === undefined || x === '' ? undefined : +x);
const rows = readFileSync(file, 'utf8')
  .trim()
  .split('\n')
  .map((l) => l.split('\t'))
  .map(([size, phase, tool, run, ms, rss, cpu, logins, refused, unreachable]) => ({
    size: +size,
    phase,
    tool,
    run: +run,
    ms: +ms,
    rss: +rss,
    cpu: num(cpu),
    logins: num(logins),
    refused: num(refused),
    unreachable: num(unreachable),
  }));

const pick = (size, phase, tool) =>
  rows.filter((r) => r.size === size && r.phase === phase && r.tool === tool);
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function stats(size, phase, tool) {
  const ms = pick(size, phase, tool).map((r) => r.ms);
  if (ms.length === 0) return undefined;
  return { median: median(ms), min: Math.min(...ms), max: Math.max(...ms), n: ms.length };
}
const secs = (ms) => (ms / 1000).toFixed(2);
const cell = (s) => (s ? `${secs(s.median)} s (${secs(s.min)}–${secs(s.max)}, n=${s.n})` : '—');
const ratio = (a, b) => (a && b ? a.median / b.median : undefined);
const fmtRatio = (r) => (r === undefined ? '—' : `${r.toFixed(3)} (1/${(1 / r).toFixed(1)})`);
const peakRss = (size, tool = 'regbook') =>
  Math.max(
    0,
    ...rows.filter((r) => r.size === size && r.tool === tool && r.phase !== 'version').map((r) => r.rss),
  );

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const sizes = [...new Set(rows.filter((r) => r.size > 0).map((r) => r.size))].sort((a, b) => a - b);
const out = [];
out.push('# regbook vs Ansible: benchmark results', '');
out.push(`Written by \`npm run bench\` (bench/run.sh) on ${new Date().toISOString()}.`, '');
out.push('## Machine', '');
out.push(`- CPU: ${cpus()[0]?.model ?? 'unknown'}, nproc ${sh('nproc', [])}`);
out.push(`- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
out.push(`- load average (1/5/15 min): ${loadStart} at the start, ${loadEnd} at the end`);
// /proc/stat's cpu line: user nice system idle iowait irq softirq steal ...; steal is the time
// the hypervisor gave this VM's CPUs to someone else.
const cpuLine = (f) => readFileSync(f, 'utf8').trim().split(/\s+/).slice(1).map(Number);
if (cpuStartFile && cpuEndFile) {
  const [a, b] = [cpuLine(cpuStartFile), cpuLine(cpuEndFile)];
  const total = b.reduce((x, y) => x + y, 0) - a.reduce((x, y) => x + y, 0);
  const steal = (b[7] ?? 0) - (a[7] ?? 0);
  if (total > 0)
    out.push(
      `- CPU time taken by the hypervisor (steal) during the benchmark: ${((100 * steal) / total).toFixed(1)} %`,
    );
}
if (process.env.NODE_EXTRA_CA_CERTS)
  out.push(
    `- \`NODE_EXTRA_CA_CERTS\` is set (${process.env.NODE_EXTRA_CA_CERTS}): every node start parses that file`,
  );
out.push(
  `- node ${process.version}; ${sh('ansible', ['--version']).split('\n')[0]}; ${sh('docker', ['--version'])}`,
);
const largestHosts = Math.max(0, ...sizes) + 1;
out.push(
  `- hosts worked on at once: regbook \`--forks ${forks}\`, Ansible \`forks = ${ansibleForks}\` ` +
    '(bench/ansible/ansible.cfg, or `ANSIBLE_FORKS`); ' +
    (+forks >= largestHosts && +ansibleForks >= largestHosts
      ? `both at least the largest host count (${largestHosts}), so every task runs on all hosts in one wave`
      : `the largest lab has ${largestHosts} hosts, so a task runs in waves`),
  '',
);
out.push('## Wall time: median (min–max, runs)', '');
out.push('| cluster | figure | regbook | Ansible | regbook / Ansible |', '| --- | --- | --- | --- | --- |');
const phases = [
  ['first', 'first apply on fresh hosts'],
  ['nochange', 'no-change apply'],
  ['check', '`--check` on a converged cluster'],
];
for (const size of sizes) {
  for (const [phase, label] of phases) {
    const r = stats(size, phase, 'regbook');
    const a = stats(size, phase, 'ansible');
    out.push(`| 1+${size} | ${label} | ${cell(r)} | ${cell(a)} | ${fmtRatio(ratio(r, a))} |`);
    // regbook's default trust settings (no OS store, no restart) beside Ansible's seed-parity job.
    const d = phase === 'first' ? stats(size, 'first-default', 'regbook') : undefined;
    if (d)
      out.push(
        `| 1+${size} | first apply, regbook's default trust | ${cell(d)} | ${cell(a)} | ${fmtRatio(ratio(d, a))} |`,
      );
  }
}
out.push('');
out.push(
  'First applies use bench/playbooks/parity.yaml for both tools (the CA in the OS store, docker restarted where ' +
    "it changed, as the runbook does) unless the row says regbook's default trust (bench/playbooks/defaults.yaml: " +
    'docker reads certs.d at each pull, no daemon restarts).',
);
out.push('');
for (const size of sizes)
  out.push(`regbook peak RSS at 1+${size}: ${(peakRss(size) / 1024).toFixed(0)} MB (max over all its runs).`);
const version = stats(0, 'version', 'regbook');
const spread = (s) => `${s.median} ms (${s.min}–${s.max}, n=${s.n})`;
if (version) out.push(`\`regbook --version\`: ${spread(version)}.`);
const clean = stats(0, 'version-clean', 'regbook');
if (clean) out.push(`\`regbook --version\` without \`NODE_EXTRA_CA_CERTS\`: ${spread(clean)}.`);
const nodeStart = stats(0, 'node', 'node');
if (nodeStart) out.push(`\`node -e 0\` (node's own start, for scale): ${spread(nodeStart)}.`);
out.push('');

const big = sizes.includes(10) ? 10 : sizes.at(-1);
const small = sizes.includes(3) ? 3 : sizes[0];
const nc = stats(big, 'nochange', 'regbook');
const first = ratio(stats(big, 'first', 'regbook'), stats(big, 'first', 'ansible'));
const noch = ratio(nc, stats(big, 'nochange', 'ansible'));
const chk = ratio(stats(big, 'check', 'regbook'), nc);
const sequentialScale = ratio(nc, stats(small, 'nochange', 'regbook'));
// The pairs (both labs up at once, the sizes alternating) are the scaling figure when run.sh made
// them; the ratio of the two sections' medians above is shown beside it.
const pairBig = stats(big, 'pair-nochange', 'regbook');
const pairSmall = stats(small, 'pair-nochange', 'regbook');
const pairScale = ratio(pairBig, pairSmall);
const scale = pairScale ?? sequentialScale;
const mark = (ok) => (ok === undefined ? '—' : ok ? 'met' : 'NOT met');
out.push(`## Targets (issue 6), at 1+${big}`, '');
out.push('| target | reached | |', '| --- | --- | --- |');
out.push(`| no-change apply: regbook ≤ 1/10 of Ansible | ${fmtRatio(noch)} | ${mark(noch && noch <= 0.1)} |`);
out.push(`| first apply: regbook ≤ 1/3 of Ansible | ${fmtRatio(first)} | ${mark(first && first <= 1 / 3)} |`);
out.push(
  `| \`--check\` no slower than the no-change apply | check / no-change = ${chk?.toFixed(2) ?? '—'} | ${mark(chk && chk <= 1)} |`,
);
out.push(
  `| no-change 1+${big} within 1.5x of 1+${small} | ${scale?.toFixed(2) ?? '—'}x${pairScale ? ` (alternating pairs; ${sequentialScale?.toFixed(2) ?? '—'}x from the medians above)` : ''} | ${mark(scale && scale <= 1.5)} |`,
);
out.push(
  `| \`regbook --version\` < 150 ms | ${version ? `${version.median} ms` : '—'}${clean ? ` (${clean.median} ms without \`NODE_EXTRA_CA_CERTS\`)` : ''} | ${mark(version && version.median < 150)} |`,
);
const rss = peakRss(big) / 1024;
out.push(`| peak memory < 150 MB at 1+${big} | ${rss.toFixed(0)} MB | ${mark(rss > 0 && rss < 150)} |`);
out.push('');
out.push(
  "Ansible's `--check` reports `changed=1` on the master on a converged cluster: `docker_image` with " +
    "`push: true` cannot tell in check mode whether a push would send anything. regbook's `--check` reports changed=0.",
);
out.push('');
out.push('Medians of few runs on a shared 2-core machine: read the min–max spread before the ratio.');
out.push('');
// The scaling pairs, at the two sizes run.sh paired (1+10 and the largest, when 10 was measured).
const pairSizes = [...new Set(rows.filter((r) => r.phase === 'pair-nochange').map((r) => r.size))].sort(
  (x, y) => x - y,
);
if (pairSizes.length === 2) {
  const [lo, hi] = pairSizes;
  const [sLo, sHi] = [stats(lo, 'pair-nochange', 'regbook'), stats(hi, 'pair-nochange', 'regbook')];
  // Each pair's own ratio too: a burst of steal that hits one pair moves that pair, not the median.
  const byRun = (size) => new Map(pick(size, 'pair-nochange', 'regbook').map((r) => [r.run, r.ms]));
  const [b, sm] = [byRun(hi), byRun(lo)];
  const perPair = [...b.keys()].filter((k) => sm.has(k)).map((k) => b.get(k) / sm.get(k));
  out.push(`## Scaling: the no-change apply at 1+${lo} and 1+${hi}, in pairs`, '');
  out.push(
    `Both labs up at once, regbook's no-change apply on each in turn (the order alternates), ${sHi.n} pairs: ` +
      `1+${lo} ${cell(sLo)}, 1+${hi} ${cell(sHi)}; ratio of the medians ${ratio(sHi, sLo).toFixed(2)}x, ` +
      `median of the pairs' own ratios ${median(perPair).toFixed(2)}x (${Math.min(...perPair).toFixed(2)}–` +
      `${Math.max(...perPair).toFixed(2)}). The table above measures the two sizes many minutes apart, ` +
      `and the hypervisor's steal comes in bursts; a pair meets the same machine.`,
  );
  out.push('');
  const [fLo, fHi] = [stats(lo, 'pair-login', 'ssh'), stats(hi, 'pair-login', 'ssh')];
  if (fLo && fHi) {
    out.push(
      `In the same pairs, right after each apply, OpenSSH's client logged in to every host of that lab at once ` +
        `and ran \`true\` (bench/login-floor.sh: the least any SSH tool does, with no connection kept): ` +
        `1+${lo} ${cell(fLo)}, 1+${hi} ${cell(fHi)}; ratio of the medians ${ratio(fHi, fLo).toFixed(2)}x. ` +
        `regbook's no-change apply took ${ratio(sLo, fLo).toFixed(2)}x the logins' time at 1+${lo} and ` +
        `${ratio(sHi, fHi).toFixed(2)}x at 1+${hi}. The lab's hosts share this machine's cores, so their logins ` +
        `grow with the host count here as they would not on hosts of their own.`,
    );
    out.push('');
  }
}
// bench/cpu-floor.sh's summary: the CPU the remote work of a first apply needs, whatever tool.
const floorText = floorFile ? readFileSync(floorFile, 'utf8') : '';
const pieces = floorText.match(
  /store refresh (\d+) ms, docker restart (\d+) ms, pulls (\d+) ms; total (\d+) ms/,
);
const floor = floorText.match(/on (\d+) cores: .* less than (\d+) ms/);
// run.sh measures the floor on the last lab it brought up: the largest.
const floorSize = sizes.at(-1);
const firstR = stats(floorSize, 'first', 'regbook');
const firstA = stats(floorSize, 'first', 'ansible');
if (pieces && floor && firstR && firstA) {
  const f = +floor[2];
  out.push(`## The first apply's floor, at 1+${floorSize}`);
  out.push('');
  out.push(
    `Both tools must make every host refresh its OS store and restart docker, and every worker pull the images. ` +
      `Run alone on all hosts at once (\`bench/cpu-floor.sh\`, no tool, mean of its rounds), that work used ` +
      `${secs(+pieces[1])} s of CPU for the store refreshes, ${secs(+pieces[2])} s for the docker restarts and ` +
      `${secs(+pieces[3])} s for the pulls: ${secs(+pieces[4])} s. The lab's hosts share this machine's ${floor[1]} ` +
      `cores, so no first apply here can take less than **${secs(f)} s**, ${fmtRatio(f / firstA.median)} of ` +
      `Ansible's median.`,
  );
  out.push('');
  out.push(`| | median | above the floor |`);
  out.push(`| --- | --- | --- |`);
  out.push(`| regbook | ${secs(firstR.median)} s | ${secs(firstR.median - f)} s |`);
  out.push(`| Ansible | ${secs(firstA.median)} s | ${secs(firstA.median - f)} s |`);
  out.push('');
}
// bench/workload.sh's figures: per first apply and host, the milliseconds each workload container
// was not running (size phase tool run host plain always; tab-separated).
const downFile = process.env.DOWNTIME_FILE;
const downRows = downFile
  ? readFileSync(downFile, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'))
      .map(([size, phase, tool, run, host, plain, always]) => ({
        size: +size,
        phase,
        tool,
        run: +run,
        host,
        plain: +plain,
        always: +always,
      }))
  : [];
if (downRows.length > 0) {
  out.push('## The workload during a first apply', '');
  out.push(
    'Every host runs two containers while the first apply runs (bench/workload.sh): one with no restart ' +
      'policy, which a docker restart ends for good, and one with `--restart always`, which a docker restart ' +
      'stops until the daemon is back. Seconds not running during the apply, per host: median over runs of the ' +
      'sum over hosts, and the worst host of any run.',
    '',
  );
  out.push(
    '| cluster | job | no restart policy: hosts whose container ended | `--restart always`: seconds down (sum over hosts; worst host) |',
  );
  out.push('| --- | --- | --- | --- |');
  const jobs = [
    ['first-default', 'regbook', 'regbook, default trust'],
    ['first', 'regbook', 'regbook, seed parity'],
    ['first', 'ansible', 'Ansible, seed parity'],
  ];
  for (const size of sizes) {
    for (const [phase, tool, label] of jobs) {
      const rs = downRows.filter((r) => r.size === size && r.phase === phase && r.tool === tool);
      if (rs.length === 0) continue;
      const runs = [...new Set(rs.map((r) => r.run))];
      const hostsPerRun = rs.length / runs.length;
      const ended = runs.map((run) => rs.filter((r) => r.run === run && r.plain > 0).length);
      const sums = runs.map((run) => rs.filter((r) => r.run === run).reduce((a, r) => a + r.always, 0));
      const worst = Math.max(...rs.map((r) => r.always));
      out.push(
        `| 1+${size} | ${label} | ${median(ended)} of ${hostsPerRun} (median of ${runs.length} runs) | ${secs(median(sums))} s; ${secs(worst)} s |`,
      );
    }
  }
  out.push('');
}
// How the cost grows with the cluster: issue 23's figures, over every size the run measured.
const hostsOf = (size) => size + 1;
/** Least-squares line through (hosts, y): slope per added host and the intercept. */
function fit(points) {
  if (points.length < 2) return undefined;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  if (sxx === 0) return undefined;
  const slope = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx;
  return { slope, intercept: my - slope * mx };
}
const figures = [
  ['nochange', 'regbook', 'no-change apply', 'regbook'],
  ['nochange', 'ansible', 'no-change apply', 'Ansible'],
  ['first-default', 'regbook', "first apply, regbook's default trust", 'regbook'],
  ['first', 'regbook', 'first apply, seed parity', 'regbook'],
  ['first', 'ansible', 'first apply, seed parity', 'Ansible'],
  ['check', 'regbook', '`--check`', 'regbook'],
  ['check', 'ansible', '`--check`', 'Ansible'],
];
const medianOf = (size, phase, tool, key) => {
  const xs = pick(size, phase, tool)
    .map((r) => r[key])
    .filter((v) => v !== undefined);
  return xs.length ? median(xs) : undefined;
};
const seriesOf = (phase, tool, key) =>
  sizes
    .map((size) => ({ x: hostsOf(size), y: medianOf(size, phase, tool, key) }))
    .filter((p) => p.y !== undefined);
if (sizes.length > 0) {
  out.push('## How the cost grows with the number of hosts', '');
  out.push(
    `Sizes measured: ${sizes.map((sz) => `1+${sz}`).join(', ')} (${sizes.map(hostsOf).join(', ')} hosts).`,
    '',
  );
  out.push('### regbook / Ansible at every size', '');
  out.push(
    "| cluster | first apply, regbook's default trust / Ansible's | first apply, seed parity | no-change apply | `--check` |",
    '| --- | --- | --- | --- | --- |',
  );
  for (const size of sizes) {
    const a = (phase) => stats(size, phase, 'ansible');
    out.push(
      `| 1+${size} | ${fmtRatio(ratio(stats(size, 'first-default', 'regbook'), a('first')))} | ` +
        `${fmtRatio(ratio(stats(size, 'first', 'regbook'), a('first')))} | ` +
        `${fmtRatio(ratio(stats(size, 'nochange', 'regbook'), a('nochange')))} | ` +
        `${fmtRatio(ratio(stats(size, 'check', 'regbook'), a('check')))} |`,
    );
  }
  out.push('');
  out.push('### Cost per added host', '');
  out.push(
    "Least-squares line through the medians of wall time (and of the control node's CPU time) against the " +
      'number of hosts; the slope is what one more host costs. CPU is user + system time of the command and ' +
      'the children it waited for (`/usr/bin/time`): for regbook its node process; for Ansible `ansible-playbook`, ' +
      'its forks and their `ssh` clients (not the ControlPersist masters, which leave the process tree).',
    '',
  );
  out.push(
    '| figure | tool | wall: ms per added host | wall at 0 hosts | CPU: ms per added host | CPU ms per host at each size |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const [phase, tool, label, toolLabel] of figures) {
    const wall = fit(seriesOf(phase, tool, 'ms'));
    const cpuSeries = seriesOf(phase, tool, 'cpu');
    if (seriesOf(phase, tool, 'ms').length === 0) continue;
    const cpu = fit(cpuSeries);
    const perHost = cpuSeries.map((p) => `${(p.y / p.x).toFixed(0)} (${p.x})`).join(', ');
    out.push(
      `| ${label} | ${toolLabel} | ${wall ? wall.slope.toFixed(1) : '—'} | ${wall ? secs(wall.intercept) + ' s' : '—'} | ` +
        `${cpu ? cpu.slope.toFixed(1) : '—'} | ${perHost || '—'} |`,
    );
  }
  out.push('');
  out.push('### Peak memory and SSH connections', '');
  out.push(
    'Peak RSS: the largest "maximum resident set size" over all of the tool\'s runs at that size (Ansible: its ' +
      "largest single process). Logins: SSH logins the lab hosts' sshd logged during one run (median). Not " +
      "logged in: connections that reached a host's sshd during the runs and ended before authentication " +
      '(`[preauth]` closes and resets, no identification string, a timeout before authentication, MaxStartups ' +
      "throttling), counted in the hosts' `/var/log/sshd.log` (bench/sshd-log.sh), summed over the runs. " +
      "Unreachable: hosts the tool's own recap calls unreachable, summed over the runs. A connection refused " +
      'before it reaches sshd shows there.',
    '',
  );
  out.push(
    '| cluster | tool | peak RSS | logins per run (median) | runs | connections not logged in | unreachable |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const size of sizes)
    for (const [tool, toolLabel] of [
      ['regbook', 'regbook'],
      ['ansible', 'Ansible'],
    ]) {
      const rs = rows.filter((r) => r.size === size && r.tool === tool);
      if (rs.length === 0) continue;
      const counted = rs.filter((r) => r.logins !== undefined);
      const sum = (key) => counted.reduce((a, r) => a + (r[key] ?? 0), 0);
      out.push(
        `| 1+${size} | ${toolLabel} | ${(peakRss(size, tool) / 1024).toFixed(0)} MB | ` +
          `${counted.length ? median(counted.map((r) => r.logins)) : '—'} | ${rs.length} | ` +
          `${counted.length ? sum('refused') : '—'} | ${counted.length ? sum('unreachable') : '—'} |`,
      );
    }
  out.push('');
  const chartFile = process.env.CHART_FILE;
  const chart = scalingChart(
    'regbook and Ansible: wall time against hosts',
    figures.map(([phase, tool, label, toolLabel]) => ({
      label: `${toolLabel}: ${label.replace(/`/g, '')}`,
      tool,
      dash: { nochange: '', check: '2 3', first: '8 4', 'first-default': '4 2 1 2' }[phase],
      points: seriesOf(phase, tool, 'ms').map((p) => ({ hosts: p.x, ms: p.y })),
    })),
  );
  if (chartFile && chart && sizes.length > 1) {
    writeFileSync(chartFile, chart);
    out.push(`![wall time against hosts, both tools](${basename(chartFile)})`, '');
  }

  // Issue 23's targets, at the largest size measured; they are stated for 1+50.
  const top = sizes.at(-1);
  const base = 10;
  const ncTop = stats(top, 'nochange', 'regbook');
  const pairTop = stats(top, 'pair-nochange', 'regbook');
  const pairBase = stats(base, 'pair-nochange', 'regbook');
  const growPairs = top > base ? ratio(pairTop, pairBase) : undefined;
  const growSeq = top > base ? ratio(ncTop, stats(base, 'nochange', 'regbook')) : undefined;
  const grow = growPairs ?? growSeq;
  const loginGrow =
    top > base ? ratio(stats(top, 'pair-login', 'ssh'), stats(base, 'pair-login', 'ssh')) : undefined;
  const ncVsAnsible = ratio(ncTop, stats(top, 'nochange', 'ansible'));
  const firstVsAnsible = ratio(stats(top, 'first-default', 'regbook'), stats(top, 'first', 'ansible'));
  const rssTop = peakRss(top) / 1024;
  const topRuns = rows.filter((r) => r.size === top && r.tool === 'regbook' && r.logins !== undefined);
  const refusedTop = topRuns.reduce((a, r) => a + (r.refused ?? 0) + (r.unreachable ?? 0), 0);
  const mark3 = (value, ok) => (value === undefined ? 'not measured' : ok ? 'met' : 'not met');
  out.push(`## Targets (issue 23), at 1+${top}`, '');
  if (top !== 50)
    out.push(
      `The targets are stated for 1+50; this run's largest lab was 1+${top}, so the marks below are for that size.`,
      '',
    );
  out.push('| target | reached | |', '| --- | --- | --- |');
  out.push(
    `| no-change apply at 1+${top} ≤ 2x its 1+${base} time | ${grow === undefined ? `— (1+${base} not measured)` : `${grow.toFixed(2)}x${growPairs ? ` (alternating pairs; ${growSeq?.toFixed(2) ?? '—'}x from the section medians${loginGrow ? `; OpenSSH's logins alone ${loginGrow.toFixed(2)}x` : ''})` : ''}`} | ${mark3(grow, grow <= 2)} |`,
  );
  out.push(
    `| no-change apply ≤ 1/15 of Ansible's | ${fmtRatio(ncVsAnsible)} | ${mark3(ncVsAnsible, ncVsAnsible <= 1 / 15)} |`,
  );
  out.push(
    `| first apply, regbook's default trust ≤ 1/5 of Ansible's | ${fmtRatio(firstVsAnsible)} | ${mark3(firstVsAnsible, firstVsAnsible <= 1 / 5)} |`,
  );
  out.push(
    `| peak RSS < 200 MB | ${rssTop > 0 ? `${rssTop.toFixed(0)} MB` : '—'} | ${mark3(rssTop > 0 ? rssTop : undefined, rssTop < 200)} |`,
  );
  out.push(
    `| no SSH connection refused (regbook's runs: sshd connections not logged in + unreachable hosts) | ${topRuns.length ? `${refusedTop} in ${topRuns.length} runs` : '—'} | ${mark3(topRuns.length ? refusedTop : undefined, refusedTop === 0)} |`,
  );
  out.push('');
}
out.push('Where the first apply and the no-change apply spend their time: [PROFILE.md](PROFILE.md).');
out.push('');
process.stdout.write(out.join('\n') + '\n');
