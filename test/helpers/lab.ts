// The lab for integration and end-to-end tests: real hosts (containers with their own sshd and
// dockerd) brought up by lab/up.sh. This module drives them from outside with `docker exec`, so checks
// and fault injection never depend on the code under test.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump as stringify } from 'js-yaml';

export interface LabHost {
  name: string;
  container: string;
  address: string;
  port: number;
  user: string;
  become?: 'sudo';
}
export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}
export interface Lab {
  dir: string;
  inventoryPath: string;
  keyPath: string;
  knownHostsPath: string;
  master: LabHost;
  workers: LabHost[];
  hosts: LabHost[];
  /** Runs a bash script on a host as root via `docker exec` — independent of regbook, for checks and faults. */
  sh(host: string | LabHost, script: string, opts?: { stdin?: string | Buffer }): Promise<ShResult>;
  /** Like sh but throws with stdout/stderr when the exit code is not 0; returns stdout. */
  shOk(host: string | LabHost, script: string): Promise<string>;
  /** docker stop the container. */
  stop(host: string | LabHost): Promise<void>;
  /** Start it again, sshd + dockerd up, same host keys. */
  start(host: string | LabHost): Promise<void>;
  /** New SSH host keys and sshd restarted (known_hosts NOT updated). */
  rekey(host: string | LabHost): Promise<void>;
  /** Returns every host to its pristine state: no /etc/regbook, no /etc/docker/certs.d entries, CA removed from
   * the system store (/usr/local/share/ca-certificates/regbook* + update-ca-certificates), no registry container
   * or registry data, workers without pulled master:5000/* images, dockerd running, original host keys. Fast. */
  reset(): Promise<void>;
  /** Writes an inventory for a subset of the hosts (by name) to a temp path and returns it. */
  writeInventory(opts?: {
    hosts?: string[];
    hostKeyChecking?: 'strict' | 'accept-new' | 'off';
    knownHosts?: string;
  }): Promise<string>;
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** REGBOOK_LAB=NAME selects a lab instance of its own (see lab/lib.sh), e.g. for a benchmark. */
const LAB_DIR_NAME = process.env.REGBOOK_LAB ? `.lab-${process.env.REGBOOK_LAB}` : '.lab';
// Debian's client matches Debian's dockerd; a newer client elsewhere on PATH may not.
const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
const DEFAULT_WORKERS = 3;
/** Images the master holds from the start, and the `docker save` archives they come from. */
const MASTER_IMAGES: Record<string, string> = {
  'registry:2': 'registry-2.tar',
  'app:0.1': 'app-0.1.tar',
  'app:0.2': 'app-0.2.tar',
  'tool:1.0': 'tool-1.0.tar',
};

interface LabState {
  dir: string;
  inventory: string;
  key: string;
  knownHosts: string;
  hosts: LabHost[];
}

/** Runs a local command to its end, with its output; never rejects for a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  stdin?: string | Buffer,
  timeoutMs = 120_000,
): Promise<ShResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => undefined); // the script may exit without reading its input
    child.stdin.end(stdin ?? '');
  });
}

function failure(what: string, r: ShResult): Error {
  return new Error(`${what} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when the port answers with an SSH banner (sshd accepts connections, not just the proxy). */
function sshBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(2000, () => done(false));
    sock.once('data', (b: Buffer) => done(b.toString('latin1').startsWith('SSH-')));
    sock.once('error', () => done(false));
    sock.once('close', () => done(false));
  });
}

