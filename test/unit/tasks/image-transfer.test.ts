// The requests the images task makes of a host's engine: which path, which query, and that the
// registry's credentials go only as X-Registry-Auth. That the daemon does what they ask is the
// lab's to show (test/integration/facts.test.ts, test/e2e/apply.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageSpec, Playbook } from '../../../src/config/model.js';
import { Secret } from '../../../src/core/secret.js';
import { TaskFailure } from '../../../src/core/task.js';
import { pullImage, pushImage } from '../../../src/tasks/image-transfer.js';
import { EngineError, type DockerApi, type EngineRequest } from '../../../src/transport/dockerEngine.js';

type Call = [string, string, EngineRequest | undefined];

function recorder(fail?: EngineError): { docker: DockerApi; calls: Call[] } {
  const calls: Call[] = [];
  const docker: DockerApi = {
    hostName: 'h',
    request: async (m, p, r) => (calls.push([m, p, r]), { status: 200, body: Buffer.from('[]') }),
    json: async <T>(m: string, p: string, r?: EngineRequest) => {
      calls.push([m, p, r]);
      if (fail) throw fail;
      return undefined as T;
    },
    stream: async (m, p, r) => (calls.push([m, p, r]), []),
  };
  return { docker, calls };
}

describe('image transfer through the engine API', () => {
  const pb = { registry: { address: 'master:5000' } } as unknown as Playbook;
  const image = { name: 'team/app:1.0-rc', repository: 'team/app', tag: '1.0-rc' } as ImageSpec;
  const auth = { username: 'ci', password: new Secret('s3cret-password'), serveraddress: 'master:5000' };

  it('tags then pushes, the credentials only as registryAuth, {} when there are none', async () => {
    for (const a of [auth, undefined]) {
      const { docker, calls } = recorder();
      await pushImage(docker, pb, image, 'docker.io/library/app:1.0', a);
      assert.deepEqual(
        calls.map(([m, p]) => `${m} ${p}`),
        ['POST /images/docker.io/library/app:1.0/tag', 'POST /images/master:5000/team/app/push'],
      );
      assert.deepEqual(calls[0]![2], { query: { repo: 'master:5000/team/app', tag: '1.0-rc' } });
      assert.deepEqual(calls[1]![2], { query: { tag: '1.0-rc' }, registryAuth: a ?? 'anonymous' });
      assert.ok(!JSON.stringify(calls).includes('s3cret'), 'the password shows only through Secret.reveal');
    }
  });

  it('pulls the registry’s image by repository and tag, with the credentials as registryAuth', async () => {
    const { docker, calls } = recorder();
    await pullImage(docker, pb, image, auth);
    assert.deepEqual(calls, [
      [
        'POST',
        '/images/create',
        { query: { fromImage: 'master:5000/team/app', tag: '1.0-rc' }, registryAuth: auth },
      ],
    ]);
  });

  it('words a refusal as the docker command it stands for, with the daemon’s message', async () => {
    const { docker } = recorder(new EngineError('h', 404, 'No such image: x:1'));
    await assert.rejects(
      pushImage(docker, pb, image, 'x:1'),
      (e: unknown) =>
        e instanceof TaskFailure &&
        e.message === 'docker tag x:1 master:5000/team/app:1.0-rc failed: No such image: x:1',
    );
  });
});
