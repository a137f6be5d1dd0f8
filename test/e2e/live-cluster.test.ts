// regbook on a cluster that runs workloads: a plain container (no restart policy) on every host must
// survive every change trust makes, no daemon restarts unless the playbook asks for it, and then
// the restarts roll, one host (trust.serial) at a time.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { regbook, tempDir } from '../helpers/cli.js';
import { lab, type Lab } from '../helpers/lab.js';
import {
  allZeroChanged,
  applyJson,
  basePlaybook,
  checkThenApply,
  dockerdPids,
  explain,
  writePlaybook,
  type PlaybookDoc,
} from './registry.js';

const WORKLOAD = 'workload';
const KEEPER = 'keeper';
const IMAGE = 'tool:1.0';
const CONFIG_TOML = '/etc/containerd/config.toml';

/** The plain container on every host: its StartedAt, or a failure when it does not run. */
async function workloadStarts(L: Lab): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of L.hosts) {
    out[h.name] = (
      await L.shOk(h.name, `docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' ${WORKLOAD}`)
    ).trim();
    assert.match(out[h.name]!, /^true /, `${WORKLOAD} is not running on ${h.name}`);
  }
  return out;
}

/** Each host's containerd pid. */
async function containerdPids(L: Lab): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of L.hosts) out[h.name] = (await L.shOk(h.name, 'pidof containerd')).trim();
  return out;
}

/** A line from the middle of the master's CA certificate: a PEM line no other certificate holds. */
async function caLine(L: Lab): Promise<string> {
  const pem = await L.shOk('master', 'cat /etc/regbook/certs/ca.crt');
  const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  const line = body[Math.floor(body.length / 2)] ?? '';
  assert.match(line, /^[A-Za-z0-9+/=]{16,}$/, `no PEM body in the master's CA:\n${pem}`);
  return line;
}

// On each worker: docker pulls again (its copy removed first), through certs.d or
// insecure-registries, with the daemon that was never restarted. Then, with docker's certs.d moved
// aside (skopeo and podman read it too) and the OS store without the CA (ctr reads it too): ctr
// through containerd's hosts directory, podman, and skopeo listing the tags. What they pulled is
// removed again, so the next pull is a real one.
async function everyRuntimePulls(L: Lab, ref = 'master:5000/app:0.1'): Promise<void> {
  const repo = ref.slice(0, ref.lastIndexOf(':'));
  // The OS store holds no copy of the CA: not in the bundle, nor as a file of its own there.
  const line = await caLine(L);
  for (const w of L.workers) {
    const r = await L.sh(
      w.name,
      `set -e
       ! grep -RqsxF -- '${line}' /etc/ssl/certs /usr/local/share/ca-certificates || { echo "the OS store holds the CA" >&2; exit 1; }
       docker rmi -f ${ref} >/dev/null
       if docker image inspect ${ref} >/dev/null 2>&1; then echo "docker rmi left ${ref}" >&2; exit 1; fi
       docker pull -q ${ref} >/dev/null
       mv /etc/docker/certs.d /tmp/docker-certs.d.aside
       trap 'mv /tmp/docker-certs.d.aside /etc/docker/certs.d' EXIT
       ctr --address /run/containerd/containerd.sock -n regbook-test images pull --hosts-dir /etc/containerd/certs.d ${ref} >/dev/null
       ctr --address /run/containerd/containerd.sock -n regbook-test images rm ${ref} >/dev/null
       p="podman --root /var/tmp/regbook-test-podman --runroot /run/regbook-test-podman --storage-driver vfs"
       $p pull -q ${ref} >/dev/null
       $p rmi -f ${ref} >/dev/null
       skopeo list-tags docker://${repo}`,
    );
    assert.equal(r.code, 0, `${w.name}: ${r.stderr}`);
    assert.ok((JSON.parse(r.stdout) as { Tags: string[] }).Tags.includes(ref.split(':').at(-1)!), r.stdout);
  }
}

// Each host notes every 50 ms whether its daemon answers and its `--restart always` container runs,
// with the time from the clock all lab hosts share (one kernel).
const SAMPLER = String.raw`
nohup sh -c '
  while [ ! -e /tmp/sampler.stop ]; do
    if curl -sf --max-time 1 --unix-socket /var/run/docker.sock http://docker/containers/${KEEPER}/json 2>/dev/null | grep -q "\"Running\":true"; then s=up; else s=down; fi
    echo "$(date +%s%N) $s"
    sleep 0.05
  done' >/tmp/sampler.log 2>&1 </dev/null &
`;

