// The object store of the lab, proved with the registry itself: Debian's registry binary (the lab's
// registry:2) runs on two hosts with distribution's s3-aws driver against radosgw, configured by the
// settings regbook derives from a playbook's registry.storage.s3, with one shared http.secret. An
// image pushed to the master's replica is pulled back from worker1's, whose own disk holds nothing;
// radosgw-admin finds the image's objects in the bucket, and haproxy answers for either replica.
// The replicas serve blobs themselves (no redirect to the store), and deletes work on S3 too.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadBoth } from '../../src/config/index.js';
import type { EnvRef } from '../../src/config/model.js';
import { storageSettings } from '../../src/config/storage.js';
import type { Lab } from '../helpers/lab.js';
import { s3LabOrSkip, type S3Lab } from '../helpers/s3-lab.js';

const CONTAINER = 'regbook-s3-replica';
const REPLICAS = ['master', 'worker1'];
// A repository of its own per run: the bucket outlives a test run.
const REPO = `s3check/run${Date.now().toString(36)}`;

const { brought, unavailable } = await s3LabOrSkip();

describe('registry replicas on the lab object store (Ceph radosgw)', { skip: unavailable ?? false }, () => {
  let S: S3Lab;
  let L: Lab;
  let env: Record<string, string>;
  let keys: { accessKey: string; secretKey: string };

  before(async () => {
    S = brought!;
    L = S.lab;
    await L.reset();
    keys = await S.keys();
    // The registry settings come from a playbook, as regbook reads it: storage s3 with ${env:...} keys.
    const dir = await mkdtemp(join(tmpdir(), 'regbook-s3-'));
    const playbook = join(dir, 's3-site.yaml');
    await writeFile(
      playbook,
      `version: 1
registry:
  address: ${S.lb.address}
  replicas: [${REPLICAS.join(', ')}]
  storage:
    s3:
      endpoint: ${S.ceph.endpoint}
      bucket: ${S.ceph.bucket}
      region: us-east-1
      accessKey: \${env:LAB_S3_ACCESS_KEY}
      secretKey: \${env:LAB_S3_SECRET_KEY}
`,
    );
    const { playbook: pb } = loadBoth(playbook, L.inventoryPath);
    assert.deepEqual(pb.registry.replicas, REPLICAS);
    const secrets: Record<string, string> = {
      LAB_S3_ACCESS_KEY: keys.accessKey,
      LAB_S3_SECRET_KEY: keys.secretKey,
    };
    const resolve = (v: string | EnvRef) => (typeof v === 'string' ? v : secrets[v.env]!);
    env = Object.fromEntries(
      Object.entries(storageSettings(pb.registry.storage)).map(([k, v]) => [k, resolve(v)]),
    );
    env.REGISTRY_HTTP_SECRET = randomBytes(32).toString('hex');
    env.REGISTRY_STORAGE_DELETE_ENABLED = 'true';

    // worker1 gets the registry image from the lab's archive, as the master has it.
    const has = await L.sh('worker1', 'docker image inspect registry:2 >/dev/null 2>&1');
    if (has.code !== 0) {
      const tar = await readFile(join(L.dir, 'images', 'registry-2.tar'));
      const r = await L.sh('worker1', 'docker load -q', { stdin: tar });
      assert.equal(r.code, 0, r.stderr);
    }
    // One replica per host on port 5000, where haproxy looks for them. The settings (keys included)
    // reach `docker run` through its environment, read from stdin: never in an argv.
    const names = Object.keys(env);
    const lines = names.map((k) => `${k}=${env[k]}`).join('\n') + '\n';
    for (const host of REPLICAS) {
      const r = await L.sh(
        host,
        `set -e
while IFS= read -r line; do export "$line"; done
docker rm -f ${CONTAINER} >/dev/null 2>&1 || true
docker run -d --name ${CONTAINER} -p 5000:5000 ${names.map((n) => `-e ${n}`).join(' ')} registry:2 >/dev/null
for i in $(seq 1 60); do curl -fsS -o /dev/null http://127.0.0.1:5000/v2/ && exit 0; sleep 0.5; done
docker logs ${CONTAINER} >&2; exit 1`,
        { stdin: lines },
      );
      assert.equal(r.code, 0, `the replica on ${host} did not answer:\n${r.stderr}`);
    }
  });

  after(async () => {
    for (const host of REPLICAS) await L?.sh(host, `docker rm -f ${CONTAINER} >/dev/null 2>&1 || true`);
  });

  it('the settings select the s3 driver with the endpoint, and keep the keys out of every argv', async () => {
    assert.equal(env.REGISTRY_STORAGE, 's3');
    assert.equal(env.REGISTRY_STORAGE_S3_REGIONENDPOINT, S.ceph.endpoint);
    assert.equal(env.REGISTRY_STORAGE_S3_SECURE, 'false'); // http:// endpoint
    const ps = await L.shOk('master', 'ps -eo args');
    assert.ok(!ps.includes(keys.secretKey), 'the secret key is in a process argument');
  });

  it('an image pushed to one replica is pulled from the other, and lives in the bucket only', async () => {
    const before = await bucketObjects();
    const pushed = await L.shOk(
      'master',
      `set -e
docker tag app:0.1 127.0.0.1:5000/${REPO}:0.1
docker push 127.0.0.1:5000/${REPO}:0.1 >/dev/null
docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' 127.0.0.1:5000/${REPO}:0.1 | sed -n 's/.*@//p' | head -n1`,
    );
    const digest = pushed.trim();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);

    const pulled = await L.shOk(
      'worker1',
      `set -e
docker rmi -f 127.0.0.1:5000/${REPO}:0.1 >/dev/null 2>&1 || true
docker pull 127.0.0.1:5000/${REPO}:0.1 >/dev/null
docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' 127.0.0.1:5000/${REPO}:0.1 | sed -n 's/.*@//p' | head -n1`,
    );
    assert.equal(pulled.trim(), digest, 'worker1 pulled another image than the master pushed');

    // Neither replica's own disk holds it: the registry's local data directory stays empty.
    for (const host of REPLICAS) {
      const files = await L.shOk(
        host,
        `d=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/var/lib/registry"}}{{.Source}}{{end}}{{end}}' ${CONTAINER})
find "$d" -type f | wc -l`,
      );
      assert.equal(files.trim(), '0', `${host}'s replica wrote image data to its own disk`);
    }

    const after = await bucketObjects();
    assert.ok(after > before, `the bucket holds ${after} objects, ${before} before the push`);
    const list = await S.inCeph([
      'radosgw-admin',
      'bucket',
      'list',
      `--bucket=${S.ceph.bucket}`,
      '--max-entries=100000',
    ]);
    assert.equal(list.code, 0, list.stderr);
    const objects = (JSON.parse(list.stdout) as { name: string }[]).map((o) => o.name);
    assert.ok(
      objects.includes(`docker/registry/v2/repositories/${REPO}/_manifests/tags/0.1/current/link`),
      `the tag's link is not in the bucket (${objects.length} objects)`,
    );
    assert.ok(
      objects.includes(`docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`),
      'the manifest blob is not in the bucket',
    );
  });

  it('haproxy answers for the replicas, and keeps answering when one of them stops', async () => {
    const tags = `curl -fsS http://${S.lb.address}/v2/${REPO}/tags/list`;
    assert.match(await L.shOk('worker2', tags), /"0\.1"/);
    await L.shOk('master', `docker stop ${CONTAINER} >/dev/null`);
    try {
      // haproxy takes a refused server out of the rotation; every request lands on worker1 then.
      for (let i = 0; i < 4; i++)
        assert.match(
          await L.shOk(
            'worker2',
            `curl --retry 5 --retry-all-errors --retry-delay 1 -fsS http://${S.lb.address}/v2/${REPO}/tags/list`,
          ),
          /"0\.1"/,
        );
    } finally {
      await L.shOk('master', `docker start ${CONTAINER} >/dev/null`);
    }
  });

  it('blobs come from the replica; a delete through one replica is seen by the other', async () => {
    // REGISTRY_STORAGE replaces the image's whole storage section; the delete switch set beside it
    // must still hold, or regbook's rm, absent images and gc would fail on S3.
    const digest = (
      await L.shOk(
        'master',
        `curl -fsS -o /dev/null -D - -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://127.0.0.1:5000/v2/${REPO}/manifests/0.1 | tr -d '\\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'`,
      )
    ).trim();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    // With redirect off (the default) the replica serves a blob itself instead of sending the
    // client to the store with a 307.
    const manifest = JSON.parse(
      await L.shOk(
        'worker1',
        `curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://127.0.0.1:5000/v2/${REPO}/manifests/0.1`,
      ),
    ) as { config: { digest: string } };
    const blob = await L.shOk(
      'worker1',
      `curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:5000/v2/${REPO}/blobs/${manifest.config.digest}`,
    );
    assert.equal(blob, '200', 'the replica did not serve the blob itself');
    const code = await L.shOk(
      'worker1',
      `curl -sS -o /dev/null -w '%{http_code}' -X DELETE http://127.0.0.1:5000/v2/${REPO}/manifests/${digest}`,
    );
    assert.equal(code, '202', 'the replica refused the delete');
    const tags = await L.sh('master', `curl -sS http://127.0.0.1:5000/v2/${REPO}/tags/list`);
    assert.doesNotMatch(tags.stdout, /"0\.1"/, 'the master still lists the deleted tag');
  });

  async function bucketObjects(): Promise<number> {
    const r = await S.inCeph(['radosgw-admin', 'bucket', 'stats', `--bucket=${S.ceph.bucket}`]);
    assert.equal(r.code, 0, r.stderr);
    const stats = JSON.parse(r.stdout) as { usage: { 'rgw.main'?: { num_objects: number } } };
    return stats.usage['rgw.main']?.num_objects ?? 0;
  }
});
