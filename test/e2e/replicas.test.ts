// Registry replicas on a real object store, applied by regbook end to end: two replicas (master,
// worker1) on the lab's Ceph radosgw behind its haproxy (lb:5000, the playbook's address). An
// image pushed through the address is pulled on every worker; its objects are in the bucket;
// with one replica stopped pulls keep working, --check predicts exactly its restart and the next
// apply makes it; a second apply changes nothing; gc sweeps the bucket with both replicas
// read-only; and no S3 key, password or http.secret shows in any output or process argument.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { changedPairs, parseNdjson, parseTextRecap, regbook, tempDir, writeYaml } from '../helpers/cli.js';
import type { Lab } from '../helpers/lab.js';
import { s3LabOrSkip, type S3Lab } from '../helpers/s3-lab.js';
import type { StatusReport } from '../../src/ops/status.js';

const REPLICAS = ['master', 'worker1'];
const TLS_DIR = '/etc/regbook/certs';
// A prefix of its own per run inside the shared bucket, which outlives test runs.
const PREFIX = `e2e-${Date.now().toString(36)}`;
const PASSWORD = 'replica-ci-password-0123';

const { brought, unavailable } = await s3LabOrSkip();

const SAMPLER_DIR = '/tmp/replicas-sampler';
// Two loops on a host, each until the stop file exists: one writes `@@ NANOSECONDS` then the process
// list; the other writes `BEFORE STATE ID AFTER` for the registry container (nanoseconds around its
// docker inspect), STATE being ro (storage.maintenance.readonly set), rw, or none (no container, ID -).
// The start waits until both have written once, so nothing regbook does can precede them.
const SAMPLER_START = `d=${SAMPLER_DIR}
rm -rf "$d" && mkdir "$d"
cat >"$d/ps.sh" <<'EOF'
while [ ! -e ${SAMPLER_DIR}/stop ]; do echo "@@ $(date +%s%N)"; ps -eo args; sleep 0.02; done
EOF
cat >"$d/ro.sh" <<'EOF'
while [ ! -e ${SAMPLER_DIR}/stop ]; do
  t=$(date +%s%N)
  e=$(docker inspect -f '{{.Id}} {{json .Config.Env}}' registry 2>/dev/null)
  case "$e" in *MAINTENANCE_READONLY*) s=ro ;; "") s=none e=- ;; *) s=rw ;; esac
  echo "$t $s \${e%% *} $(date +%s%N)"
  sleep 0.02
done
EOF
nohup sh "$d/ps.sh" >"$d/ps" 2>/dev/null </dev/null & echo $! >"$d/ps.pid"
nohup sh "$d/ro.sh" >"$d/ro" 2>/dev/null </dev/null & echo $! >"$d/ro.pid"
until [ -s "$d/ps" ] && [ -s "$d/ro" ]; do sleep 0.01; done`;
const SAMPLER_STOP = `d=${SAMPLER_DIR}
touch "$d/stop"
while kill -0 "$(cat "$d/ps.pid")" 2>/dev/null || kill -0 "$(cat "$d/ro.pid")" 2>/dev/null; do sleep 0.02; done`;

type Mode = 'ro' | 'rw' | 'none';
/** What a host's sampler saw, in time order (nanoseconds of the clock every lab host shares). */
interface Samples {
  ps: Array<{ at: bigint; args: string }>;
  mode: Array<{ from: bigint; state: Mode; id: string; to: bigint }>;
}

function parseSamples(ps: string, mode: string): Samples {
  const lists = ps
    .split(/^@@ /m)
    .filter(Boolean)
    .map((block) => {
      const nl = block.indexOf('\n');
      return { at: BigInt(block.slice(0, nl)), args: block.slice(nl + 1) };
    });
  const states = mode
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [from, state, id, to] = line.split(' ') as [string, Mode, string, string];
      return { from: BigInt(from), state, id, to: BigInt(to) };
    });
  return { ps: lists, mode: states };
}

