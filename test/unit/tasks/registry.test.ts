// A unit test of what the registry task tells the images task: on which host it added an image.
// The master is an in-memory connection; that the container really runs is the lab's job.
import { startEarly } from '../../../src/engine/early.js';
import { Later } from '../../../src/core/later.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec, Inventory, Playbook } from '../../../src/config/model.js';
import type { Cmd } from '../../../src/core/cmd.js';
import { createRun } from '../../../src/engine/setup.js';
import { registryTask } from '../../../src/tasks/registry.js';
import type { Shared } from '../../../src/tasks/shared.js';
import type { Connection, ExecResult } from '../../../src/transport/types.js';
import { registrySettings } from './registry-settings.js';

const master = { name: 'master', role: 'master', address: '127.0.0.1', port: 22, user: 'root' } as HostSpec;
const playbook = {
  file: 'site.yaml',
  registry: registrySettings,
  tls: { dir: '/etc/regbook/certs', mode: 'ca' },
  images: [],
} as unknown as Playbook;
const inventory = { file: 'inv.yaml', master, workers: [], hosts: [master] } as unknown as Inventory;

/** The master: its probe finds no container and (or not) the image; `docker run` fails. */
function masterConn(hasImage: boolean, calls: string[]): Connection {
  return {
    hostName: 'master',
    exec: async (c: Cmd): Promise<ExecResult> => {
      const script = c.argv[0] === 'sh' ? (c.argv[2] ?? '') : '';
      if (script.includes('stat -c "D')) {
        calls.push('read dirs');
        return { code: 0, stdout: 'M\n', stderr: '' };
      }
      if (script.includes('docker container inspect')) {
        calls.push('probe');
        return { code: 0, stdout: `[]\n@@regbook@@\n${hasImage ? 'sha256:reg\n' : ''}`, stderr: '' };
      }
      calls.push(c.argv.includes('run') ? 'docker run' : c.argv.slice(0, 2).join(' '));
      return c.argv[0] === 'docker' && c.argv[1] === 'pull'
        ? { code: 0, stdout: '', stderr: '' }
        : { code: 1, stdout: '', stderr: 'no docker run here' };
    },
  } as unknown as Connection;
}

async function runOn(hasImage: boolean, check: boolean, readAhead = false) {
  const run = createRun<Shared>(playbook, inventory, new Map(), { check, diff: false }, () => {}, {});
  run.shared.tls = { serverFingerprint: Later.known('F'), anchorChanged: false, serverChanged: false };
  const calls: string[] = [];
  const conn = masterConn(hasImage, calls);
  run.conns.set('master', conn);
  if (readAhead) {
    startEarly(run, 'registry', conn.hostName, registryTask.readAhead!(run, conn)!);
    assert.deepEqual(calls, ['probe'], 'the read-ahead probes at once');
  }
  const outcome = await registryTask.stages[0]!.run({
    host: master,
    conn,
    run,
    notify: () => undefined,
  }).then(
    (r) => r.status,
    () => 'failed',
  );
  return { outcome, calls, added: [...(run.shared.imagesAdded ?? [])] };
}

describe('registry task: images it adds', () => {
  it('marks the master when it pulls its image, so the images task reads the list again', async () => {
    const r = await runOn(false, false);
    assert.deepEqual(r.calls.slice(0, 3), ['probe', 'read dirs', 'docker pull']);
    assert.deepEqual(r.added, ['master']);
    assert.equal(r.outcome, 'failed', 'the fake master has no docker run');
  });
  it('marks nothing when the image was there, nor in check mode', async () => {
    const present = await runOn(true, false);
    assert.ok(!present.calls.includes('docker pull'));
    assert.ok(present.calls.includes('docker run'), 'the container is still created');
    assert.deepEqual(present.added, []);
    const check = await runOn(false, true);
    assert.deepEqual(check.calls, ['probe', 'read dirs']);
    assert.equal(check.outcome, 'changed');
    assert.deepEqual(check.added, []);
  });
  it('takes the probe its read-ahead made instead of probing again', async () => {
    const r = await runOn(false, true, true);
    assert.deepEqual(r.calls, ['probe', 'read dirs']);
    assert.equal(r.outcome, 'changed');
  });
});
