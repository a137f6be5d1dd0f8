// applySteps on a real local shell and real files: lanes that run side by side, a failing lane
// that does not cut the others short, and writes that make their own directory.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { HostSpec } from '../../../src/config/model.js';
import type { Step } from '../../../src/core/task.js';
import { applySteps, parallel } from '../../../src/tasks/steps.js';
import type { Ctx } from '../../../src/tasks/shared.js';
import { LocalConnection } from '../../../src/transport/local.js';

const dir = mkdtempSync(join(tmpdir(), 'regbook-steps-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function ctx(check = false): Ctx {
  const conn = new LocalConnection({ name: 'here', connection: 'local' } as unknown as HostSpec);
  return { host: { name: 'here' }, conn, run: { check, debug: () => undefined } } as unknown as Ctx;
}

const sh = (script: string): Step => ({
  kind: 'exec',
  describe: script,
  cmd: { argv: ['sh', '-c', script] },
});

describe('applySteps', () => {
  it('runs the lanes of a parallel step at the same time', async () => {
    const flag = join(dir, 'flag');
    // The first lane waits for a file only the second lane makes: run one after the other, the
    // first lane would give up and fail.
    const waitForFlag = sh(
      `i=0; until [ -e '${flag}' ]; do i=$((i+1)); [ $i -gt 200 ] && exit 7; sleep 0.02; done`,
    );
    await applySteps(ctx(), parallel('both', [[waitForFlag], [sh(`sleep 0.1; touch '${flag}'`)]]));
    assert.ok(existsSync(flag));
  });

  it('lets every lane finish before it reports a failed one', async () => {
    const done = join(dir, 'done');
    await assert.rejects(
      applySteps(ctx(), parallel('both', [[sh('exit 3')], [sh(`sleep 0.3; touch '${done}'`)]])),
      /exit 3/,
    );
    assert.ok(existsSync(done), 'the other lane was cut short');
  });

  it('a single lane needs no parallel step; empty lanes are dropped', () => {
    const one = sh('true');
    assert.deepEqual(parallel('x', [[one], []]), [one]);
    assert.equal(parallel('x', [[one], [one]])[0]!.kind, 'parallel');
  });

  it('a write with dirMode makes its missing directory, with that mode, in the same step', async () => {
    const target = join(dir, 'new', 'sub', 'f.crt');
    await applySteps(ctx(), [
      {
        kind: 'write',
        describe: 'w',
        path: target,
        data: 'pem',
        mode: 0o444,
        dirMode: 0o750,
        privileged: false,
      },
    ]);
    assert.equal(readFileSync(target, 'utf8'), 'pem');
    assert.equal(statSync(target).mode & 0o777, 0o444);
    assert.equal(statSync(join(dir, 'new', 'sub')).mode & 0o777, 0o750);
  });

  it('check mode runs nothing, lanes included', async () => {
    const never = join(dir, 'never');
    await applySteps(ctx(true), parallel('both', [[sh(`touch '${never}'`)], [sh(`touch '${never}'`)]]));
    assert.ok(!existsSync(never));
  });
});
