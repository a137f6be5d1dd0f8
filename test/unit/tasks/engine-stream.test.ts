// The shell that reads the engine API's streamed answers (pulls and pushes through curl), run by a
// real sh on the bodies the daemon sends. That the daemon sends them is the lab's to show
// (test/integration/facts.test.ts, test/e2e/faults/hosts.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageSpec, Playbook } from '../../../src/config/model.js';
import { API_FAIL, API_STREAM_END } from '../../../src/facts/engine-api.js';
import { Secret } from '../../../src/core/secret.js';
import { pullCmd, pushCmd } from '../../../src/tasks/images.js';
import { LocalConnection } from '../../../src/transport/local.js';

/** Runs API_STREAM_END on `body` as curl would leave it in $r, with the HTTP status after it. */
async function streamEnd(body: string, status: number) {
  const script = `${API_FAIL}\nr="$1 @@$2"\n${API_STREAM_END}\necho not reached`;
  return new LocalConnection({ name: 'local' }).exec({
    argv: ['sh', '-c', script, 'sh', body, String(status)],
  });
}

// What docker 20.10 streams for a push, and for a pull whose layer the registry lost.
const PUSHED = [
  '{"status":"The push refers to repository [master:5000/app]"}',
  '{"status":"Preparing","progressDetail":{},"id":"5c58016628af"}',
  '{"status":"0.1: digest: sha256:6ec2 size: 528"}',
  '{"progressDetail":{},"aux":{"Tag":"0.1","Digest":"sha256:6ec2","Size":528}}',
].join('\n');
const LOST =
  '{"status":"Pulling fs layer","progressDetail":{},"id":"a1"}\n' +
  '{"errorDetail":{"message":"unknown blob"},"error":"unknown blob"}';

describe('engine API streams, read by sh', () => {
  it('a 200 with no error in its stream succeeds and ends the script', async () => {
    const r = await streamEnd(PUSHED, 200);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
  });

  it('a failure inside a 200 stream fails with the daemon’s message, in either form', async () => {
    for (const body of [LOST, '{"status":"x"}\n{"errorDetail":{"message":"unknown blob"}}']) {
      const r = await streamEnd(body, 200);
      assert.equal(r.code, 1, body);
      assert.equal(r.stderr, 'unknown blob\n', body);
      assert.equal(r.stdout, '');
    }
  });

  it('a refused request fails with its message; JSON quotes are printed as quotes', async () => {
    const r = await streamEnd('{"message":"Get \\"https://master:5000/v2/\\": connection refused"}', 500);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Get "https://master:5000/v2/": connection refused\n');
  });

  it('a status other than 200 fails even with a clean body, and an odd body is shown as it is', async () => {
    const r = await streamEnd('upstream went away', 502);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'upstream went away\n');
  });

  it('api_fail puts its prefix before the message', async () => {
    const script = `${API_FAIL}\napi_fail '{"message":"No such image: x:1"}' 'docker tag x:1 r/x:1: '`;
    const r = await new LocalConnection({ name: 'local' }).exec({ argv: ['sh', '-c', script] });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'docker tag x:1 r/x:1: No such image: x:1\n');
  });
});

describe('pull and push commands', () => {
  const pb = { registry: { address: 'master:5000' } } as unknown as Playbook;
  const image = { name: 'team/app:1.0-rc', repository: 'team/app', tag: '1.0-rc' } as ImageSpec;

  it('pass every name as a positional parameter of a fixed script, encoded for the URL where it goes', () => {
    const push = pushCmd(pb, image, 'docker.io/library/app:1.0');
    assert.deepEqual(push.argv.slice(3), [
      'regbook-push',
      'docker.io/library/app:1.0',
      'master:5000/team/app:1.0-rc',
      'docker.io/library/app:1.0',
      'master:5000/team/app',
      'master%3A5000%2Fteam%2Fapp',
      '1.0-rc',
    ]);
    assert.ok(!push.argv[2]!.includes('team/app'), 'no name inside the script');
    const pull = pullCmd(pb, image);
    assert.deepEqual(pull.argv.slice(3), [
      'regbook-pull',
      'master:5000/team/app:1.0-rc',
      'master%3A5000%2Fteam%2Fapp',
      '1.0-rc',
    ]);
    assert.equal(push.privileged, true);
    assert.equal(pull.privileged, true);
  });

  it('with auth, carry the X-Registry-Auth header on stdin only, and never fall back to the client', async () => {
    const header = new Secret('X-Registry-Auth: c2VjcmV0\n');
    const dir = (await new LocalConnection({ name: 'local' }).exec({ argv: ['mktemp', '-d'] })).stdout.trim();
    const stub = `printf '#!/bin/sh\\necho "docker $*" >> ${dir}/calls\\n' > ${dir}/docker; chmod 755 ${dir}/docker`;
    const local = new LocalConnection({ name: 'local' });
    assert.equal((await local.exec({ argv: ['sh', '-c', stub] })).code, 0);
    const env = { PATH: `${dir}:/usr/bin:/bin`, DOCKER_HOST: 'unix:///nowhere.sock' };
    for (const cmd of [pushCmd(pb, image, 'sha256:abc', header), pullCmd(pb, image, header)]) {
      assert.equal(cmd.stdin, header);
      assert.equal(cmd.argv.at(-1), 'auth');
      assert.ok(!cmd.argv.some((a) => a.includes('c2VjcmV0')), 'the header is in argv');
      const r = await local.exec({ ...cmd, privileged: false, env });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /with registry\.auth regbook pushes and pulls through the engine API/);
    }
    assert.equal((await local.exec({ argv: ['sh', '-c', `cat ${dir}/calls 2>/dev/null`] })).stdout, '');
    await local.exec({ argv: ['rm', '-rf', dir] });
  });

  it('fall back to the docker client where the engine API gate fails', async () => {
    // DOCKER_HOST fails the gate on any machine: the scripts run the client, which a stub on PATH
    // records.
    const dir = (await new LocalConnection({ name: 'local' }).exec({ argv: ['mktemp', '-d'] })).stdout.trim();
    const stub = `printf '#!/bin/sh\\necho "docker $*" >> ${dir}/calls\\n' > ${dir}/docker; chmod 755 ${dir}/docker`;
    const local = new LocalConnection({ name: 'local' });
    assert.equal((await local.exec({ argv: ['sh', '-c', stub] })).code, 0);
    const env = { PATH: `${dir}:/usr/bin:/bin`, DOCKER_HOST: 'unix:///nowhere.sock' };
    for (const cmd of [pushCmd(pb, image, 'sha256:abc'), pullCmd(pb, image)]) {
      const r = await local.exec({ ...cmd, privileged: false, env });
      assert.equal(r.code, 0, r.stderr);
    }
    const calls = (await local.exec({ argv: ['cat', `${dir}/calls`] })).stdout;
    assert.equal(
      calls,
      'docker tag sha256:abc master:5000/team/app:1.0-rc\ndocker push master:5000/team/app:1.0-rc\n' +
        'docker pull master:5000/team/app:1.0-rc\n',
    );
    await local.exec({ argv: ['rm', '-rf', dir] });
  });
});