// Run on every host by reset(): removes what regbook and the tests leave behind. Prints the master
// images that are missing afterwards (one per line) so they can be loaded again from their archives.
const RESET_SCRIPT = String.raw`
set -u
docker info >/dev/null 2>&1 || service docker start >/dev/null
for i in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
ids=$(docker ps -aq); [ -z "$ids" ] || docker rm -f $ids >/dev/null
docker volume prune -f >/dev/null
rm -rf /etc/regbook /var/lib/regbook
[ ! -d /etc/docker/certs.d ] || find /etc/docker/certs.d -mindepth 1 -delete
if [ -e /etc/docker/daemon.json ]; then rm -f /etc/docker/daemon.json; service docker restart >/dev/null; fi
if compgen -G '/usr/local/share/ca-certificates/regbook*' >/dev/null || ls /etc/ssl/certs | grep -qi regbook; then
  rm -rf /usr/local/share/ca-certificates/regbook*
  update-ca-certificates --fresh >/dev/null 2>&1
fi
# Images: the master keeps its own (KEEP); everything else (pushed or pulled tags) goes.
for ref in $(docker images --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>'); do
  case " $KEEP " in *" $ref "*) ;; *) docker rmi "$ref" >/dev/null ;; esac
done
ids=$(docker images -q --filter dangling=true); [ -z "$ids" ] || docker rmi -f $ids >/dev/null 2>&1 || true
for ref in $KEEP; do docker image inspect "$ref" >/dev/null 2>&1 || echo "$ref"; done
# Original host keys, sshd running.
keys_differ=
for f in /var/lib/regbook-lab/hostkeys/ssh_host_*; do cmp -s "$f" "/etc/ssh/$(basename "$f")" || keys_differ=1; done
[ "$(ls /etc/ssh/ssh_host_* | wc -l)" = "$(ls /var/lib/regbook-lab/hostkeys/ssh_host_* | wc -l)" ] || keys_differ=1
if [ -n "$keys_differ" ]; then
  rm -f /etc/ssh/ssh_host_*
  cp -p /var/lib/regbook-lab/hostkeys/ssh_host_* /etc/ssh/
  service ssh restart >/dev/null
elif ! { [ -s /run/sshd.pid ] && kill -0 "$(cat /run/sshd.pid)" 2>/dev/null; }; then
  service ssh start >/dev/null
fi
# The running sshd must offer the original key (files alone prove nothing if it was not reloaded).
want=$(cut -d' ' -f2 /var/lib/regbook-lab/hostkeys/ssh_host_ed25519_key.pub)
for i in $(seq 1 20); do
  ssh-keyscan -t ed25519 localhost 2>/dev/null | grep -qF "$want" && break
  [ "$i" = 10 ] && service ssh restart >/dev/null
  sleep 0.3
done
ssh-keyscan -t ed25519 localhost 2>/dev/null | grep -qF "$want" || { echo "sshd does not offer its original host key" >&2; exit 1; }
docker info >/dev/null
`;

class LabImpl implements Lab {
  readonly dir: string;
  readonly inventoryPath: string;
  readonly keyPath: string;
  readonly knownHostsPath: string;
  readonly master: LabHost;
  readonly workers: LabHost[];
  readonly hosts: LabHost[];

  constructor(state: LabState) {
    this.dir = state.dir;
    this.inventoryPath = state.inventory;
    this.keyPath = state.key;
    this.knownHostsPath = state.knownHosts;
    this.hosts = state.hosts;
    const master = state.hosts.find((h) => h.name === 'master');
    if (!master) throw new Error(`lab state without a master: ${join(state.dir, 'state.json')}`);
    this.master = master;
    this.workers = state.hosts.filter((h) => h !== master);
  }

  private host(ref: string | LabHost): LabHost {
    const name = typeof ref === 'string' ? ref : ref.name;
    const h = this.hosts.find((x) => x.name === name || x.container === name);
    if (!h) throw new Error(`no lab host '${name}'; lab hosts: ${this.hosts.map((x) => x.name).join(', ')}`);
    return h;
  }

  sh(host: string | LabHost, script: string, opts: { stdin?: string | Buffer } = {}): Promise<ShResult> {
    const h = this.host(host);
    const args = ['exec', ...(opts.stdin !== undefined ? ['-i'] : []), h.container, 'bash', '-c', script];
    return run(DOCKER, args, opts.stdin);
  }

  async shOk(host: string | LabHost, script: string): Promise<string> {
    const r = await this.sh(host, script);
    if (r.code !== 0) throw failure(`on ${this.host(host).name}: ${script}`, r);
    return r.stdout;
  }

  async stop(host: string | LabHost): Promise<void> {
    const h = this.host(host);
    const r = await run(DOCKER, ['stop', '-t', '30', h.container]);
    if (r.code !== 0) throw failure(`docker stop ${h.container}`, r);
  }

  async start(host: string | LabHost): Promise<void> {
    const h = this.host(host);
    const r = await run(DOCKER, ['start', h.container]);
    if (r.code !== 0) throw failure(`docker start ${h.container}`, r);
    await this.waitReady(h);
  }

  async rekey(host: string | LabHost): Promise<void> {
    const h = this.host(host);
    await this.shOk(
      h,
      'rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && service ssh restart >/dev/null',
    );
    await this.waitReady(h);
  }

