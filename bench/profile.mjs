// Profiles one regbook run against the bench lab: runs the built CLI in this process with
// SshConnection's methods wrapped, and prints where the wall time goes: connection setup (from the
// NDJSON 'connect' events), each task's span, every remote command per host (count and time),
// TCP channels to the registry, and which heavy modules were loaded at all.
//   node bench/profile.mjs playbooks/site.yaml -i .lab-bench/inventory.yaml [--check] [--forks 16]
//   PROFILE_HOSTS=master,worker3 node bench/profile.mjs …   (every operation of these hosts)
//   PROFILE_JSON=ops.json node bench/profile.mjs …          (all operations and events, as JSON)
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';
import { performance } from 'node:perf_hooks';

const t0 = performance.now();
const now = () => performance.now() - t0;
const ms = (x) => `${x.toFixed(0)} ms`;

const { SshConnection } = await import('../dist/transport/ssh.js');
const tImported = now();

// SSH handshakes: from ssh2's Client#connect to its 'ready' event.
const handshakes = [];
const { Client } = createRequire(import.meta.url)('ssh2');
const origConnect = Client.prototype.connect;
Client.prototype.connect = function (cfg) {
  const h = { port: cfg?.port, start: now() };
  this.once('ready', () => {
    h.ms = now() - h.start;
    handshakes.push(h);
  });
  return origConnect.call(this, cfg);
};

/** One entry per remote operation: which connection, what, when it started and how long it took. */
const ops = [];
const connIds = new WeakMap();
let nextConn = 0;
function label(method, args) {
  if (method === 'exec' || method === 'execWithFile') {
    const argv = args[0]?.argv ?? [];
    // A script that names itself ($0 = regbook-push, regbook-pull, …) is shown by that name and its arguments.
    const named = argv[0] === 'sh' && argv[1] === '-c' && /^regbook-/.test(argv[3] ?? '');
    const text = named
      ? argv.slice(3).join(' ')
      : argv[0] === 'sh' && argv[1] === '-c'
        ? `sh -c '${argv[2]}'`
        : argv.join(' ');
    return text.replace(/\s+/g, ' ').slice(0, 70);
  }
  if (method === 'openTcp') return `tcp ${args[0]}:${args[1]}`;
  if (method === 'writeFile') return `write ${args[0]}`;
  return method;
}
for (const method of ['exec', 'execWithFile', 'writeFile', 'openTcp', 'close']) {
  const orig = SshConnection.prototype[method];
  SshConnection.prototype[method] = async function (...args) {
    if (!connIds.has(this)) connIds.set(this, nextConn++);
    const op = { host: this.hostName, conn: connIds.get(this), what: label(method, args), start: now() };
    try {
      return await orig.apply(this, args);
    } finally {
      op.ms = now() - op.start;
      ops.push(op);
    }
  };
}

// Timestamp every NDJSON event the CLI writes.
const events = [];
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  for (const line of String(chunk).split('\n').filter(Boolean)) {
    try {
      events.push({ t: now(), ...JSON.parse(line) });
    } catch {
      /* not an event */
    }
  }
  return rest.length ? write('', ...rest) : true;
};

process.argv = [process.argv[0], 'regbook', 'apply', ...process.argv.slice(2), '--output', 'json'];
const tCli = now();
await import('../dist/cli/main.js');

process.on('exit', () => {
  const out = (s = '') => process.stderr.write(s + '\n');
  const end = now();
  out(`total ${ms(end)}; importing the transport ${ms(tImported)}; CLI started at ${ms(tCli)}`);
  out('\nSSH handshakes (connect .. ready), in start order:');
  for (const h of handshakes.sort((a, b) => a.start - b.start))
    out(`  port ${h.port}  ${ms(h.start).padStart(8)} +${ms(h.ms).padStart(7)}`);
  out("\ntasks (when the last host reported; the slowest host's own duration):");
  const tasks = new Map();
  for (const e of events.filter((x) => x.type === 'task')) {
    const t = tasks.get(e.task) ?? { last: 0, slowest: 0, n: 0 };
    t.last = Math.max(t.last, e.t);
    t.slowest = Math.max(t.slowest, e.durationMs ?? 0);
    t.n++;
    tasks.set(e.task, t);
  }
  for (const [task, t] of tasks)
    out(
      `  ${task.padEnd(9)} done at ${ms(t.last).padStart(8)}  slowest host ${ms(t.slowest).padStart(7)}  (${t.n} hosts)`,
    );
  const recap = events.find((e) => e.type === 'recap');
  if (recap) out(`recap at ${ms(recap.t)}; exit at ${ms(end)} (closing connections, releasing the lock)`);

  out('\nremote operations per host (count, summed time):');
  const byHost = new Map();
  for (const o of ops) {
    const k = `${o.host}#${o.conn}`;
    const h = byHost.get(k) ?? { n: 0, ms: 0 };
    h.n++;
    h.ms += o.ms;
    byHost.set(k, h);
  }
  for (const [k, h] of byHost) out(`  ${k.padEnd(12)} ${String(h.n).padStart(3)} ops  ${ms(h.ms)}`);

  out('\nremote operations by kind (count, median and max time):');
  const byWhat = new Map();
  for (const o of ops) byWhat.set(o.what, [...(byWhat.get(o.what) ?? []), o.ms]);
  for (const [what, xs] of [...byWhat].sort((a, b) => b[1].length - a[1].length)) {
    const s = [...xs].sort((a, b) => a - b);
    out(
      `  ${String(xs.length).padStart(3)}x  med ${ms(s[s.length >> 1]).padStart(7)}  max ${ms(s.at(-1)).padStart(7)}  ${what}`,
    );
  }
  // PROFILE_HOSTS=master,worker3 picks the hosts whose every operation is listed.
  for (const name of (process.env.PROFILE_HOSTS ?? 'master').split(',')) {
    out(`\n${name} timeline:`);
    for (const o of ops.filter((x) => x.host === name).sort((a, b) => a.start - b.start))
      out(`  #${o.conn} ${ms(o.start).padStart(8)} +${ms(o.ms).padStart(7)}  ${o.what}`);
  }

  // PROFILE_JSON=FILE keeps every operation and event, for timelines of all hosts.
  if (process.env.PROFILE_JSON) writeFileSync(process.env.PROFILE_JSON, JSON.stringify({ ops, events }));

  const require = createRequire(import.meta.url);
  const loaded = (name) => Object.keys(require.cache).some((p) => p.includes(`/node_modules/${name}/`));
  // The built validators need two small ajv runtime helpers; ajv's compiler is what costs.
  out(
    `\nloaded in this run: ${['node-forge', 'ssh2', 'yargs', 'ajv/dist/compile', 'yaml', 'listr2', 'bcryptjs'].map((m) => `${m}=${loaded(m) ? 'yes' : 'no'}`).join(' ')}`,
  );
});
