// `regbook rm` and the images task's absent rule on the lab: tags and digests removed from the real
// registry, checked with curl and docker on a worker, never through regbook alone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { lab, type Lab } from '../helpers/lab.js';
import { regbook, tempDir } from '../helpers/cli.js';
import {
  basePlaybook,
  checkThenApply,
  explain,
  writePlaybook,
  applyJson,
  type PlaybookDoc,
  LOCK_DIR,
  withLockHeldElsewhere,
} from './registry.js';

const CURL = 'curl -sS --fail --cacert /etc/docker/certs.d/master:5000/ca.crt';
const ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json';

describe('rm and absent tags that share a digest', () => {
  let L: Lab;
  let dir: string;
  let inv: string;
  let pb: string;
  let doc: PlaybookDoc;

  /** The tags of app as the registry API lists them to a worker. */
  const tags = async () => {
    const r = await L.sh('worker1', `${CURL} https://master:5000/v2/app/tags/list`);
    if (r.code !== 0) return [];
    return ((JSON.parse(r.stdout) as { tags: string[] | null }).tags ?? []).sort();
  };
  const digestOf = async (tag: string) => {
    const h = await L.shOk(
      'worker1',
      `${CURL} -I -H 'Accept: ${ACCEPT}' https://master:5000/v2/app/manifests/${tag}`,
    );
    return /docker-content-digest:\s*(\S+)/i.exec(h)![1]!;
  };
  /** A fresh pull of the tag on worker1 (the local copy removed first). */
  const pulls = async (tag: string) =>
    (
      await L.sh(
        'worker1',
        `docker rmi -f master:5000/app:${tag} >/dev/null 2>&1; docker pull -q master:5000/app:${tag}`,
      )
    ).code === 0;
  const rm = (...args: string[]) => regbook(['rm', pb, '-i', inv, ...args]);
  const converge = async (playbook = pb) => {
    const r = await applyJson(playbook, inv);
    assert.equal(r.code, 0, explain(r));
  };

  before(async () => {
    L = await lab({ workers: 2 });
    await L.reset();
    // A second tag for app:0.1's image, so two tags share one digest in the registry.
    await L.shOk('master', 'docker tag app:0.1 app:stable');
    dir = tempDir();
    inv = await L.writeInventory({ hosts: ['master', 'worker1'] });
    doc = basePlaybook();
    doc.images = [...doc.images!, { name: 'app:stable', source: { host: 'master' }, pullOn: 'workers' }];
    pb = writePlaybook(dir, doc);
    await converge();
  });
  after(async () => {
    await L?.sh('master', 'docker rmi app:stable');
    await L?.reset();
  });

  it('rm --check of a tag that shares its digest says it goes alone, and removes nothing', async () => {
    assert.deepEqual(await tags(), ['0.1', '0.2', 'stable']);
    const digest = await digestOf('0.1');
    assert.equal(await digestOf('stable'), digest);
    const text = await rm('app:0.1', '--check');
    assert.equal(text.code, 0, explain(text));
    assert.equal(text.stdout, `would remove app:0.1 alone (${digest} stays, tagged stable)\n`);
    const json = await rm('master:5000/app:0.1', '--check', '--output', 'json');
    assert.equal(json.code, 0, explain(json));
    assert.deepEqual(JSON.parse(json.stdout), {
      registry: 'master:5000',
      check: true,
      removed: [
        { repository: 'app', reference: '0.1', digest, tags: ['0.1'], kept: ['stable'], how: 'tag-alone' },
      ],
    });
    assert.deepEqual(await tags(), ['0.1', '0.2', 'stable'], '--check removed nothing');
  });

  it('rm of a tag that shares its digest removes that tag alone: the other still pulls', async () => {
    const digest = await digestOf('stable');
    const r = await rm('app:0.1');
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /^removed app:0\.1 alone/);
    assert.deepEqual(await tags(), ['0.2', 'stable']);
    assert.equal(await digestOf('stable'), digest, 'the kept tag points where it did');
    assert.ok(await pulls('stable'), 'app:stable still pulls');
    assert.equal(await pulls('0.1'), false, 'app:0.1 is gone');
    assert.equal((await L.sh('master', `test -d ${LOCK_DIR}`)).code, 1, 'the deploy lock is released');
  });

  it('rm of a digest removes every tag on it, and names them', async () => {
    await converge(); // app:0.1 back, on the digest app:stable has
    const digest = await digestOf('0.1');
    const r = await rm(`app@${digest}`, '--output', 'json');
    assert.equal(r.code, 0, explain(r));
    const out = JSON.parse(r.stdout) as { removed: Array<{ tags: string[]; how: string }> };
    assert.deepEqual(
      out.removed.map((x) => [x.how, x.tags]),
      [['digest', ['0.1', 'stable']]],
    );
    assert.deepEqual(await tags(), ['0.2']);
    assert.equal(await pulls('stable'), false);
    assert.ok(await pulls('0.2'), 'the other image still pulls');
  });

  it('rm of a reference the registry lacks fails and removes nothing; bad references are usage errors', async () => {
    const r = await rm('app:0.2', 'app:nosuch');
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /not in the registry: app:nosuch; nothing was removed/);
    assert.deepEqual(await tags(), ['0.2']);
    const bad = await rm('app');
    assert.equal(bad.code, 1, explain(bad));
    assert.match(bad.stderr, /app: give a tag \(REPOSITORY:TAG\) or a digest/);
    const evil = await rm('app:../x');
    assert.equal(evil.code, 1, explain(evil));
  });

  it('rm while another machine holds the deploy lock removes nothing and names the holder', async () => {
    await withLockHeldElsewhere(L, 'ci@elsewhere', async () => {
      const r = await rm('app:0.2');
      assert.equal(r.code, 2, explain(r));
      assert.match(r.stderr, /deploy lock on master .* held by ci@elsewhere .*nothing was changed/);
      assert.deepEqual(await tags(), ['0.2']);
    });
  });

  it('rm refuses with registry.deleteEnabled false, before contacting anything', async () => {
    const off = writePlaybook(
      dir,
      { ...doc, registry: { ...doc.registry, deleteEnabled: false } },
      'off.yaml',
    );
    const r = await regbook(['rm', off, '-i', inv, 'app:0.2']);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /off\.yaml: registry\.deleteEnabled is false/);
    assert.deepEqual(await tags(), ['0.2']);
  });

  it('catalog of an unknown repository is an error naming the ones there are', async () => {
    const r = await regbook(['catalog', pb, '-i', inv, 'nosuch']);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /no repository nosuch in the registry at master:5000 \(repositories: app\)/);
    assert.equal(r.stdout, '');
    const app = await regbook(['catalog', pb, '-i', inv, 'app']);
    assert.equal(app.code, 0, explain(app));
    assert.match(app.stdout, /^app:0\.2\s+sha256:[0-9a-f]{64}\s+\d+(\.\d)? (B|KiB|MiB)$/m);
    assert.match(app.stdout, /^1 repository, 1 tag$/m);
  });

  it('--limit takes groups and globs on a real run, and names the known hosts when nothing matches', async () => {
    const hostsOf = async (limit: string) => {
      const r = await applyJson(pb, inv, ['--check', '--limit', limit]);
      assert.equal(r.code, 0, explain(r));
      return [...new Set(r.tasks.map((t) => t.host))].sort();
    };
    assert.deepEqual(await hostsOf('workers'), ['worker1']);
    assert.deepEqual(await hostsOf('worker*'), ['worker1']);
    assert.deepEqual(await hostsOf('master'), ['master']);
    assert.deepEqual(await hostsOf('all'), ['master', 'worker1']);
    const bad = await regbook(['apply', pb, '-i', inv, '--check', '--limit', 'db*']);
    assert.equal(bad.code, 1, explain(bad));
    assert.match(bad.stderr, /--limit db\* matches no host \(known: master, worker1;/);
  });

  it('images: an absent tag sharing its digest with a kept tag goes alone; check predicts it; verify passes', async () => {
    await converge();
    assert.deepEqual(await tags(), ['0.1', '0.2', 'stable']);
    const digest = await digestOf('stable');
    const absent = writePlaybook(
      dir,
      {
        ...doc,
        images: doc.images!.map((i) => (i.name === 'app:0.1' ? { name: 'app:0.1', state: 'absent' } : i)),
      },
      'absent.yaml',
    );
    const { check, apply } = await checkThenApply(absent, inv, L);
    const changes = (r: typeof check) =>
      r.tasks
        .filter((t) => t.task === 'images' && t.status === 'changed')
        .flatMap((t) => t.changes.map((c) => c.what));
    assert.deepEqual(changes(check), ['master:5000/app:0.1']);
    assert.deepEqual(changes(apply), ['master:5000/app:0.1']);
    assert.equal(
      apply.tasks.find((t) => t.task === 'verify' && t.host === 'master')?.status,
      'ok',
      'verify passes: the kept tag is still listed',
    );
    assert.deepEqual(await tags(), ['0.2', 'stable']);
    assert.equal(await digestOf('stable'), digest);
    assert.ok(await pulls('stable'), 'app:stable still pulls');
    const again = await applyJson(absent, inv);
    assert.equal(again.code, 0, explain(again));
    assert.deepEqual(again.pairs, [], 'nothing left to change');
  });
});