/** Per host, the [from, to] nanosecond intervals when its daemon or its keeper container was down. */
async function downIntervals(L: Lab): Promise<Map<string, Array<[bigint, bigint]>>> {
  const out = new Map<string, Array<[bigint, bigint]>>();
  for (const h of L.hosts) {
    await L.shOk(h.name, 'touch /tmp/sampler.stop; sleep 0.3');
    const lines = (await L.shOk(h.name, 'cat /tmp/sampler.log'))
      .split('\n')
      .filter((l) => /^\d+ (up|down)$/.test(l));
    const intervals: Array<[bigint, bigint]> = [];
    let from: bigint | undefined;
    for (const line of lines) {
      const [t, s] = line.split(' ') as [string, string];
      if (s === 'down' && from === undefined) from = BigInt(t);
      if (s === 'up' && from !== undefined) {
        intervals.push([from, BigInt(t)]);
        from = undefined;
      }
    }
    if (from !== undefined) intervals.push([from, BigInt(lines.at(-1)!.split(' ')[0]!)]);
    out.set(h.name, intervals);
  }
  return out;
}

/** The most hosts down at the same moment. */
function mostDownAtOnce(byHost: Map<string, Array<[bigint, bigint]>>): number {
  const edges: Array<[bigint, number]> = [];
  for (const intervals of byHost.values()) {
    for (const [a, b] of intervals) edges.push([a, 1], [b, -1]);
  }
  // An interval ending at the moment another begins does not overlap it.
  edges.sort((x, y) => (x[0] === y[0] ? x[1] - y[1] : x[0] < y[0] ? -1 : 1));
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}

