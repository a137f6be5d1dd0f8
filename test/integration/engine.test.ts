import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadInventory } from '../../src/config/index.js';
import type { Playbook } from '../../src/config/model.js';
import type { TaskDef } from '../../src/engine/context.js';
import { createRun } from '../../src/engine/setup.js';
import { runTasks } from '../../src/engine/run.js';
import { connect } from '../../src/transport/index.js';
import { lab, type Lab } from '../helpers/lab.js';
import { parseNdjson, parseTextRecap, regbook, tempDir } from '../helpers/cli.js';
import { basePlaybook, writePlaybook } from '../e2e/registry.js';

// A task whose steps leave a trace on the host: a file named after the run.
function traceTask(marker: string): TaskDef<object> {
  return {
    id: 'trust',
    stages: [
      {
        hosts: (run) => run.inventory.hosts.map((h) => h.name),
        gather: async () => undefined,
        plan: () => ({
          changes: [{ what: marker }],
          steps: [
            { kind: 'exec', describe: 'touch', cmd: { argv: ['touch', marker], privileged: true } },
            { kind: 'write', describe: 'write', path: `${marker}.w`, data: 'x', mode: 0o600 },
          ],
        }),
      },
    ],
  };
}

describe('engine against the lab', () => {
  let L: Lab;
  before(async () => {
    L = await lab();
  });
  after(async () => {
    for (const h of L.hosts) await L.sh(h.name, 'rm -f /tmp/regbook-trace-*');
  });

  it('check mode runs no step that changes a host; apply runs them on every host', async () => {
    const inventory = loadInventory(L.inventoryPath);
    const marker = `/tmp/regbook-trace-${process.pid}`;
    for (const check of [true, false]) {
      const run = createRun(
        { envRefs: [] } as unknown as Playbook,
        inventory,
        new Map(),
        { check, diff: false },
        () => undefined,
        {},
      );
      const out = await runTasks(
        run,
        [traceTask(marker)],
        [],
        { forks: 10, connect: (h) => connect(h) },
        () => undefined,
      );
      assert.equal(out.changed.length, inventory.hosts.length, 'every host reports the change');
      for (const h of L.hosts) {
        const r = await L.sh(h.name, `ls ${marker} ${marker}.w 2>/dev/null | wc -l`);
        assert.equal(r.stdout.trim(), check ? '0' : '2', `${h.name} after ${check ? 'check' : 'apply'}`);
      }
    }
  });

  it('a stopped worker: the others finish, the recap shows it unreachable, exit code 4; NDJSON recap equals the text recap', async () => {
    await L.reset();
    const dir = tempDir();
    const pb = writePlaybook(dir, basePlaybook());
    await L.stop('worker3');
    try {
      const first = await regbook(['apply', pb, '-i', L.inventoryPath, '--output', 'json']);
      assert.equal(first.code, 4, first.stdout + first.stderr);
      const { recap } = parseNdjson(first.stdout);
      assert.equal(recap.hosts.worker3!.unreachable, 1);
      for (const w of ['master', 'worker1', 'worker2']) {
        const c = recap.hosts[w]!;
        assert.equal(c.failed + c.unreachable, 0, `${w} converged`);
        assert.ok(c.changed > 0, `${w} changed something`);
      }
      // Same cluster state twice: the text and the NDJSON recaps must carry the same numbers.
      const json = await regbook(['apply', pb, '-i', L.inventoryPath, '--output', 'json']);
      const text = await regbook(['apply', pb, '-i', L.inventoryPath]);
      assert.equal(json.code, 4);
      assert.equal(text.code, 4);
      assert.deepEqual(parseTextRecap(text.stdout), parseNdjson(json.stdout).recap.hosts);
    } finally {
      await L.start('worker3');
      await L.reset();
    }
  });
});
