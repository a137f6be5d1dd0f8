// The facts script's choice of the docker socket, run by a real `sh` with the environments a host's
// login can have: the engine opens its streams there only where the docker client would go too.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dockerSocketOf, HOST_SCRIPT } from '../../../src/facts/os.js';

function socketWith(env: Record<string, string>, config?: string): string | undefined {
  const home = mkdtempSync(join(tmpdir(), 'regbook-facts-home-'));
  if (config !== undefined) {
    mkdirSync(join(home, '.docker'));
    writeFileSync(join(home, '.docker', 'config.json'), config);
  }
  const out = execFileSync('sh', ['-c', HOST_SCRIPT], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...env },
    encoding: 'utf8',
  });
  return dockerSocketOf(out);
}

test("the facts name docker's default socket when nothing chooses another", () => {
  assert.equal(socketWith({}), '/var/run/docker.sock');
  // A config without a current context (credentials only) chooses nothing.
  assert.equal(socketWith({}, '{"auths":{"registry.example":{}}}'), '/var/run/docker.sock');
  assert.equal(socketWith({}, '{"currentContext": ""}'), '/var/run/docker.sock');
});

test('the facts name the socket of a unix:// DOCKER_HOST, and none for other schemes', () => {
  assert.equal(
    socketWith({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }),
    '/run/user/1000/docker.sock',
  );
  assert.equal(socketWith({ DOCKER_HOST: 'tcp://10.0.0.5:2376' }), undefined);
  assert.equal(socketWith({ DOCKER_HOST: 'ssh://ops@builder' }), undefined);
  assert.equal(socketWith({ DOCKER_HOST: 'unix://relative.sock' }), undefined);
  assert.equal(socketWith({ DOCKER_HOST: 'unix:///run/../etc/docker.sock' }), undefined);
});

test('a docker context, from the environment or the config, leaves the choice to the docker client', () => {
  assert.equal(socketWith({ DOCKER_CONTEXT: 'remote' }), undefined);
  assert.equal(socketWith({}, '{\n  "currentContext": "remote"\n}'), undefined);
  // DOCKER_CONFIG moves the config, as it does for the client.
  const dir = mkdtempSync(join(tmpdir(), 'regbook-facts-config-'));
  writeFileSync(join(dir, 'config.json'), '{"currentContext":"remote"}');
  assert.equal(socketWith({ DOCKER_CONFIG: dir }), undefined);
  // DOCKER_HOST wins over a context, as it does for the client.
  assert.equal(
    socketWith({ DOCKER_HOST: 'unix:///var/run/docker.sock' }, '{"currentContext":"remote"}'),
    '/var/run/docker.sock',
  );
});

test('under sudo the facts name no socket: the SSH server would open it as the login user', () => {
  assert.equal(socketWith({ SUDO_USER: 'deploy' }), undefined);
});

test('the facts tell the effective uid as `id -u` does, read without a process of its own', () => {
  const uid = execFileSync('id', ['-u'], { encoding: 'utf8' }).trim();
  // No PATH: `id` cannot be found, so the uid comes from the shell's own reading.
  const out = execFileSync('/bin/sh', ['-c', HOST_SCRIPT], {
    encoding: 'utf8',
    env: { PATH: '/nonexistent' },
  });
  assert.match(out, new RegExp(`^uid=${uid}$`, 'm'));
  if (uid === '0') {
    const nobody = execFileSync(
      '/usr/bin/setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--', '/bin/sh', '-c', HOST_SCRIPT],
      { encoding: 'utf8', env: { PATH: '/nonexistent' } },
    );
    assert.match(nobody, /^uid=65534$/m);
  }
});