describe('regbook on a live cluster', () => {
  let L: Lab;
  let dir: string;

  before(async () => {
    L = await lab();
    await L.reset();
    dir = tempDir();
    const tar = await readFile(join(L.dir, 'images', 'tool-1.0.tar'));
    for (const h of L.workers) {
      const r = await L.sh(h.name, 'docker load -q >/dev/null', { stdin: tar });
      assert.equal(r.code, 0, r.stderr);
    }
    for (const h of L.hosts) {
      // A lab host's containerd config as Debian ships it: config_path is regbook's to set.
      await L.shOk(
        h.name,
        `sed -i '/^\\[plugins."io.containerd.grpc.v1.cri".registry\\]$/,$d' ${CONFIG_TOML}
         ! grep -q config_path ${CONFIG_TOML}
         rm -rf /etc/containerd/certs.d /etc/containers/certs.d /etc/containers/registries.conf.d/regbook-*
         docker run -d --name ${WORKLOAD} ${IMAGE} >/dev/null`,
      );
    }
  });
  after(async () => {
    for (const h of L?.hosts ?? []) await L.sh(h.name, 'touch /tmp/sampler.stop');
    await L?.reset();
  });

  const RUNTIMES = ['docker', 'containerd', 'podman'];
  let doc: PlaybookDoc;
  let pb: string;
  let starts: Record<string, string>;
  let pids: Record<string, string>;

  /** Check mode, then apply: they agree; no workload stopped, no docker restarted. */
  async function noStopNoRestart(what: string) {
    const { apply } = await checkThenApply(pb, L.inventoryPath, L);
    assert.deepEqual(await workloadStarts(L), starts, `${what}: a workload container was restarted`);
    assert.deepEqual(await dockerdPids(L), pids, `${what}: a docker daemon was restarted`);
    return apply;
  }

  it('a fresh apply with the defaults stops nothing; docker, containerd and podman pull, skopeo lists', async () => {
    doc = basePlaybook();
    doc.trust = { hosts: 'all', runtimes: RUNTIMES };
    doc.images = [{ name: 'app:0.1', source: { host: 'master' }, pullOn: 'workers' }];
    pb = writePlaybook(dir, doc);
    starts = await workloadStarts(L);
    pids = await dockerdPids(L);
    const containerd = await containerdPids(L);
    const apply = await noStopNoRestart('fresh apply');
    for (const h of L.hosts) assert.ok(apply.pairs.includes(`${h.name}/trust`), apply.pairs.join(' '));
    // containerd restarted once, to read config_path; the containers it runs for docker outlived it.
    const now = await containerdPids(L);
    for (const h of L.hosts) {
      assert.notEqual(now[h.name], containerd[h.name], `containerd on ${h.name} kept its old config`);
      const conf = await L.shOk(h.name, 'containerd config dump | grep config_path');
      assert.match(conf, /config_path = "\/etc\/containerd\/certs.d"/);
    }
    await everyRuntimePulls(L);
    const again = await applyJson(pb, L.inventoryPath);
    assert.equal(again.code, 0, explain(again));
    assert.ok(allZeroChanged(again.recap.hosts), JSON.stringify(again.recap));
    assert.deepEqual(await containerdPids(L), now, 'a second apply restarted containerd');
  });

  it('a CA rotation (the CA deleted on the master) stops nothing; every runtime pulls', async () => {
    await L.shOk('master', 'rm /etc/regbook/certs/ca.crt /etc/regbook/certs/ca.key');
    const containerd = await containerdPids(L);
    const apply = await noStopNoRestart('CA rotation');
    for (const h of L.hosts) assert.ok(apply.pairs.includes(`${h.name}/trust`), apply.pairs.join(' '));
    assert.deepEqual(await containerdPids(L), containerd, 'containerd needs no restart for a new CA');
    await everyRuntimePulls(L);
  });

  it('a SAN change stops nothing; every runtime pulls', async () => {
    doc.tls = { ...doc.tls, subjectAltNames: ['DNS:master', 'DNS:registry.internal', 'IP:127.0.0.1'] };
    pb = writePlaybook(dir, doc);
    const apply = await noStopNoRestart('SAN change');
    assert.ok(apply.pairs.includes('master/tls'), apply.pairs.join(' '));
    await everyRuntimePulls(L);
  });

  it('insecure mode on, then off again, stops nothing; every runtime pulls over HTTP, then over TLS', async () => {
    const tls = doc.tls;
    doc.tls = { mode: 'none' };
    pb = writePlaybook(dir, doc);
    const validate = await regbook(['validate', pb, '-i', L.inventoryPath]);
    assert.equal(validate.code, 0, explain(validate));
    assert.match(validate.stderr, /INSECURE: tls.mode none/);
    const insecure = async (host: string) =>
      (await L.shOk(host, "docker info --format '{{json .RegistryConfig.IndexConfigs}}'")).includes(
        '"master:5000":{"Name":"master:5000","Mirrors":[],"Secure":false',
      );
    const on = await noStopNoRestart('insecure mode on');
    assert.match(on.stderr, /INSECURE: tls.mode none/);
    for (const h of L.hosts)
      assert.ok(await insecure(h.name), `${h.name}: docker does not list it as insecure`);
    const catalog = await L.shOk('worker1', 'curl -sSf http://master:5000/v2/_catalog');
    assert.deepEqual(JSON.parse(catalog), { repositories: ['app'] });
    await everyRuntimePulls(L);

    doc.tls = tls;
    pb = writePlaybook(dir, doc);
    await noStopNoRestart('insecure mode off');
    for (const h of L.hosts) {
      assert.equal(await insecure(h.name), false, `${h.name}: docker still lists it as insecure`);
      await L.shOk(h.name, '! ls /etc/containers/registries.conf.d/regbook-* 2>/dev/null');
    }
    await L.shOk('worker1', '! curl -sf http://master:5000/v2/_catalog');
    // One apply converged: a second one changes nothing, and restarts nothing either.
    const again = await applyJson(pb, L.inventoryPath);
    assert.equal(again.code, 0, explain(again));
    assert.ok(allZeroChanged(again.recap.hosts), `a second apply changed ${again.pairs.join(' ')}`);
    assert.deepEqual(await dockerdPids(L), pids, 'a second apply restarted docker');
    await everyRuntimePulls(L);
  });

  it('restarts roll when asked: never two daemons down at once, each keeper back before the next host', async () => {
    const doc = basePlaybook(); // system: true, restartDocker: on-change
    doc.trust = { ...doc.trust, serial: 1 };
    const pb = writePlaybook(dir, doc, 'rolling.yaml');
    for (const h of L.hosts) {
      await L.shOk(
        h.name,
        `docker run -d --restart always --name ${KEEPER} ${IMAGE} >/dev/null; rm -f /tmp/sampler.stop; ${SAMPLER}`,
      );
    }
    // docker leaves these stopped after a restart whose stop had to kill dockerd (the lab's init
    // script kills it after 10 s, and the image ignores SIGTERM): regbook starts them again.
    await L.shOk(
      'worker1',
      `docker run -d --restart unless-stopped --name ${KEEPER}-us ${IMAGE} >/dev/null; ` +
        `docker run -d --restart on-failure --name ${KEEPER}-of ${IMAGE} >/dev/null`,
    );
    const pids = await dockerdPids(L);
    const check = await applyJson(pb, L.inventoryPath, ['--check']);
    assert.equal(check.code, 0, explain(check));
    const plan = check.tasks.find((t) => t.host === 'worker1' && t.task === 'trust');
    const docker = plan?.changes.find((c) => c.what === 'docker');
    assert.match(docker?.why ?? '', /rolling \(serial 1\).*stay stopped: workload/, JSON.stringify(plan));
    const apply = await applyJson(pb, L.inventoryPath);
    assert.equal(apply.code, 0, explain(apply));
    // The OS store changes everywhere, so every host's trust changes; check said exactly that.
    for (const h of L.hosts) assert.ok(apply.pairs.includes(`${h.name}/trust`), apply.pairs.join(' '));
    assert.deepEqual(
      check.pairs,
      apply.pairs,
      `check predicted ${check.pairs.join(' ')}; apply changed ${apply.pairs.join(' ')}`,
    );
    const down = await downIntervals(L);
    const now = await dockerdPids(L);
    for (const h of L.hosts) {
      assert.notEqual(now[h.name], pids[h.name], `docker on ${h.name} was not restarted`);
      assert.ok((down.get(h.name) ?? []).length > 0, `the sampler on ${h.name} never saw its docker down`);
    }
    const shown = [...down].map(([h, iv]) => `${h}: ${iv.map(([a, b]) => `${a}-${b}`).join(' ')}`);
    assert.equal(mostDownAtOnce(down), 1, shown.join('\n'));
    for (const name of [`${KEEPER}-us`, `${KEEPER}-of`]) {
      const running = await L.shOk('worker1', `docker inspect --format '{{.State.Running}}' ${name}`);
      assert.equal(running.trim(), 'true', `${name} on worker1 is not running after the rollout`);
    }
    // Clean up for the tests that follow: no keeper, the workload running again.
    await L.shOk('worker1', `docker rm -f ${KEEPER}-us ${KEEPER}-of >/dev/null`);
    for (const h of L.hosts) {
      await L.shOk(h.name, `docker rm -f ${KEEPER} >/dev/null; docker start ${WORKLOAD} >/dev/null`);
    }
  });
  it('the rollout stops at the first host whose docker does not come back; later hosts stay untouched', async () => {
    // worker2's dockerd refuses to start with a setting it does not know.
    await L.shOk('worker2', `echo '{"regbook-test-unknown-setting": 1}' > /etc/docker/daemon.json`);
    const doc = basePlaybook();
    doc.trust = { ...doc.trust, restartDocker: 'always', serial: 1 };
    const pb = writePlaybook(dir, doc, 'always.yaml');
    const pids = await dockerdPids(L);
    let r: Awaited<ReturnType<typeof applyJson>>;
    try {
      // One host at a time, in inventory order: each host's handler runs right after its trust,
      // so worker2 fails with a host restarted before it and a host still to come after it.
      r = await applyJson(pb, L.inventoryPath, ['--tags', 'trust', '--forks', '1']);
    } finally {
      await L.shOk(
        'worker2',
        'rm -f /etc/docker/daemon.json; docker info >/dev/null 2>&1 || service docker start >/dev/null',
      );
    }
    assert.equal(r.code, 2, explain(r));
    const trust = r.tasks.find((t) => t.host === 'worker2' && t.task === 'trust');
    assert.equal(trust?.status, 'failed');
    assert.match(trust?.message ?? '', /handler restart-docker: restarting docker failed/);
    const handlers = r.all.filter((e) => (e as { type: string }).type === 'handler') as Array<{
      host: string;
      status: string;
      message?: string;
    }>;
    const failedAt = handlers.findIndex((h) => h.host === 'worker2');
    assert.equal(handlers[failedAt]?.status, 'failed', JSON.stringify(handlers));
    // Hosts on both sides of the failing one: "restarted" and "untouched" are both asserted below.
    assert.ok(failedAt > 0 && failedAt < handlers.length - 1, JSON.stringify(handlers.map((h) => h.host)));
    for (const [i, h] of handlers.entries()) {
      if (i < failedAt) {
        assert.equal(h.status, 'ok', JSON.stringify(handlers));
        assert.notEqual((await dockerdPids(L))[h.host], pids[h.host], `${h.host} was not restarted`);
      } else if (i > failedAt) {
        assert.equal(h.status, 'skipped', JSON.stringify(handlers));
        assert.match(h.message ?? '', /^untouched: the rollout stopped at worker2/);
        assert.equal((await dockerdPids(L))[h.host], pids[h.host], `${h.host} was restarted`);
        const counts = r.recap.hosts[h.host]!;
        assert.equal(counts.failed, 0, `${h.host} is reported failed`);
      }
    }
    assert.equal(handlers.length, L.hosts.length);
  });
});
