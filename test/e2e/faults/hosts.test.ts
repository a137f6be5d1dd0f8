// Faults on the hosts during an apply: a worker down before or during the run, docker stopped, a
// full disk, an SSH connection cut mid-upload, a crash-looping registry, a changed host key and a
// refused client key. Each test checks the exit code and message, what is on the hosts afterwards
// (no partial file, no temporary file) and that the next apply converges with nothing else changed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dump as stringify } from 'js-yaml';
import { dockerClientCalls } from '../../helpers/docker-client.js';
import { lab, type Lab } from '../../helpers/lab.js';
import { parseNdjson, tempDir } from '../../helpers/cli.js';
import { connect } from '../../../src/transport/index.js';
import { loadInventory } from '../../../src/config/index.js';
import { basePlaybook, explain, writePlaybook, type PlaybookDoc } from '../registry.js';
import { rb, sleep, start, tempFiles, tempFilesEverywhere } from './support.js';

const CERTS_D = '/etc/docker/certs.d/master:5000';
const SYSTEM_CA = '/usr/local/share/ca-certificates/regbook-master_5000.crt';

async function applyJson(pb: string, inv: string, extra: string[] = []) {
  const r = await rb(['apply', pb, '-i', inv, '--output', 'json', ...extra]);
  let parsed: ReturnType<typeof parseNdjson>;
  try {
    parsed = parseNdjson(r.stdout);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${explain(r)}`, { cause: err });
  }
  const changed = parsed.tasks.filter((t) => t.status === 'changed').map((t) => `${t.host}/${t.task}`);
  return { ...r, ...parsed, changed: changed.sort() };
}

describe('faults on the hosts', () => {
  let L: Lab;
  let dir: string;
  let inv: string;
  let pb: string;
  let doc: PlaybookDoc;
  let ca: string;

  /** Converged: exit 0 and nothing changed anywhere; no temporary file on any host. */
  async function assertConverged(what: string) {
    const r = await applyJson(pb, inv);
    assert.equal(r.code, 0, `${what}: ${explain(r)}`);
    assert.deepEqual(r.changed, [], `${what}: a second apply changed ${r.changed.join(' ')}`);
    assert.deepEqual(await tempFilesEverywhere(L), {}, `${what}: temporary files left`);
  }

  before(async () => {
    L = await lab();
    await L.reset();
    dir = tempDir('regbook-faults-');
    inv = L.inventoryPath;
    doc = basePlaybook();
    doc.images = [{ name: 'app:0.1', source: { host: 'master' }, pullOn: 'workers' }];
    pb = writePlaybook(dir, doc);
    const first = await applyJson(pb, inv);
    assert.equal(first.code, 0, explain(first));
    ca = (await L.shOk('master', 'cat /etc/regbook/certs/ca.crt')).trim();
  });
  after(async () => {
    await L?.reset();
  });

  it('a worker stopped before the run: exit 4, it is unreachable in the recap, the others converge', async () => {
    await L.shOk('worker1', `rm ${CERTS_D}/ca.crt`);
    await L.stop('worker3');
    try {
      const r = await applyJson(pb, inv);
      assert.equal(r.code, 4, explain(r));
      assert.equal(r.recap.hosts.worker3!.unreachable, 1);
      const ev = r.tasks.find((t) => t.host === 'worker3');
      assert.equal(ev?.status, 'unreachable');
      assert.match(ev?.message ?? '', /worker3/);
      assert.deepEqual(r.changed, ['worker1/trust'], 'the reachable hosts converge');
      for (const h of ['master', 'worker1', 'worker2']) assert.equal(r.recap.hosts[h]!.failed, 0);
    } finally {
      await L.start('worker3');
    }
    assert.equal((await L.shOk('worker1', `cat ${CERTS_D}/ca.crt`)).trim(), ca);
    await assertConverged('after worker3 came back');
  });

  it('a worker stopped during the trust phase: exit 4, no partial file on it, the next apply finishes its trust', async () => {
    // Drift on worker3 so trust has work there, and a slow update-ca-certificates so the stop
    // lands after the store file is written and before the store is refreshed: the worst moment.
    await L.shOk(
      'worker3',
      `rm -f ${CERTS_D}/ca.crt ${SYSTEM_CA} && update-ca-certificates --fresh >/dev/null 2>&1
       mv /usr/sbin/update-ca-certificates /usr/sbin/update-ca-certificates.real
       printf '#!/bin/sh\\ntouch /tmp/uca-started\\nsleep 60\\nexec /usr/sbin/update-ca-certificates.real "$@"\\n' > /usr/sbin/update-ca-certificates
       chmod 755 /usr/sbin/update-ca-certificates; rm -f /tmp/uca-started`,
    );
    const run = start(['apply', pb, '-i', inv, '--output', 'json']);
    try {
      for (let i = 0; ; i++) {
        if ((await L.sh('worker3', 'test -e /tmp/uca-started')).code === 0) break;
        assert.ok(i < 600, `update-ca-certificates never started on worker3\n${run.output()}`);
        await sleep(100);
      }
      await L.stop('worker3');
      const r = await run.done;
      assert.equal(r.code, 4, explain(r));
      const { tasks, recap } = parseNdjson(r.stdout);
      assert.equal(recap.hosts.worker3!.unreachable, 1, r.stdout);
      assert.equal(tasks.find((t) => t.host === 'worker3' && t.task === 'trust')?.status, 'unreachable');
      for (const h of ['master', 'worker1', 'worker2']) {
        assert.equal(recap.hosts[h]!.failed + recap.hosts[h]!.unreachable, 0, `${h}: ${r.stdout}`);
      }
    } finally {
      await L.start('worker3');
      await L.shOk('worker3', 'mv -f /usr/sbin/update-ca-certificates.real /usr/sbin/update-ca-certificates');
    }
    // Each trust file is either absent or whole, never partial; no temporary file.
    for (const f of [`${CERTS_D}/ca.crt`, SYSTEM_CA]) {
      const got = await L.sh('worker3', `cat ${f}`);
      if (got.code === 0) assert.equal(got.stdout.trim(), ca, `${f} is partial`);
    }
    assert.deepEqual(await tempFiles(L, 'worker3'), []);
    // The next apply finishes the job: the system store must end up trusting the registry.
    const next = await applyJson(pb, inv);
    assert.equal(next.code, 0, explain(next));
    assert.deepEqual(next.changed, ['worker3/trust'], 'only the interrupted trust is redone');
    await L.shOk('worker3', 'curl -sS --fail -o /dev/null https://master:5000/v2/');
    await assertConverged('after the interrupted trust');
  });

  it('a run cut off after the store refresh, before the docker restart: the next apply restarts docker there', async () => {
    // The store refresh really runs, then hangs, so Ctrl-C lands after the store holds the CA and
    // before the handler restarts docker: file and bundle right, the daemon still the old one.
    await L.shOk(
      'worker2',
      `rm -f ${SYSTEM_CA} && update-ca-certificates --fresh >/dev/null 2>&1
       mv /usr/sbin/update-ca-certificates /usr/sbin/update-ca-certificates.real
       printf '#!/bin/sh\\n/usr/sbin/update-ca-certificates.real "$@"\\ntouch /tmp/uca-done\\nexec sleep 60\\n' > /usr/sbin/update-ca-certificates
       chmod 755 /usr/sbin/update-ca-certificates; rm -f /tmp/uca-done`,
    );
    const dockerPid = async () => (await L.shOk('worker2', 'cat /var/run/docker.pid')).trim();
    const before = await dockerPid();
    const run = start(['apply', pb, '-i', inv, '--output', 'json']);
    try {
      for (let i = 0; ; i++) {
        if ((await L.sh('worker2', 'test -e /tmp/uca-done')).code === 0) break;
        assert.ok(i < 600, `the store refresh never finished on worker2\n${run.output()}`);
        await sleep(100);
      }
      run.child.kill('SIGINT');
      const r = await run.done;
      assert.equal(r.code, 130, explain(r));
    } finally {
      await L.shOk(
        'worker2',
        `mv -f /usr/sbin/update-ca-certificates.real /usr/sbin/update-ca-certificates; pkill -xf 'sleep 60' || true`,
      );
    }
    // The cut-off state: the store trusts the CA, the daemon was not restarted.
    await L.shOk('worker2', `grep -qF -- "$(sed -n 2p ${SYSTEM_CA})" /etc/ssl/certs/ca-certificates.crt`);
    assert.equal(await dockerPid(), before, 'docker was restarted before the cut');

    const check = await applyJson(pb, inv, ['--check']);
    assert.equal(check.code, 0, explain(check));
    assert.deepEqual(check.changed, ['worker2/trust'], 'check mode sees the owed restart');
    const owed = check.tasks.find((t) => t.host === 'worker2' && t.task === 'trust');
    assert.match(JSON.stringify(owed?.changes), /restart is still owed/);

    const next = await applyJson(pb, inv);
    assert.equal(next.code, 0, explain(next));
    assert.deepEqual(next.changed, ['worker2/trust'], 'only the owed restart is done');
    assert.notEqual(await dockerPid(), before, 'docker was not restarted');
    await assertConverged('after the owed docker restart');
  });

  it('docker stopped on a worker: exit 2 with a clear message; the others converge', async () => {
    await L.shOk('worker1', 'service docker stop >/dev/null');
    await L.shOk('worker2', `rm ${CERTS_D}/ca.crt`);
    try {
      const r = await applyJson(pb, inv);
      assert.equal(r.code, 2, explain(r));
      const ev = r.tasks.find((t) => t.host === 'worker1' && t.task === 'facts');
      assert.equal(ev?.status, 'failed');
      assert.match(ev?.message ?? '', /docker is installed but not running on worker1/);
      assert.deepEqual(r.changed, ['worker2/trust']);
    } finally {
      await L.shOk(
        'worker1',
        'service docker start >/dev/null; for i in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done',
      );
    }
    await assertConverged('after docker came back');
  });

  it('a pull the registry cannot finish (a layer lost from its storage): exit 2 with the daemon’s words, no image', async () => {
    // The manifest still answers, so the engine API starts its 200 stream, and the failure comes
    // inside it: the pull must still fail, not pass as done.
    const layer = (
      await L.shOk(
        'master',
        `cd /var/lib/regbook/registry/docker/registry/v2
         d=$(cat repositories/app/_manifests/tags/0.1/current/link)
         grep -o 'sha256:[0-9a-f]\\{64\\}' blobs/sha256/$(echo $d | cut -c8-9)/$(echo $d | cut -c8-)/data | tail -n 1 | cut -c8-`,
      )
    ).trim();
    assert.match(layer, /^[0-9a-f]{64}$/, 'the last layer of app:0.1 (the manifest lists the config first)');
    const blob = `/var/lib/regbook/registry/docker/registry/v2/blobs/sha256/${layer.slice(0, 2)}/${layer}/data`;
    await L.shOk('worker1', 'docker rmi master:5000/app:0.1 >/dev/null && docker image prune -f >/dev/null');
    await L.shOk('master', `mv ${blob} ${blob}.away`);
    try {
      const r = await applyJson(pb, inv);
      assert.equal(r.code, 2, explain(r));
      const ev = r.tasks.find((t) => t.host === 'worker1' && t.task === 'images');
      assert.equal(ev?.status, 'failed', explain(r));
      assert.match(ev?.message ?? '', /docker pull master:5000\/app:0\.1 failed: \S/);
      assert.doesNotMatch(ev?.message ?? '', /@@|errorDetail/, 'the daemon’s message, not the raw stream');
      assert.equal((await L.sh('worker1', 'docker image inspect master:5000/app:0.1')).code, 1);
    } finally {
      await L.shOk('master', `mv ${blob}.away ${blob}`);
    }
    // The pull goes through the engine API, over worker1's docker socket: no docker client starts.
    let next: Awaited<ReturnType<typeof applyJson>> | undefined;
    const calls = await dockerClientCalls(L, 'worker1', async () => {
      next = await applyJson(pb, inv);
    });
    assert.ok(next);
    assert.equal(next.code, 0, explain(next));
    assert.deepEqual(next.changed, ['worker1/images'], 'only the failed pull is redone');
    assert.deepEqual(calls, [], 'worker1 ran docker commands');
    await assertConverged('after the layer came back');
  });

  it('a full disk on a worker: exit 2 naming the file and the cause; the old file is intact', async () => {
    // A tiny tmpfs over certs.d holding an old ca.crt, then filled to the last byte.
    await L.shOk(
      'worker1',
      `mount -t tmpfs -o size=64k regbook-full /etc/docker/certs.d
       mkdir -p ${CERTS_D} && echo OLD-CERTIFICATE > ${CERTS_D}/ca.crt
       dd if=/dev/zero of=/etc/docker/certs.d/filler bs=1k count=1000 2>/dev/null || true`,
    );
    try {
      const r = await applyJson(pb, inv);
      assert.equal(r.code, 2, explain(r));
      const ev = r.tasks.find((t) => t.host === 'worker1' && t.task === 'trust');
      assert.equal(ev?.status, 'failed');
      assert.match(ev?.message ?? '', /ca\.crt/);
      assert.match(ev?.message ?? '', /No space left on device|short write/);
      assert.equal((await L.shOk('worker1', `cat ${CERTS_D}/ca.crt`)).trim(), 'OLD-CERTIFICATE');
      assert.deepEqual(await tempFiles(L, 'worker1'), []);
      assert.equal((await L.shOk('worker1', 'ls -A /etc/docker/certs.d/master:5000')).trim(), 'ca.crt');
    } finally {
      await L.shOk('worker1', 'umount /etc/docker/certs.d');
    }
    await assertConverged('after the disk was freed');
  });

  it('the SSH connection cut mid-upload: the write fails, the old file is intact, no temporary file', async () => {
    const inventory = loadInventory(inv);
    const host = inventory.hosts.find((h) => h.name === 'worker1')!;
    const conn = await connect(host);
    const before = await L.shOk('worker1', `sha256sum ${CERTS_D}/ca.crt`);
    // 256 MiB takes seconds to cross SSH: long enough to cut the connection in the middle.
    const big = Buffer.alloc(256 * 1024 * 1024, 0x41);
    const writing = conn.writeFile(`${CERTS_D}/ca.crt`, big, { mode: 0o444, privileged: true });
    const outcome = writing.then(
      () => 'written',
      (e: Error) => e.message,
    );
    // The sshd process serving this connection: the parent of the write script's shell.
    const killed = await L.shOk(
      'worker1',
      // The pattern is written so that it does not match this script's own command line.
      `for i in $(seq 200); do
         p=$(pgrep -f 'regbook-writ[e]' | head -1); [ -n "$p" ] && break; sleep 0.05
       done
       [ -n "$p" ] || { echo "no write script seen" >&2; exit 1; }
       sleep 0.5
       while [ "$p" != 1 ] && [ -r "/proc/$p/stat" ]; do
         case "$(cat /proc/$p/comm)" in sshd) kill -9 "$p"; echo "$p"; exit 0;; esac
         p=$(awk '{print $4}' /proc/$p/stat)
       done
       exit 1`,
    );
    assert.match(killed, /^\d+/);
    const message = await outcome;
    await conn.close().catch(() => undefined);
    assert.notEqual(message, 'written');
    assert.match(message, /worker1/);
    for (let i = 0; i < 20 && (await tempFiles(L, 'worker1')).length > 0; i++) await sleep(250);
    assert.deepEqual(await tempFiles(L, 'worker1'), []);
    assert.equal(await L.shOk('worker1', `sha256sum ${CERTS_D}/ca.crt`), before, 'the old file changed');
    await assertConverged('after the cut upload');
  });

  it('the SSH connection cut while an image archive streams into the engine’s load: clear failure, nothing half-loaded', async () => {
    const archived: PlaybookDoc = structuredClone(doc);
    archived.registry.imageArchive = join(L.dir, 'images', 'registry-2.tar');
    const pbArchive = writePlaybook(dir, archived, 'archive.yaml');
    // The registry image goes (container first), so the master must load it from the archive.
    await L.shOk('master', 'docker rm -f registry >/dev/null && docker rmi registry:2 >/dev/null');
    // The sshd processes already there (the listener among them) are not the run's.
    const earlier = (await L.shOk('master', 'pgrep -x sshd | tr "\\n" " "')).trim();
    const run = start(['apply', pbArchive, '-i', inv, '--output', 'json']);
    // The archive streams to the daemon through the SSH server itself (a socket channel into
    // docker's socket, no command on the host): the run's sshd that has written more than a MiB
    // is the connection carrying it. Killing it cuts the whole connection.
    const killed = await L.shOk(
      'master',
      `for i in $(seq 1200); do
         for p in $(pgrep -x sshd); do
           case " ${earlier} " in *" $p "*) continue;; esac
           w=$(awk '$1 == "wchar:" { print $2 }' /proc/$p/io 2>/dev/null)
           [ "\${w:-0}" -gt 1048576 ] && { kill -9 "$p"; echo "$p"; exit 0; }
         done
         sleep 0.05
       done
       echo "no archive seen streaming into the engine" >&2
       exit 1`,
    );
    assert.match(killed, /^\d+/);
    const r = await run.done;
    assert.ok(r.code === 4 || r.code === 2, explain(r));
    const { tasks } = parseNdjson(r.stdout);
    const ev = tasks.find((t) => t.host === 'master' && t.task === 'registry');
    assert.ok(ev && (ev.status === 'unreachable' || ev.status === 'failed'), r.stdout);
    assert.match(ev.message ?? '', /master/);
    // The image is either absent or whole; the lock is released even though the master's run
    // connection was cut; no temporary files anywhere.
    const img = await L.sh('master', 'docker image inspect -f "{{.Id}}" registry:2');
    if (img.code === 0)
      await L.shOk('master', 'docker run --rm --entrypoint /bin/registry registry:2 --version');
    assert.equal((await L.sh('master', 'test -e /var/lib/regbook/lock')).code, 1, 'the lock was left behind');
    assert.deepEqual(await tempFilesEverywhere(L), {});
    const next = await applyJson(pbArchive, inv);
    assert.equal(next.code, 0, explain(next));
    assert.ok(next.changed.includes('master/registry'), next.changed.join(' '));
    await assertConverged('after the cut docker load');
  });

  it('a crash-looping registry (bad REGISTRY_ setting): exit 2 with the container log lines', async () => {
    const bad: PlaybookDoc = structuredClone(doc);
    bad.registry.env = { REGISTRY_LOG_LEVEL: 'shout' };
    const pbBad = writePlaybook(dir, bad, 'bad-env.yaml');
    const r = await rb(['apply', pbBad, '-i', inv]);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stdout, /the registry did not answer GET \/v2\/ over TLS/);
    // The container's own last log line, read independently, is in regbook's output.
    const logs = await L.shOk('master', 'docker logs --tail 20 registry 2>&1');
    const line = logs
      .split('\n')
      .filter((l) => /level|panic|error/i.test(l))
      .pop();
    assert.ok(line, `no log line from the registry container:\n${logs}`);
    assert.ok(r.stdout.includes(line.trim().slice(0, 60)), `log line "${line}" missing:\n${r.stdout}`);
    assert.deepEqual(await tempFilesEverywhere(L), {});
    // Fixing the playbook converges: the container is recreated once, then nothing changes.
    const fixed = await applyJson(pb, inv);
    assert.equal(fixed.code, 0, explain(fixed));
    assert.ok(fixed.changed.includes('master/registry'), fixed.changed.join(' '));
    await assertConverged('after the registry setting was fixed');
  });

  it('a changed host key: the host is refused before anything runs on it', async () => {
    await L.shOk('worker1', `rm ${CERTS_D}/ca.crt`);
    await L.rekey('worker1');
    try {
      const r = await applyJson(pb, inv);
      assert.equal(r.code, 4, explain(r));
      const ev = r.tasks.find((t) => t.host === 'worker1');
      assert.equal(ev?.status, 'unreachable');
      assert.match(ev?.message ?? '', /host key/i);
      assert.match(ev?.message ?? '', /SHA256:/);
      // Nothing ran on worker1: its drift is still there.
      assert.equal((await L.sh('worker1', `test -e ${CERTS_D}/ca.crt`)).code, 1);
      assert.equal(r.recap.hosts.worker2!.failed, 0);
    } finally {
      await L.shOk(
        'worker1',
        'rm -f /etc/ssh/ssh_host_* && cp -p /var/lib/regbook-lab/hostkeys/ssh_host_* /etc/ssh/ && service ssh restart >/dev/null',
      );
      await sleep(500);
    }
    const next = await applyJson(pb, inv);
    assert.equal(next.code, 0, explain(next));
    assert.deepEqual(next.changed, ['worker1/trust']);
  });

  it('an SSH key the host refuses: the host is unreachable, nothing runs on it', async () => {
    await L.shOk('worker1', `rm ${CERTS_D}/ca.crt`);
    const key = join(dir, 'stranger_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const base = stringifyInventory(L, { worker1: { identityFile: key } });
    const badInv = join(dir, 'refused.yaml');
    writeFileSync(badInv, base);
    const r = await applyJson(pb, badInv);
    assert.equal(r.code, 4, explain(r));
    const ev = r.tasks.find((t) => t.host === 'worker1');
    assert.equal(ev?.status, 'unreachable');
    assert.match(ev?.message ?? '', /authentication failed/);
    assert.equal((await L.sh('worker1', `test -e ${CERTS_D}/ca.crt`)).code, 1, 'something ran on worker1');
    const next = await applyJson(pb, inv);
    assert.equal(next.code, 0, explain(next));
    assert.deepEqual(next.changed, ['worker1/trust']);
    await assertConverged('with the right key');
  });
});

/** The lab's inventory with per-host overrides. */
function stringifyInventory(L: Lab, overrides: Record<string, Record<string, unknown>>): string {
  const entry = (h: Lab['hosts'][number]) => ({
    name: h.name,
    address: h.address,
    port: h.port,
    ...(h.user !== 'root' ? { user: h.user } : {}),
    ...(h.become ? { become: h.become } : {}),
    ...(overrides[h.name] ?? {}),
  });
  return stringify({
    defaults: {
      user: 'root',
      identityFile: L.keyPath,
      knownHosts: L.knownHostsPath,
      hostKeyChecking: 'strict',
    },
    master: entry(L.master),
    workers: L.workers.map(entry),
  });
}
