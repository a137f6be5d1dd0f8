// How tags and digests are removed, against Debian's docker-registry (distribution 2.8) run as a
// child process: the plan for each case, then what the registry lists after it was carried out.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createCa, createServerCert } from '../../../src/pki/index.js';
import { MEDIA_TYPES, RegistryClient } from '../../../src/registry/client.js';
import { applyRemovals, planRemovals, type RemovalTarget } from '../../../src/registry/removal.js';
import { pushTinyImage } from './push.js';
import { startRegistry, type RunningRegistry } from './server.js';

const ca = createCa({
  commonName: 'registry.test',
  subjectAltNames: ['DNS:registry.test'],
  days: 30,
  keyBits: 2048,
});
const server = createServerCert({
  commonName: 'registry.test',
  subjectAltNames: ['DNS:registry.test'],
  days: 30,
  keyBits: 2048,
  ca,
});

let registry: RunningRegistry;
let client: RegistryClient;
before(async () => {
  registry = await startRegistry(server);
  client = new RegistryClient({
    connect: async () => connect(registry.port, '127.0.0.1'),
    servername: 'registry.test',
    port: 5000,
    ca: ca.certPem,
    timeoutMs: 10_000,
  });
});
after(async () => {
  client?.close();
  await registry?.stop();
});

/** A repository where tags a and b share one manifest (D1) and c has its own (D2). */
async function fixture(repo: string): Promise<{ d1: string; d2: string }> {
  const one = await pushTinyImage(client, repo, 'a');
  await client.putManifest(repo, 'b', MEDIA_TYPES.dockerManifest, one.manifestBytes);
  const two = await pushTinyImage(client, repo, 'c');
  return { d1: one.manifestDigest, d2: two.manifestDigest };
}

const listed = async (repo: string) => (await client.tags(repo)).sort();

describe('removing tags and digests', () => {
  const table: Array<{
    what: string;
    targets: (repo: string, d: { d1: string; d2: string }) => RemovalTarget[];
    plan: (d: { d1: string; d2: string }) => Array<[string, string, string[], string[]]>;
    left: string[];
  }> = [
    {
      what: 'a tag sharing its digest goes alone; the other tag stays on that digest',
      targets: (repo) => [{ repository: repo, tag: 'a' }],
      plan: (d) => [['tag-alone', d.d1, ['a'], ['b']]],
      left: ['b', 'c'],
    },
    {
      what: 'every tag of a digest: the manifest goes, once',
      targets: (repo) => [
        { repository: repo, tag: 'a' },
        { repository: repo, tag: 'b' },
      ],
      plan: (d) => [['digest', d.d1, ['a', 'b'], []]],
      left: ['c'],
    },
    {
      what: 'a digest takes every tag on it',
      targets: (repo, d) => [{ repository: repo, digest: d.d1 }],
      plan: (d) => [['digest', d.d1, ['a', 'b'], []]],
      left: ['c'],
    },
    {
      what: 'a tag alone on its digest: the manifest goes',
      targets: (repo) => [{ repository: repo, tag: 'c' }],
      plan: (d) => [['digest', d.d2, ['c'], []]],
      left: ['a', 'b'],
    },
    {
      what: 'a tag whose digest is also named goes with the digest',
      targets: (repo, d) => [
        { repository: repo, tag: 'a' },
        { repository: repo, digest: d.d1 },
      ],
      plan: (d) => [['digest', d.d1, ['a', 'b'], []]],
      left: ['c'],
    },
  ];
  table.forEach((c, n) => {
    it(c.what, async () => {
      const repo = `case${n}/app`;
      const d = await fixture(repo);
      const plan = await planRemovals(client, c.targets(repo, d));
      assert.deepEqual(plan.missing, []);
      assert.deepEqual(
        plan.removals.map((r) => [r.how, r.digest, r.tags, r.kept]),
        c.plan(d),
      );
      assert.deepEqual(await listed(repo), ['a', 'b', 'c'], 'planning changes nothing');
      await applyRemovals(client, plan.removals);
      assert.deepEqual(await listed(repo), c.left);
      for (const tag of c.left)
        assert.equal(
          await client.manifestDigest(repo, tag),
          tag === 'c' ? d.d2 : d.d1,
          `${tag} still points where it did`,
        );
    });
  });

  it('references the registry lacks are reported, not planned', async () => {
    const repo = 'missing/app';
    await fixture(repo);
    const gone = `sha256:${'0'.repeat(64)}`;
    const plan = await planRemovals(client, [
      { repository: repo, tag: 'nosuch' },
      { repository: repo, digest: gone },
      { repository: 'no/repo', tag: 'x' },
    ]);
    assert.deepEqual(plan.removals, []);
    assert.deepEqual(plan.missing, [
      { repository: repo, digest: gone },
      { repository: repo, tag: 'nosuch' },
      { repository: 'no/repo', tag: 'x' },
    ]);
  });
});
