// A unit test of the tls task's read-ahead: the master is an in-memory connection with an empty
// tls.dir. That the certificates are right and land on a real host is the pki tests' and the lab's job.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec, Inventory, Playbook } from '../../../src/config/model.js';
import type { Cmd } from '../../../src/core/cmd.js';
import { createRun } from '../../../src/engine/setup.js';
import { tlsTask } from '../../../src/tasks/tls.js';
import type { Shared } from '../../../src/tasks/shared.js';
import type { Connection, ExecResult } from '../../../src/transport/types.js';

const master = { name: 'master', role: 'master', address: '127.0.0.1', port: 22, user: 'root' } as HostSpec;
const inventory = { file: 'inv.yaml', master, workers: [], hosts: [master] } as unknown as Inventory;
const playbook = {
  file: 'site.yaml',
  tls: {
    dir: '/etc/regbook/certs',
    mode: 'ca',
    commonName: 'master',
    subjectAltNames: ['DNS:master'],
    days: 800,
    keyBits: 2048,
    renewBeforeDays: 30,
  },
} as unknown as Playbook;

/** A master whose tls.dir is empty; it records every command. */
function emptyMaster(calls: string[]): Connection {
  return {
    hostName: 'master',
    exec: async (c: Cmd): Promise<ExecResult> => {
      if (c.argv[2]?.includes('stat -c "D')) {
        calls.push('read dirs');
        return { code: 0, stdout: 'M\n', stderr: '' };
      }
      calls.push(c.argv[0] === 'sh' ? 'read files' : c.argv.join(' '));
      return { code: 0, stdout: 'M\nM\nM\nM\n', stderr: '' };
    },
  } as unknown as Connection;
}

describe('tls task', () => {
  it('takes what its read-ahead read, and reads only when none was started', async () => {
    for (const withAhead of [true, false]) {
      const run = createRun<Shared>(
        playbook,
        inventory,
        new Map(),
        { check: true, diff: false },
        () => {},
        {},
      );
      const calls: string[] = [];
      const conn = emptyMaster(calls);
      if (withAhead) {
        tlsTask.readAhead!(run, conn);
        assert.deepEqual(calls, ['read files', 'read dirs'], 'the read-ahead reads at once');
      }
      const r = await tlsTask.stages[0]!.run({ host: master, conn, run, notify: () => undefined });
      assert.deepEqual(calls, ['read files', 'read dirs'], 'one read of each in all');
      assert.equal(r.status, 'changed');
      assert.deepEqual(
        r.changes.map((c) => c.what),
        ['/etc/regbook/certs/ca.crt', '/etc/regbook/certs/server.crt'],
      );
    }
  });
});