/** Samples every host in `hosts` while `fn` runs (see SAMPLER_START), then reads the samples back. */
async function sampledOn<T>(
  lab: Lab,
  hosts: string[],
  fn: () => Promise<T>,
): Promise<{ result: T; samples: Record<string, Samples> }> {
  await Promise.all(hosts.map((h) => lab.shOk(h, SAMPLER_START)));
  let result: T;
  try {
    result = await fn();
  } finally {
    await Promise.all(hosts.map((h) => lab.shOk(h, SAMPLER_STOP)));
  }
  const samples: Record<string, Samples> = {};
  for (const h of hosts) {
    const ps = await lab.shOk(h, `cat ${SAMPLER_DIR}/ps`);
    const mode = await lab.shOk(h, `cat ${SAMPLER_DIR}/ro && rm -rf ${SAMPLER_DIR}`);
    samples[h] = parseSamples(ps, mode);
  }
  return { result, samples };
}

describe('registry replicas on S3 behind a load balancer', { skip: unavailable ?? false }, () => {
  let S: S3Lab;
  let L: Lab;
  let site: string;
  let env: Record<string, string>;
  let keys: { accessKey: string; secretKey: string };
  let workers: string[];
  /** Everything regbook printed in this file, every mode: no secret may be in it. */
  const printed: string[] = [];
  /** The replicas' process lists, sampled while the first apply and gc made their containers. */
  const processLists: Array<{ during: string; host: string; lists: Samples['ps'] }> = [];

  const apply = async (...extra: string[]) => {
    const r = await regbook(['apply', site, '-i', L.inventoryPath, ...extra], { env });
    printed.push(r.stdout, r.stderr);
    return r;
  };
  const applyJson = async (...extra: string[]) => {
    const r = await apply('--output', 'json', ...extra);
    return { ...r, ...parseNdjson(r.stdout) };
  };
  const bucketObjects = async (): Promise<string[]> => {
    const r = await S.inCeph([
      'radosgw-admin',
      'bucket',
      'list',
      `--bucket=${S.ceph.bucket}`,
      '--max-entries=1000000',
    ]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { name: string }[]).map((o) => o.name);
  };
  const bucketCount = async (): Promise<number> => {
    const r = await S.inCeph(['radosgw-admin', 'bucket', 'stats', `--bucket=${S.ceph.bucket}`]);
    assert.equal(r.code, 0, r.stderr);
    const stats = JSON.parse(r.stdout) as { usage: { 'rgw.main'?: { num_objects: number } } };
    return stats.usage['rgw.main']?.num_objects ?? 0;
  };
  const localDigest = async (host: string) =>
    (
      await L.sh(
        host,
        `docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' ${S.lb.address}/app:0.1 2>/dev/null | sed -n 's/.*@//p' | head -n1`,
      )
    ).stdout.trim();

  before(async () => {
    S = brought!;
    L = S.lab;
    assert.deepEqual(S.lb.replicas, REPLICAS, 'the lab balances over other replicas than this test runs');
    await L.reset();
    keys = await S.keys();
    workers = L.workers.map((w) => w.name);
    env = {
      LAB_S3_ACCESS_KEY: keys.accessKey,
      LAB_S3_SECRET_KEY: keys.secretKey,
      REGBOOK_CI_PASSWORD: PASSWORD,
    };
    site = writeYaml(tempDir('regbook-replicas-'), 'site.yaml', {
      version: 1,
      registry: {
        address: S.lb.address,
        imageArchive: `${L.dir}/images/registry-2.tar`,
        replicas: REPLICAS,
        deleteEnabled: true,
        auth: { users: [{ username: 'ci', password: '${env:REGBOOK_CI_PASSWORD}' }] },
        storage: {
          s3: {
            endpoint: S.ceph.endpoint,
            bucket: S.ceph.bucket,
            region: 'us-east-1',
            rootDirectory: `/${PREFIX}`,
            accessKey: '${env:LAB_S3_ACCESS_KEY}',
            secretKey: '${env:LAB_S3_SECRET_KEY}',
          },
        },
      },
      images: [{ name: 'app:0.1', source: { host: 'master' }, pullOn: 'workers' }],
    });
  });

  after(async () => {
    await L?.sh('worker1', 'docker start registry >/dev/null 2>&1 || true');
  });

  it('the first apply (as --check predicts) runs a replica on each host, pushes through the address, pulls on every worker', async () => {
    const before = await bucketCount();
    const check = await applyJson('--check', '--diff');
    assert.equal(check.code, 0, `${check.stdout}\n${check.stderr}`);
    const { result: r, samples } = await sampledOn(L, REPLICAS, () => applyJson('-vv'));
    for (const [host, s] of Object.entries(samples))
      processLists.push({ during: 'the first apply', host, lists: s.ps });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const changed = changedPairs(r.tasks);
    assert.deepEqual(changed, changedPairs(check.tasks), '--check predicted other changes');
    for (const host of REPLICAS) assert.ok(changed.includes(`${host}/registry`), changed.join(' '));
    assert.ok(changed.includes('worker1/tls'), 'worker1 did not get the certificate');
    assert.ok(changed.includes('worker1/auth'), 'worker1 did not get the htpasswd file');
    // verify read each replica on its own, and the registry through the address.
    const verify = new Map(r.tasks.filter((t) => t.task === 'verify').map((t) => [t.host, t]));
    assert.equal(verify.get('worker1')?.status, 'ok');
    assert.match(verify.get('worker1')?.message ?? '', /through worker1 directly/);
    assert.match(verify.get('master')?.message ?? '', new RegExp(`master directly and ${S.lb.address}`));

    // Pushed once, through the address: the master's push, and every worker pulled that image.
    const pushed = r.tasks.filter((t) => t.task === 'images' && t.changes.some((c) => c.why === 'push'));
    assert.deepEqual(
      pushed.map((t) => t.host),
      ['master'],
    );
    const want = (
      await L.shOk(
        'master',
        `docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' ${S.lb.address}/app:0.1 | sed -n 's/.*@//p' | head -n1`,
      )
    ).trim();
    assert.match(want, /^sha256:[0-9a-f]{64}$/);
    for (const w of workers) assert.equal(await localDigest(w), want, `${w} holds another app:0.1`);

    // The image is in the bucket, under the playbook's prefix, and on neither replica's disk.
    assert.ok((await bucketCount()) > before, 'radosgw-admin bucket stats counts no new object');
    const objects = await bucketObjects();
    assert.ok(
      objects.includes(`${PREFIX}/docker/registry/v2/repositories/app/_manifests/tags/0.1/current/link`),
      "the tag's link is not in the bucket",
    );
    assert.ok(
      objects.includes(`${PREFIX}/docker/registry/v2/blobs/sha256/${want.slice(7, 9)}/${want.slice(7)}/data`),
      'the manifest is not in the bucket',
    );
    // The image's own volume at /var/lib/registry stays empty: no host directory holds images.
    for (const host of REPLICAS) {
      const files = await L.shOk(
        host,
        `d=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/var/lib/registry"}}{{.Type}} {{.Source}}{{end}}{{end}}' registry)
case "$d" in bind*) echo "bind $d"; exit 0;; esac
[ -z "$d" ] && echo 0 || find "\${d#volume }" -type f | wc -l`,
      );
      assert.equal(files.trim(), '0', `${host}'s replica keeps images on its own disk`);
    }
  });

  it('every replica serves the same certificate, key, users and generated http.secret', async () => {
    const read = (host: string) =>
      L.shOk(
        host,
        `cd ${TLS_DIR} && sha256sum server.crt server.key /etc/regbook/auth/htpasswd && stat -c '%a %n' server.key server.crt . /etc/regbook/auth/htpasswd
docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' registry | sed -n 's/^REGISTRY_HTTP_SECRET=//p'`,
      );
    const [master, worker1] = await Promise.all(REPLICAS.map(read));
    assert.equal(worker1, master);
    assert.match(master!, /^600 server\.key$/m);
    assert.match(master!, /^444 server\.crt$/m);
    assert.match(master!, /^700 \.$/m);
    const secret = (await L.shOk('master', `cat ${TLS_DIR}/http.secret`)).trim();
    assert.match(secret, /^[0-9a-f]{64}$/);
    assert.ok(
      master!.includes(`\n${secret}\n`),
      'the container runs with another secret than the file holds',
    );
    assert.equal((await L.shOk('master', `stat -c %a ${TLS_DIR}/http.secret`)).trim(), '600');
    // Each replica answers under its own name, checked against the CA, as well as under the address.
    for (const host of REPLICAS) {
      const code = await L.shOk(
        'worker2',
        `curl -sS -o /dev/null -w '%{http_code}' --cacert /etc/docker/certs.d/${S.lb.address}/ca.crt https://${host}:5000/v2/`,
      );
      assert.equal(code, '401', `${host}'s replica did not answer under its own name`);
    }
  });

  it('a second apply changes nothing', async () => {
    const r = await apply('--diff');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const [host, counts] of Object.entries(parseTextRecap(r.stdout)))
      assert.equal(counts.changed, 0, `${host} changed:\n${r.stdout}`);
  });

  it('with one replica stopped pulls keep working; status names it down and --check its restart, which the next apply makes', async () => {
    await L.shOk('worker1', 'docker stop registry >/dev/null');
    for (const w of workers) await L.shOk(w, `docker rmi ${S.lb.address}/app:0.1 >/dev/null`);

    // The workers pull again through the address while worker1's replica is down.
    const pulled = await applyJson('--tags', 'images');
    assert.equal(pulled.code, 0, `${pulled.stdout}\n${pulled.stderr}`);
    assert.deepEqual(
      changedPairs(pulled.tasks),
      workers.map((w) => `${w}/images`),
    );
    const want = await localDigest('master');
    for (const w of workers) assert.equal(await localDigest(w), want, `${w} did not pull app:0.1 again`);
    assert.equal(
      (await L.shOk('worker1', "docker inspect -f '{{.State.Running}}' registry")).trim(),
      'false',
    );

    // status names the stopped replica as down, its one problem, and its restart as the one
    // pending change: as text, and as JSON with the replica's own container and answer.
    const status = await regbook(['status', site, '-i', L.inventoryPath], { env });
    printed.push(status.stdout, status.stderr);
    assert.equal(status.code, 2, `${status.stdout}\n${status.stderr}`);
    assert.match(status.stdout, /^worker1\s+registry exited\s+ok\s+failed \(.+\)\s+down$/m);
    assert.match(status.stdout, /^master\s+registry running, up .+\s+ok\s+ok \(200\)\s+up$/m);
    assert.match(
      status.stdout,
      /PROBLEM {2}replica worker1 is down: container registry is exited; GET https:\/\/worker1:5000\/v2\/ failed/,
    );
    assert.match(status.stdout, new RegExp(`api {10}GET /v2/ 200 through ${S.lb.address}`));
    assert.match(status.stdout, /CHANGE\s+worker1: registry: container registry \(exited → running\)/);
    assert.match(status.stdout, /1 problem, 0 warnings, 1 change pending/);
    const json = await regbook(['status', site, '-i', L.inventoryPath, '--output', 'json'], { env });
    printed.push(json.stdout, json.stderr);
    const report = JSON.parse(json.stdout) as StatusReport;
    assert.equal(json.code, 2);
    assert.equal(report.exitCode, 2);
    assert.deepEqual(
      report.replicas?.map((r) => [r.host, r.health, r.container.state, r.v2?.ok]),
      [
        ['master', 'up', 'running', true],
        ['worker1', 'down', 'exited', false],
      ],
    );
    assert.equal(report.api.via, S.lb.address);
    assert.equal(report.api.status, 200, 'the address no longer answers with one replica down');
    assert.deepEqual(
      report.pending.map((p) => `${p.host}/${p.task}`),
      ['worker1/registry'],
    );

    const check = await applyJson('--check', '--diff', '--detailed-exitcode');
    assert.equal(check.code, 3, `${check.stdout}\n${check.stderr}`);
    assert.deepEqual(changedPairs(check.tasks), ['worker1/registry']);
    const real = await applyJson('--diff');
    assert.equal(real.code, 0, `${real.stdout}\n${real.stderr}`);
    assert.deepEqual(changedPairs(real.tasks), changedPairs(check.tasks));
    assert.equal((await L.shOk('worker1', "docker inspect -f '{{.State.Running}}' registry")).trim(), 'true');

    const again = await applyJson();
    assert.equal(again.code, 0);
    assert.deepEqual(changedPairs(again.tasks), []);
    const healthy = await regbook(['status', site, '-i', L.inventoryPath, '--output', 'json'], { env });
    printed.push(healthy.stdout, healthy.stderr);
    const back = JSON.parse(healthy.stdout) as StatusReport;
    assert.equal(healthy.code, 0, JSON.stringify(back.problems.concat(back.warnings)));
    assert.deepEqual(
      back.replicas?.map((r) => [r.host, r.health, r.v2?.status]),
      [
        ['master', 'up', 200],
        ['worker1', 'up', 200],
      ],
    );
    const text = await regbook(['status', site, '-i', L.inventoryPath], { env });
    printed.push(text.stdout, text.stderr);
    assert.match(text.stdout, /^healthy$/m);
  });

  it('a replica host rebuilt from nothing comes back with --limit, as --check predicts', async () => {
    await L.shOk('worker1', 'docker rm -f registry >/dev/null && rm -rf /etc/regbook');
    const check = await applyJson('--limit', 'worker1', '--check');
    assert.equal(check.code, 0, `${check.stdout}\n${check.stderr}`);
    const want = ['worker1/auth', 'worker1/registry', 'worker1/tls'];
    assert.deepEqual(changedPairs(check.tasks), want);
    const real = await applyJson('--limit', 'worker1');
    assert.equal(real.code, 0, `${real.stdout}\n${real.stderr}`);
    assert.deepEqual(changedPairs(real.tasks), want);
    const verify = real.tasks.find((t) => t.task === 'verify');
    assert.equal(verify?.status, 'ok');
    assert.match(verify?.message ?? '', /through worker1 directly/);
  });

  it('gc sweeps the bucket once, with every replica read-only, and leaves them as the playbook wants', async () => {
    const cli = async (command: string, ...args: string[]) => {
      const r = await regbook([command, site, ...args, '-i', L.inventoryPath], { env });
      printed.push(r.stdout, r.stderr);
      return r;
    };
    const rm = await cli('rm', 'app:0.1');
    assert.equal(rm.code, 0, `${rm.stdout}\n${rm.stderr}`);
    const planned = await cli('gc', '--check', '--output', 'json');
    assert.equal(planned.code, 0, planned.stderr);
    const check = JSON.parse(planned.stdout) as { blobs: string[]; replicas: string[]; dataDir: string };
    assert.deepEqual(check.replicas, REPLICAS);
    assert.equal(check.dataDir, `s3://${S.ceph.bucket}/${PREFIX}`);
    assert.ok(check.blobs.length > 0, 'the removed image left no blob to collect');
    const blobPath = (d: string) =>
      `${PREFIX}/docker/registry/v2/blobs/sha256/${d.slice(7, 9)}/${d.slice(7)}/data`;
    const before = new Set(await bucketObjects());
    for (const b of check.blobs) assert.ok(before.has(blobPath(b)), `${b} is not in the bucket before gc`);

    const { result: swept, samples } = await sampledOn(L, REPLICAS, () => cli('gc', '--output', 'json'));
    assert.equal(swept.code, 0, `${swept.stdout}\n${swept.stderr}`);
    assert.match(swept.stderr, /registry on master, worker1 goes read-only for the collection/);
    assert.match(swept.stderr, /registry on master, worker1 is back in write mode/);
    for (const [host, s] of Object.entries(samples)) processLists.push({ during: 'gc', host, lists: s.ps });

    // The hosts' own view of the sweep. The collector (a process whose arguments say
    // garbage-collect, not as a dry run) ran on one replica only.
    const isSweep = (args: string) =>
      args.split('\n').some((l) => l.includes('garbage-collect') && !l.includes('--dry-run'));
    const sweepers = REPLICAS.filter((h) => samples[h]!.ps.some((p) => isSweep(p.args)));
    assert.equal(sweepers.length, 1, `the collector was seen on ${sweepers.join(', ') || 'no replica'}`);
    const lists = samples[sweepers[0]!]!.ps;
    const sweepSeen = lists.find((p) => isSweep(p.args))!.at;
    // The collector was still there at some moment before the next list began.
    const sweepGoneBy = lists[lists.findLastIndex((p) => isSweep(p.args)) + 1]?.at;
    assert.ok(sweepGoneBy !== undefined, 'the sampler stopped while the collector ran');
    const seconds = (ns: bigint) => ns / 1_000_000_000n;
    for (const host of REPLICAS) {
      const modes = samples[host]!.mode;
      // Write mode, one read-only period, write mode again (a missing container in between is a
      // recreation).
      const periods = modes
        .map((m) => m.state)
        .filter((m) => m !== 'none')
        .filter((m, i, all) => i === 0 || m !== all[i - 1]);
      assert.deepEqual(
        periods,
        ['rw', 'ro', 'rw'],
        `${host}'s replica was not read-only once during gc, between write modes`,
      );
      const readOnly = [...new Set(modes.filter((m) => m.state === 'ro').map((m) => m.id))];
      assert.equal(readOnly.length, 1, `${host} ran several read-only containers: ${readOnly.join(' ')}`);
      // docker's own record of that container on the host: it ran from before the collector
      // started until after it ended.
      const events = await L.shOk(
        host,
        `docker events --since ${seconds(modes[0]!.from) - 1n} --until ${seconds(modes.at(-1)!.to) + 1n} ` +
          `--filter container=${readOnly[0]} --format '{{.Action}} {{.TimeNano}}'`,
      );
      const when = (action: string) => {
        const m = new RegExp(`^${action} (\\d+)$`, 'm').exec(events);
        assert.ok(m, `no ${action} event for ${host}'s read-only replica:\n${events}`);
        return BigInt(m[1]!);
      };
      assert.ok(
        when('start') < sweepSeen,
        `${host}'s replica went read-only only after the collector had started`,
      );
      assert.ok(
        when('die') > sweepGoneBy,
        `${host}'s replica left read-only mode before the collector had ended`,
      );
    }
    assert.deepEqual((JSON.parse(swept.stdout) as { blobs: string[] }).blobs, check.blobs);
    const after = new Set(await bucketObjects());
    for (const b of check.blobs) assert.ok(!after.has(blobPath(b)), `${b} is still in the bucket`);
    for (const host of REPLICAS) {
      const env = await L.shOk(
        host,
        "docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' registry",
      );
      assert.doesNotMatch(env, /MAINTENANCE_READONLY/, `${host}'s replica is still read-only`);
    }

    // Only the image is missing now: --check says the master pushes it again, and the apply does.
    const predicted = await applyJson('--check');
    assert.deepEqual(changedPairs(predicted.tasks), ['master/images']);
    const pushed = await applyJson();
    assert.equal(pushed.code, 0, `${pushed.stdout}\n${pushed.stderr}`);
    assert.deepEqual(changedPairs(pushed.tasks), ['master/images']);
  });

  it('no S3 key, password or http.secret is in any output or any process argument', async () => {
    const secret = (await L.shOk('master', `cat ${TLS_DIR}/http.secret`)).trim();
    const secrets = {
      'access key': keys.accessKey,
      'secret key': keys.secretKey,
      password: PASSWORD,
      'http.secret': secret,
    };
    const all = printed.join('\n');
    assert.ok(all.length > 0);
    for (const [name, value] of Object.entries(secrets))
      assert.ok(!all.includes(value), `the ${name} was printed`);
    // Process lists sampled while the containers were made: a secret in a process's argument is
    // gone once the process ends. The sampler saw regbook's own commands, or its SSH session (on a
    // replica gc touches only through the engine, over the docker socket), so it ran meanwhile.
    for (const { during, host, lists } of processLists) {
      const seen = lists.map((l) => l.args).join('');
      assert.ok(lists.length > 10, `the sampler on ${host} during ${during} took ${lists.length} samples`);
      assert.match(
        seen,
        /regbook|docker system dial-stdio|sshd: \S+@notty/,
        `the sampler on ${host} during ${during} never saw a regbook command`,
      );
      for (const [name, value] of Object.entries(secrets))
        assert.ok(!seen.includes(value), `the ${name} was in a process argument on ${host} during ${during}`);
    }
    assert.deepEqual(
      processLists.map((p) => `${p.during} ${p.host}`),
      ['the first apply master', 'the first apply worker1', 'gc master', 'gc worker1'],
    );
    for (const host of REPLICAS) {
      const ps = await L.shOk(host, 'ps -eo args');
      const argv = await L.shOk(
        host,
        "docker inspect -f '{{.Path}} {{json .Args}} {{json .Config.Cmd}} {{json .Config.Entrypoint}}' registry",
      );
      for (const [name, value] of Object.entries(secrets)) {
        assert.ok(!ps.includes(value), `the ${name} is in a process argument on ${host}`);
        assert.ok(!argv.includes(value), `the ${name} is in the container's command on ${host}`);
      }
    }
  });
});
