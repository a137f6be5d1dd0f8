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
import { colorPalette, type Palette } from '../../../src/ui/color.js';
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

/** Runs events through the live renderer's simple (line by line) form; returns all it wrote. */
async function drawn(
  events: Array<EngineEvent | EngineEvent[]>,
  opts: { verbose?: number; redact?: (s: string) => string; palette?: Palette } = {},
): Promise<string> {
  let text = '';
  const out = new PassThrough();
  out.on('data', (d: Buffer) => (text += d.toString()));
  const r = liveRenderer(out, {
    diff: false,
    redact: opts.redact ?? ((s) => s),
    verbose: opts.verbose ?? 0,
    renderer: 'simple',
    ...(opts.palette ? { palette: opts.palette } : {}),
    processOutput: new ProcessOutput(
      out as unknown as NodeJS.WriteStream,
      out as unknown as NodeJS.WriteStream,
    ),
  });
  // An array is a burst: events the engine sends in one tick (a task's result and its handlers).
  for (const e of events) {
    for (const x of [e].flat()) r(x);
    await tick();
  }
  assert.ok(await settlesWithin(r.finished(), 5000), 'the tree ends');
  return text;
}

const recap: EngineEvent = { type: 'recap', hosts: { master: counts } };
const opening: EngineEvent[] = [
  { type: 'start', hosts: ['master'], tasks: ['facts', 'trust'], check: false },
  { type: 'connect', host: 'master', status: 'ok' },
  { type: 'task-start', task: 'trust', hosts: ['master'] },
  { type: 'host-task-start', task: 'trust', host: 'master' },
];

describe('live tree: what it says', () => {
  it("-v: each step as it starts, and the lines of a task's detail", async () => {
    const events: EngineEvent[] = [
      ...opening,
      { type: 'progress', host: 'master', task: 'trust', step: 'pulling app:0.1' },
      {
        type: 'task',
        host: 'master',
        task: 'trust',
        status: 'failed',
        changes: [],
        message: 'pull failed',
        detail: 'a\nb',
        durationMs: 5,
      },
      { type: 'task-end', task: 'trust', durationMs: 5 },
      recap,
    ];
    const text = await drawn(events, { verbose: 1 });
    assert.match(text, /… pulling app:0\.1/);
    assert.ok(text.includes('pull failed 0.0s\n| a\n| b'), text);
    const quiet = await drawn(events, { verbose: 0 });
    assert.doesNotMatch(quiet, /… pulling/);
    assert.doesNotMatch(quiet, /\| b/);
  });

  it('-vv: a debug line is shown under its host, with secrets masked', async () => {
    const events: EngineEvent[] = [
      ...opening,
      { type: 'log', host: 'master', level: 'debug', message: '$ docker login -p s3cret master:5000' },
      { type: 'task', host: 'master', task: 'trust', status: 'ok', changes: [], durationMs: 5 },
      { type: 'task-end', task: 'trust', durationMs: 5 },
      recap,
    ];
    const redact = (s: string) => s.split('s3cret').join('***');
    const text = await drawn(events, { verbose: 2, redact });
    assert.match(text, /\$ docker login -p \*\*\* master:5000/);
    assert.ok(!text.includes('s3cret'));
    assert.doesNotMatch(await drawn(events, { verbose: 1, redact }), /docker login/);
  });

  it("a skipped handler says why; check mode's 'would run' stays as it is", async () => {
    const text = await drawn([
      ...opening,
      [
        { type: 'task', host: 'master', task: 'trust', status: 'changed', changes: [], durationMs: 5 },
        {
          type: 'handler',
          host: 'master',
          handler: 'restart-docker',
          status: 'skipped',
          message: 'untouched: the rollout stopped at worker1',
        },
      ],
      { type: 'task-end', task: 'trust', durationMs: 5 },
      recap,
    ]);
    assert.match(text, /handler restart-docker: skipped — untouched: the rollout stopped at worker1/);
    const check = await drawn([
      ...opening,
      [
        { type: 'task', host: 'master', task: 'trust', status: 'changed', changes: [], durationMs: 5 },
        {
          type: 'handler',
          host: 'master',
          handler: 'restart-docker',
          status: 'skipped',
          message: 'would run',
        },
      ],
      { type: 'task-end', task: 'trust', durationMs: 5 },
      recap,
    ]);
    assert.match(check, /handler restart-docker: would run/);
    assert.doesNotMatch(check, /would run — would run/);
  });

  it('a signal is said at once on the running task, in the tree, before the run ends', async () => {
    // The tree itself (listr2's default renderer), which draws only where stdout is a terminal.
    const wasTTY = process.stdout.isTTY;
    process.stdout.isTTY = true;
    let text = '';
    const out = new PassThrough();
    out.on('data', (d: Buffer) => (text += d.toString()));
    const r = liveRenderer(out, {
      diff: false,
      redact: (s) => s,
      renderer: 'default',
      processOutput: new ProcessOutput(
        out as unknown as NodeJS.WriteStream,
        out as unknown as NodeJS.WriteStream,
      ),
    });
    let beforeEnd: string;
    try {
      for (const e of [...opening, { type: 'interrupt', signal: 'SIGINT' } as EngineEvent]) {
        r(e);
        await tick();
      }
      const deadline = Date.now() + 3000;
      while (!text.includes('stopping (SIGINT)') && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 20));
      }
      beforeEnd = text;
    } finally {
      r({ type: 'task', host: 'master', task: 'trust', status: 'interrupted', changes: [], durationMs: 5 });
      r({ type: 'task-end', task: 'trust', durationMs: 5 });
      r({ ...recap, interrupted: 'SIGINT' } as EngineEvent);
      await settlesWithin(r.finished(), 5000);
      process.stdout.isTTY = wasTTY;
    }
    assert.match(beforeEnd, /trust — stopping \(SIGINT\): steps in flight finish/);
    assert.doesNotMatch(beforeEnd, /RECAP/, 'said before the end');
    assert.match(text, /interrupted by SIGINT/);
  });

  it('colours: yellow changed and red failed on the host lines', async () => {
    const text = await drawn(
      [
        { type: 'start', hosts: ['master', 'w1'], tasks: ['facts', 'trust'], check: false },
        { type: 'task-start', task: 'trust', hosts: ['master', 'w1'] },
        { type: 'task', host: 'master', task: 'trust', status: 'changed', changes: [], durationMs: 5 },
        { type: 'task', host: 'w1', task: 'trust', status: 'failed', changes: [], durationMs: 5 },
        { type: 'task-end', task: 'trust', durationMs: 5 },
        recap,
      ],
      { palette: colorPalette },
    );
    assert.ok(text.includes('master: \u001b[33mchanged\u001b[39m'), text);
    assert.ok(text.includes('w1: \u001b[31mfailed\u001b[39m'), text);
  });
});
