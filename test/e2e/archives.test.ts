import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lab, type Lab } from '../helpers/lab.js';
import { tempDir } from '../helpers/cli.js';
import { applyJson, basePlaybook, checkThenApply, explain, writePlaybook } from './registry.js';

// Images that come from the control node: the registry image itself (imageArchive) and an
// application image (source.archive), each a `docker save` tarball streamed into `docker load`.
describe('regbook apply with archives from the control node', () => {
  let L: Lab;
  let dir: string;
  before(async () => {
    L = await lab();
    await L.reset();
    dir = tempDir();
    // The master starts without either image, as a fresh machine would.
    await L.shOk('master', 'docker rmi -f registry:2 tool:1.0 >/dev/null');
  });
  after(async () => {
    await L?.reset(); // also loads the master's images back from their archives
  });

  it('loads the registry image and an application image from tarballs, then is idempotent', async () => {
    const doc = basePlaybook();
    doc.registry.imageArchive = join(L.dir, 'images', 'registry-2.tar');
    doc.images = [
      { name: 'tool:1.0', source: { archive: join(L.dir, 'images', 'tool-1.0.tar') }, pullOn: ['worker1'] },
    ];
    const pb = writePlaybook(dir, doc);
    const inv = await L.writeInventory({ hosts: ['master', 'worker1'] });
    const { apply } = await checkThenApply(pb, inv, L);
    const registry = apply.tasks.find((t) => t.task === 'registry')!;
    assert.ok(
      registry.changes.some((c) => c.what === 'image registry:2' && /loaded from/.test(c.to ?? '')),
      JSON.stringify(registry),
    );
    const expected = await L.shOk('master', 'docker image inspect --format "{{.Id}}" master:5000/tool:1.0');
    assert.equal(
      await L.shOk('worker1', 'docker image inspect --format "{{.Id}}" master:5000/tool:1.0'),
      expected,
    );
    const again = await applyJson(pb, inv);
    assert.equal(again.code, 0, explain(again));
    assert.deepEqual(again.pairs, []);
  });
});
