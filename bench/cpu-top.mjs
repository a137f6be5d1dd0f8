// Where a run's CPU went, from a V8 CPU profile (`node --cpu-prof`): self time summed by module
// (node_modules package, regbook's dist/ file, or node's own internals) and the heaviest functions.
//   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/cli/main.js apply … && node bench/cpu-top.mjs /tmp/prof/*.cpuprofile
import { readFileSync } from 'node:fs';
import process from 'node:process';

const say = (line) => process.stdout.write(`${line}\n`);

const [file, many = '15'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/cpu-top.mjs FILE.cpuprofile [N]\n');
  process.exit(1);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
// Each sample is one node; the time between samples is what that node used.
const self = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i + 1] ?? 0;
  self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
}
const byModule = new Map();
const byFunction = new Map();
let total = 0;
for (const node of profile.nodes) {
  const us = self.get(node.id) ?? 0;
  total += us;
  const { url, functionName, lineNumber } = node.callFrame;
  const module = moduleOf(url, functionName);
  byModule.set(module, (byModule.get(module) ?? 0) + us);
  const fn = `${functionName || '(anonymous)'} ${module}:${lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
}

function moduleOf(url, name) {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const dist = /\/dist\/(.*)$/.exec(url);
  if (dist) return `regbook ${dist[1]}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

const ms = (us) => (us / 1000).toFixed(0).padStart(6);
const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
say(`${ms(total)} ms sampled (${profile.samples.length} samples)\n\nby module:`);
for (const [k, v] of top(byModule, Number(many))) say(`${ms(v)} ms ${pct(v)}  ${k}`);
say('\nby function:');
for (const [k, v] of top(byFunction, Number(many))) say(`${ms(v)} ms ${pct(v)}  ${k}`);
