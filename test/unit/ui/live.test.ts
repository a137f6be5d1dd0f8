// The live tree is driven by engine events alone, so whatever order they come in, a run that ends
// with a recap must close the tree: a property test over arbitrary event sequences.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ProcessOutput } from 'listr2';
import { TASK_IDS, type Change, type TaskId } from '../../../src/core/task.js';
import type { EngineEvent, HostCounts } from '../../../src/engine/events.js';
import { liveRenderer } from '../../../src/ui/live.js';

const HOSTS = ['master', 'worker1', 'worker2'];
const host = fc.constantFrom(...HOSTS);
const task = fc.constantFrom<TaskId>(...TASK_IDS);
const status = fc.constantFrom('ok', 'changed', 'failed', 'skipped', 'unreachable', 'interrupted' as const);
const counts: HostCounts = { ok: 1, changed: 0, failed: 0, skipped: 0, unreachable: 0 };

const event = fc.oneof(
  fc.record({
    type: fc.constant('start' as const),
    hosts: fc.subarray(HOSTS),
    tasks: fc.subarray([...TASK_IDS]),
    check: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('connect' as const),
    host,
    status: fc.constantFrom('ok', 'unreachable' as const),
  }),
  fc.record({ type: fc.constant('task-start' as const), task, hosts: fc.subarray(HOSTS) }),
  fc.record({ type: fc.constant('host-task-start' as const), task, host }),
  fc.record({
    type: fc.constant('progress' as const),
    task,
    host,
    step: fc.constantFrom('restarting docker', 'pulling app:0.1'),
  }),
  fc.record({
    type: fc.constant('task' as const),
    host,
    task,
    status,
    changes: fc.constant<Change[]>([{ what: 'x' }]),
    durationMs: fc.nat(5000),
  }),
  fc.record({ type: fc.constant('task-end' as const), task, durationMs: fc.nat(5000) }),
  fc.record({
    type: fc.constant('handler' as const),
    host,
    handler: fc.constant('restart-docker'),
    status: fc.constantFrom('ok', 'failed', 'skipped', 'interrupted' as const),
  }),
  fc.record({
    type: fc.constant('log' as const),
    host,
    level: fc.constantFrom('info', 'debug' as const),
    message: fc.string(),
  }),
  fc.record({
    type: fc.constant('interrupt' as const),
    signal: fc.constantFrom('SIGINT', 'SIGTERM', 'SIGHUP' as const),
  }),
) as fc.Arbitrary<EngineEvent>;

/** Resolves true when the promise settles within the bound, false when it does not. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('live tree', () => {
  it('every event sequence that ends with a recap closes the tree and prints the recap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(event, { maxLength: 8 }), { maxLength: 6 }),
        fc.constantFrom('silent', 'simple' as const),
        fc.integer({ min: 0, max: 2 }),
        async (chunks, renderer, verbose) => {
          const out = new PassThrough();
          let text = '';
          out.on('data', (d: Buffer) => (text += d.toString()));
          const sink = new PassThrough();
          sink.resume();
          const r = liveRenderer(out, {
            diff: false,
            redact: (s) => s,
            verbose,
            renderer,
            processOutput: new ProcessOutput(
              sink as unknown as NodeJS.WriteStream,
              sink as unknown as NodeJS.WriteStream,
            ),
          });
          // Chunks arrive between listr2's own steps, as the engine's events do.
          for (const chunk of chunks) {
            for (const e of chunk) r(e);
            await tick();
          }
          r({ type: 'recap', hosts: Object.fromEntries(HOSTS.map((h) => [h, counts])) });
          assert.ok(
            await settlesWithin(r.finished(), 5000),
            `the tree did not end after ${JSON.stringify(chunks)}`,
          );
          assert.match(text, /^RECAP$/m);
          assert.match(text, /^master\s+ok=1/m);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a run that stops without a recap (the lock was not taken) still closes its tree', async () => {
    const sink = new PassThrough();
    sink.resume();
    const r = liveRenderer(new PassThrough(), {
      diff: false,
      redact: (s) => s,
      renderer: 'simple',
      processOutput: new ProcessOutput(
        sink as unknown as NodeJS.WriteStream,
        sink as unknown as NodeJS.WriteStream,
      ),
    });
    r({ type: 'start', hosts: ['master'], tasks: ['facts', 'tls'], check: false });
    r({ type: 'task-start', task: 'facts', hosts: ['master'] });
    assert.ok(await settlesWithin(r.finished(), 5000));
  });
});
