// The facts round trip against the lab's real hosts and docker daemons: the image list asked of
// each host's engine must be the list `docker images` gives. The registry task's read of its
// container and image through the engine must read as `docker inspect` does, and a push through
// the engine must leave the registry holding what `docker push` leaves.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadInventory } from '../../src/config/index.js';
import { readHostFacts } from '../../src/facts/os.js';
import { inspectRegistry } from '../../src/tasks/registry.js';
import type { ImageSpec, Playbook } from '../../src/config/model.js';
import { pushImage } from '../../src/tasks/image-transfer.js';
import { RESTART_DOCKER } from '../../src/tasks/trust.js';
import { waitForDocker } from '../../src/tasks/trust/restart.js';
import { connect, type Connection } from '../../src/transport/index.js';
import { dockerClientCalls, IMAGE_LIST_FORMAT, parseImageList } from '../helpers/docker-client.js';
import { lab, type Lab } from '../helpers/lab.js';

describe('facts against the lab', () => {
  let L: Lab;
  const conns = new Map<string, Connection>();
  before(async () => {
    L = await lab();
    const inv = loadInventory(L.inventoryPath);
    for (const h of inv.hosts) conns.set(h.name, await connect(h));
  });
  after(async () => {
    for (const c of conns.values()) await c.close();
  });

  /** What `docker images` says on the host, through the same connection (and sudo where set). */
  async function viaClient(conn: Connection) {
    const r = await conn.exec({
      argv: ['docker', 'images', '--no-trunc', '--format', IMAGE_LIST_FORMAT],
      privileged: true,
    });
    assert.equal(r.code, 0, r.stderr);
    return parseImageList(r.stdout);
  }

  it('reads an apply’s facts with the image list from each host’s docker engine, as docker images shows it', async () => {
    for (const [name, conn] of conns) {
      const { exec, facts } = await readHostFacts(conn);
      assert.equal(exec.code, 0, `${name}: ${exec.stderr}`);
      assert.doesNotMatch(exec.stdout, /@@regbook-images@@/, `${name}: the script listed the images itself`);
      assert.equal(facts?.dockerRunning, true, name);
      assert.equal(facts.dockerPresent, true, name);
      assert.deepEqual(facts.images, await viaClient(conn), name);
    }
  });

  it('says docker is not running when the daemon is stopped', async () => {
    const w = conns.get('worker3')!;
    await L.shOk('worker3', 'service docker stop >/dev/null');
    try {
      // The engine's stream the stop ended: docker is there, but not running.
      const read = await readHostFacts(w);
      assert.equal(read.facts?.dockerPresent, true);
      assert.equal(read.facts.dockerRunning, false);
      assert.equal(read.facts.images.size, 0);
    } finally {
      await L.shOk(
        'worker3',
        'service docker start >/dev/null; until docker info >/dev/null 2>&1; do sleep 0.2; done',
      );
    }
  });

  it('reads the registry container and image through the engine as docker inspect does', async () => {
    const master = conns.get('master')!;
    const name = 'regbook-probe-test';
    const made = await master.exec({
      argv: ['docker', 'create', '--name', name, '--label', 'x=y z', '-e', 'A=1', 'registry:2'],
      privileged: true,
    });
    assert.equal(made.code, 0, made.stderr);
    try {
      const cases = [
        { name, image: 'registry:2' },
        { name, image: 'docker.io/library/registry:2' },
        { name: 'regbook-no-such-container', image: 'no-such-image:1' },
        { name, image: '[::1]:5000/not-a-reference-docker-reads:1' },
      ];
      // What the docker client's own inspect says, as the registry task reads it.
      const viaInspect = async (c: { name: string; image: string }) => {
        const ct = await master.exec({ argv: ['docker', 'container', 'inspect', c.name], privileged: true });
        const im = await master.exec({
          argv: ['docker', 'image', 'inspect', '--format', '{{.Id}}', c.image],
          privileged: true,
        });
        const list = JSON.parse(ct.stdout.trim() || '[]') as object[];
        const imageId = im.code === 0 ? im.stdout.trim() : '';
        return { ...(list[0] ? { container: list[0] } : {}), ...(imageId ? { imageId } : {}) };
      };
      for (const c of cases) {
        assert.deepEqual(await inspectRegistry(master.docker(), c), await viaInspect(c), JSON.stringify(c));
      }
      const found = await inspectRegistry(master.docker(), cases[0]!);
      assert.equal(found.container?.Config?.Labels?.x, 'y z');
      assert.match(found.imageId ?? '', /^sha256:[0-9a-f]{64}$/);
      assert.deepEqual(await inspectRegistry(master.docker(), cases[2]!), {});
    } finally {
      await master.exec({ argv: ['docker', 'rm', '-f', name], privileged: true });
    }
  });

  it('tags and pushes through the engine API as the client does, and reports the daemon’s words when it cannot', async () => {
    const master = conns.get('master')!;
    // A registry of its own on the master, on loopback, which docker reaches over plain HTTP.
    const reg = 'regbook-push-test';
    const address = '127.0.0.1:5999';
    const pb = { registry: { address } } as unknown as Playbook;
    const image = (tag: string) =>
      ({ name: `app:${tag}`, repository: 'app', tag, state: 'present' }) as ImageSpec;
    const started = await master.exec({
      argv: ['docker', 'run', '-d', '--name', reg, '-p', `${address}:5000`, 'registry:2'],
      privileged: true,
    });
    assert.equal(started.code, 0, started.stderr);
    try {
      await L.shOk(
        'master',
        `i=0; until curl -sf http://${address}/v2/ >/dev/null; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done`,
      );
      const id = (await L.shOk('master', "docker image inspect --format '{{.Id}}' app:0.1")).trim();
      const calls = await dockerClientCalls(L, 'master', () =>
        pushImage(master.docker(), pb, image('api'), 'app:0.1'),
      );
      // The client starts at most as the engine API's stream (none when the connection's engine
      // already keeps one alive): no `docker tag` nor `docker push`.
      assert.ok(calls.length <= 1, calls.join(', '));
      assert.deepEqual(
        calls.filter((c) => c !== 'system dial-stdio'),
        [],
        'tagged and pushed through the engine API stream alone',
      );
      // What the images task compares: the config digest of the registry's manifest is the image id.
      const manifest = JSON.parse(
        await L.shOk(
          'master',
          `curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://${address}/v2/app/manifests/api`,
        ),
      ) as { config: { digest: string } };
      assert.equal(manifest.config.digest, id);
      await L.shOk('master', `docker image inspect ${address}/app:api >/dev/null`);
      await assert.rejects(
        pushImage(master.docker(), pb, image('x'), 'no-such-image:1'),
        (e: Error) =>
          e.message === `docker tag no-such-image:1 ${address}/app:x failed: No such image: no-such-image:1`,
      );
      // The registry gone: the daemon answers 200 and reports the failure inside the stream.
      await master.exec({ argv: ['docker', 'rm', '-f', reg], privileged: true });
      await assert.rejects(pushImage(master.docker(), pb, image('gone'), 'app:0.1'), (e: Error) => {
        assert.match(e.message, /^docker push 127\.0\.0\.1:5999\/app:gone failed: .*connection refused/);
        assert.doesNotMatch(e.message, /errorDetail|\\"/);
        return true;
      });
    } finally {
      await master.exec({
        argv: ['sh', '-c', `docker rm -f ${reg}; docker rmi ${address}/app:api ${address}/app:gone`],
        privileged: true,
      });
    }
  });

  it('after the docker restart, the wait returns once the daemon answers, polled through the engine API alone', async () => {
    const w = conns.get('worker2')!;
    const pid = async () => (await L.shOk('worker2', 'cat /var/run/docker.pid')).trim();
    const before = await pid();
    // The engine had a kept-alive stream, which the restart ends.
    assert.equal((await w.docker().request('GET', '/_ping')).status, 200);
    let back = false;
    const calls = await dockerClientCalls(L, 'worker2', async () => {
      const r = await w.exec(
        { argv: ['sh', '-c', RESTART_DOCKER], privileged: true },
        { timeoutMs: 120_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      back = await waitForDocker(w.docker(), 60_000);
    });
    assert.ok(back, 'docker came back');
    // Asked right after, on the host, with no retry: the daemon must already serve.
    assert.match(
      await L.shOk('worker2', 'curl -s --max-time 2 --unix-socket /var/run/docker.sock http://docker/_ping'),
      /OK$/,
    );
    assert.ok(calls.length > 0, 'the wait asked the engine through dial-stdio');
    assert.deepEqual(
      calls.filter((c) => c !== 'system dial-stdio'),
      [],
      'polled through the engine API, no other docker command',
    );
    assert.notEqual(await pid(), before, 'docker was not restarted');
  });
});
