// Which host holds each declared image, against what the registry serves: the drift the web view
// flags. Pure: the facts and the registry's tags are given.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostFacts } from '../../../src/core/task.js';
import type { Run } from '../../../src/tasks/shared.js';
import { imageViews, type RepositoryView } from '../../../src/web/state.js';

const ID1 = `sha256:${'1'.repeat(64)}`;
const ID2 = `sha256:${'2'.repeat(64)}`;
const DIGEST = `sha256:${'d'.repeat(64)}`;

const run = {
  playbook: {
    registry: { address: 'master:5000' },
    images: [
      { name: 'app:0.1', repository: 'app', tag: '0.1', state: 'present', pullOn: ['w1', 'w2', 'w3'] },
      { name: 'gone:1', repository: 'gone', tag: '1', state: 'present', pullOn: ['w1'] },
      { name: 'old:1', repository: 'old', tag: '1', state: 'absent', pullOn: [] },
    ],
  },
  inventory: { hosts: [{ name: 'm' }, { name: 'w1' }, { name: 'w2' }, { name: 'w3' }, { name: 'w4' }] },
} as unknown as Run;

const repos: RepositoryView[] = [{ repository: 'app', tags: [{ tag: '0.1', digest: DIGEST, imageId: ID1 }] }];

const facts = (images: Record<string, string>) =>
  ({ images: new Map(Object.entries(images)) }) as unknown as HostFacts;

describe('imageViews', () => {
  const views = imageViews(
    run,
    repos,
    new Map<string, HostFacts | undefined>([
      ['m', facts({ 'master:5000/app:0.1': ID1 })],
      ['w1', facts({ 'master:5000/app:0.1': ID1, 'master:5000/gone:1': ID2 })],
      ['w2', facts({ 'master:5000/app:0.1': ID2 })],
      ['w3', facts({})],
      ['w4', undefined],
    ]),
  );
  it('lists the images declared present, with the registry’s digest and id', () => {
    assert.deepEqual(
      views.map((v) => [v.name, v.reference, v.registryDigest, v.registryImageId]),
      [
        ['app:0.1', 'master:5000/app:0.1', DIGEST, ID1],
        ['gone:1', 'master:5000/gone:1', undefined, undefined],
      ],
    );
  });
  it('says per host whether it holds the same image, another, none, or cannot tell', () => {
    assert.deepEqual(
      views[0]!.hosts.map((h) => [h.host, h.state, h.expected]),
      [
        ['m', 'same', false],
        ['w1', 'same', true],
        ['w2', 'differs', true],
        ['w3', 'missing', true],
        ['w4', 'unknown', false],
      ],
    );
    assert.equal(views[0]!.drift, true);
    assert.equal(views[1]!.hosts.find((h) => h.host === 'w1')!.state, 'unserved');
    assert.equal(views[1]!.drift, true, 'an image the registry does not serve is drift');
  });
  it('is no drift when every host in pullOn holds the registry’s image', () => {
    const same = facts({ 'master:5000/app:0.1': ID1 });
    const v = imageViews(
      run,
      repos,
      new Map([
        ['w1', same],
        ['w2', same],
        ['w3', same],
      ]),
    );
    assert.equal(v[0]!.drift, false);
  });
});