  async reset(): Promise<void> {
    await Promise.all(
      this.hosts.map(async (h) => {
        const running = await run(DOCKER, ['inspect', '-f', '{{.State.Running}}', h.container]);
        if (running.stdout.trim() !== 'true') await this.start(h);
        const keep = h === this.master ? Object.keys(MASTER_IMAGES).join(' ') : '';
        const missing = (await this.shOk(h, `KEEP=${shq(keep)}\n${RESET_SCRIPT}`))
          .split('\n')
          .filter(Boolean);
        for (const ref of missing) await this.loadImage(h, ref);
        await this.waitReady(h);
      }),
    );
  }

  async writeInventory(
    opts: { hosts?: string[]; hostKeyChecking?: 'strict' | 'accept-new' | 'off'; knownHosts?: string } = {},
  ): Promise<string> {
    const names = opts.hosts ?? this.hosts.map((h) => h.name);
    const chosen = names.map((n) => this.host(n));
    if (!chosen.includes(this.master)) {
      throw new Error(`an inventory needs the master; asked for: ${names.join(', ')}`);
    }
    const entry = (h: LabHost) => ({
      name: h.name,
      address: h.address,
      port: h.port,
      ...(h.user !== 'root' ? { user: h.user } : {}),
      ...(h.become ? { become: h.become } : {}),
    });
    const inventory = {
      defaults: {
        user: 'root',
        identityFile: this.keyPath,
        knownHosts: opts.knownHosts ?? this.knownHostsPath,
        hostKeyChecking: opts.hostKeyChecking ?? 'strict',
      },
      master: entry(this.master),
      workers: chosen.filter((h) => h !== this.master).map(entry),
    };
    const dir = await mkdtemp(join(tmpdir(), 'regbook-lab-inv-'));
    const path = join(dir, 'inventory.yaml');
    await writeFile(path, stringify(inventory));
    return path;
  }

  /** Loads one of the master's images again from its `docker save` archive. */
  private async loadImage(h: LabHost, ref: string): Promise<void> {
    const file = MASTER_IMAGES[ref];
    if (!file) throw new Error(`no archive for ${ref}`);
    const tar = await readFile(join(this.dir, 'images', file));
    const r = await run(DOCKER, ['exec', '-i', h.container, 'docker', 'load', '-q'], tar);
    if (r.code !== 0) throw failure(`docker load ${ref} on ${h.name}`, r);
  }

  /** Waits until dockerd answers inside the host and sshd answers on its published port. */
  private async waitReady(h: LabHost): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const inner = await this.sh(h, 'docker info >/dev/null 2>&1 && test -s /run/sshd.pid');
      if (inner.code === 0 && (await sshBanner(h.port))) return;
      if (Date.now() > deadline)
        throw new Error(`lab host ${h.name} did not come back (sshd, dockerd) within 60s`);
      await sleep(250);
    }
  }
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const brought = new Map<number, Promise<Lab>>();

async function readState(): Promise<LabState | undefined> {
  try {
    return JSON.parse(await readFile(join(REPO_ROOT, LAB_DIR_NAME, 'state.json'), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

async function bringUp(workers: number): Promise<Lab> {
  // Never shrink a lab that is up: other test files may use its extra workers.
  const current = (await readState())?.hosts.length ?? 0;
  const n = Math.max(workers, current - 1);
  const r = await run(
    'bash',
    [join(REPO_ROOT, 'lab', 'up.sh'), '--workers', String(n)],
    undefined,
    30 * 60_000,
  );
  if (r.code !== 0) {
    throw new Error(
      `the lab did not come up (bash lab/up.sh --workers ${n} exited ${r.code}); ` +
        `run it by hand to see why, or see lab/README.md\n${r.stderr.slice(-4000)}`,
    );
  }
  const state = await readState();
  if (!state) throw new Error('lab/up.sh succeeded but .lab/state.json is missing or unreadable');
  return new LabImpl(state);
}

/** Brings the lab up once per test process (runs lab/up.sh, idempotent, fast when warm) and returns it.
 * `workers` is the least number of workers the caller needs; a lab with more is kept as it is. Throws
 * when the lab cannot be brought up (always in CI: a missing lab is a failure, never a skip). */
export function lab(opts: { workers?: number } = {}): Promise<Lab> {
  const workers = opts.workers ?? DEFAULT_WORKERS;
  let p = brought.get(workers);
  if (!p) {
    p = bringUp(workers);
    brought.set(workers, p);
    p.catch(() => brought.delete(workers));
  }
  return p;
}
