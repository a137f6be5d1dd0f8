import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec, Inventory, Playbook } from '../../../src/config/model.js';
import type { GatherContext, TaskDef } from '../../../src/engine/context.js';
import type { EngineEvent } from '../../../src/engine/events.js';
import { exitCodeOf, runTasks, selectTasks } from '../../../src/engine/run.js';
import { selectHosts } from '../../../src/engine/select.js';
import { createRun } from '../../../src/engine/setup.js';
import { TaskFailure, type HandlerId, type Step } from '../../../src/core/task.js';
import { UnreachableError, type Connection } from '../../../src/transport/types.js';

// A unit test of the engine's scheduling only: hosts are in-memory objects that record calls.
function host(name: string, role: 'master' | 'worker' = 'worker'): HostSpec {
  return {
    name,
    role,
    connection: 'ssh',
    address: '127.0.0.1',
    port: 22,
    user: 'root',
    knownHosts: '/dev/null',
    hostKeyChecking: 'strict',
    source: { file: 'inv.yaml', line: 1, col: 1 },
  };
}

function fixture(names: string[]) {
  const hosts = names.map((n, i) => host(n, i === 0 ? 'master' : 'worker'));
  const inventory: Inventory = { file: 'inv.yaml', master: hosts[0]!, workers: hosts.slice(1), hosts };
  const playbook = { file: 'site.yaml', envRefs: [] } as unknown as Playbook;
  const events: EngineEvent[] = [];
  const log: string[] = [];
  const run = createRun(
    playbook,
    inventory,
    new Map(),
    { check: false, diff: false },
    (e) => events.push(e),
    {},
  );
  const conn = (name: string): Connection =>
    ({
      hostName: name,
      close: async () => {
        log.push(`close ${name}`);
      },
    }) as unknown as Connection;
  return { run, events, log, conn, hosts };
}

/** What a test stage's body sees: the gather's context, and a way to notify a handler. */
type Body = GatherContext<object> & { notify(h: HandlerId): void };

/** A task of one stage: its gather runs `body`, its plan reports one change and the handlers notified. */
function task(
  id: 'tls' | 'trust' | 'images',
  hosts: string[],
  body: (ctx: Body) => Promise<void>,
): TaskDef<object> {
  return {
    id,
    stages: [
      {
        hosts: () => hosts,
        async gather(ctx) {
          const notified: HandlerId[] = [];
          await body({ ...ctx, notify: (h) => void notified.push(h) });
          return notified;
        },
        plan: (notify: HandlerId[], { host }) => ({
          changes: [{ what: `${id} on ${host.name}` }],
          steps: [],
          notify,
        }),
      },
    ],
  };
}

describe('engine', () => {
  it('runs a task on all its hosts before the next task starts anywhere (lockstep)', async () => {
    const f = fixture(['m', 'w1', 'w2']);
    const order: string[] = [];
    const slow = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await runTasks(
      f.run,
      [
        task('tls', ['m', 'w1', 'w2'], async (ctx) => {
          await slow(ctx.host.name === 'w2' ? 40 : 1);
          order.push(`tls:${ctx.host.name}`);
        }),
        task('trust', ['m', 'w1', 'w2'], async (ctx) => {
          order.push(`trust:${ctx.host.name}`);
        }),
      ],
      [],
      { forks: 10, connect: async (h) => f.conn(h.name) },
      () => undefined,
    );
    const lastTls = Math.max(...order.map((o, i) => (o.startsWith('tls') ? i : -1)));
    const firstTrust = order.findIndex((o) => o.startsWith('trust'));
    assert.equal(order.length, 6);
    assert.ok(lastTls < firstTrust, order.join(' '));
  });

  it("runs a notified handler once per host, right after that host's part, only where notified", async () => {
    const f = fixture(['m', 'w1', 'w2']);
    const seq: string[] = [];
    const slow = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await runTasks(
      f.run,
      [
        task('trust', ['m', 'w1', 'w2'], async (ctx) => {
          // w2 is the slow host: m's handler must not wait for it.
          await slow(ctx.host.name === 'w2' ? 60 : 1);
          seq.push(`task:${ctx.host.name}`);
          if (ctx.host.name !== 'w1') {
            ctx.notify('restart-docker');
            ctx.notify('restart-docker');
          }
        }),
        task('images', ['m', 'w1', 'w2'], async (ctx) => void seq.push(`next:${ctx.host.name}`)),
      ],
      [
        {
          id: 'restart-docker',
          run: async (ctx) => {
            await slow(20);
            seq.push(`handler:${ctx.host.name}`);
          },
        },
      ],
      { forks: 10, connect: async (h) => f.conn(h.name) },
      () => undefined,
    );
    assert.deepEqual(seq.filter((s) => s.startsWith('handler')).sort(), ['handler:m', 'handler:w2']);
    const at = (s: string) => seq.indexOf(s);
    // Each handler after its own host's task; m's before the slow w2 even finished its task.
    assert.ok(at('task:m') < at('handler:m'), seq.join(' '));
    assert.ok(at('task:w2') < at('handler:w2'), seq.join(' '));
    assert.ok(at('handler:m') < at('task:w2'), seq.join(' '));
    // The next task starts nowhere before every handler is done.
    const firstNext = seq.findIndex((s) => s.startsWith('next:'));
    assert.ok(firstNext > at('handler:m') && firstNext > at('handler:w2'), seq.join(' '));
  });

  it('reports each host as soon as it is done, its handler events right after it', async () => {
    const f = fixture(['m', 'w1']);
    const seen: string[] = [];
    const slow = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await runTasks(
      f.run,
      [
        task('trust', ['m', 'w1'], async (ctx) => {
          if (ctx.host.name === 'w1') {
            await slow(80);
            seen.push('w1 finished its work');
          } else ctx.notify('restart-docker');
        }),
      ],
      [{ id: 'restart-docker', run: async () => undefined }],
      { forks: 10, connect: async (h) => f.conn(h.name) },
      (e) => {
        if (e.type === 'task') seen.push(`task ${e.host} ${e.durationMs < 60 ? 'quick' : 'slow'}`);
        if (e.type === 'handler') seen.push(`handler ${e.host}`);
        if (e.type === 'task-end') seen.push('task-end');
      },
    );
    assert.deepEqual(seen, ['task m quick', 'handler m', 'w1 finished its work', 'task w1 slow', 'task-end']);
  });

  it("runs a host's handlers after the last stage it takes part in", async () => {
    const f = fixture(['m', 'w1']);
    const seq: string[] = [];
    const stage = (name: string, hosts: string[]) => ({
      hosts: () => hosts,
      gather: async (ctx: GatherContext<object>) => void seq.push(`${name}:${ctx.host.name}`),
      plan: () => ({ changes: [], steps: [], notify: ['restart-docker' as const] }),
    });
    await runTasks(
      f.run,
      [{ id: 'images', stages: [stage('push', ['m', 'w1']), stage('pull', ['w1'])] }],
      [{ id: 'restart-docker', run: async (ctx) => void seq.push(`handler:${ctx.host.name}`) }],
      { forks: 10, connect: async (h) => f.conn(h.name) },
      () => undefined,
    );
    // m is done after the push stage; w1 only after the pull stage; once each.
    assert.ok(seq.indexOf('handler:m') < seq.indexOf('pull:w1'), seq.join(' '));
    assert.ok(seq.indexOf('handler:w1') > seq.indexOf('pull:w1'), seq.join(' '));
    assert.equal(seq.filter((s) => s === 'handler:w1').length, 1);
  });

  it('a failing host stops only itself; an unreachable one shows in the recap; exit code 4 wins over 2', async () => {
    const f = fixture(['m', 'w1', 'w2']);
    const ran: string[] = [];
    const outcome = await runTasks(
      f.run,
      [
        task('tls', ['m', 'w1', 'w2'], async (ctx) => {
          if (ctx.host.name === 'w1') throw new TaskFailure('boom', 'last log line');
        }),
        task('trust', ['m', 'w1', 'w2'], async (ctx) => void ran.push(ctx.host.name)),
      ],
      [],
      {
        forks: 2,
        connect: async (h) => {
          if (h.name === 'w2') throw new UnreachableError('w2', 'connection refused');
          return f.conn(h.name);
        },
      },
      (e) => f.events.push(e),
    );
    assert.deepEqual(ran, ['m']);
    assert.deepEqual(outcome.recap.w1, { ok: 0, changed: 0, failed: 1, skipped: 0, unreachable: 0 });
    assert.deepEqual(outcome.recap.w2, { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 1 });
    assert.deepEqual(outcome.recap.m, { ok: 0, changed: 2, failed: 0, skipped: 0, unreachable: 0 });
    assert.equal(exitCodeOf(outcome, { check: false, detailedExitcode: false }), 4);
    const failed = f.events.find((e) => e.type === 'task' && e.status === 'failed');
    assert.ok(failed && failed.type === 'task' && failed.detail === 'last log line');
    assert.ok(f.log.includes('close w1'), 'a failed host is disconnected');
  });

  it('exit codes: 2 for a failure alone, 3 only for --check --detailed-exitcode with changes', () => {
    const counts = (o: Partial<Record<string, number>>) => ({
      ok: 0,
      changed: 0,
      failed: 0,
      skipped: 0,
      unreachable: 0,
      ...o,
    });
    assert.equal(
      exitCodeOf(
        { recap: { a: counts({ failed: 1 }) }, changed: [] },
        { check: false, detailedExitcode: false },
      ),
      2,
    );
    const pending = { recap: { a: counts({ changed: 1 }) }, changed: [{ host: 'a', task: 'tls' as const }] };
    assert.equal(exitCodeOf(pending, { check: true, detailedExitcode: true }), 3);
    assert.equal(exitCodeOf(pending, { check: true, detailedExitcode: false }), 0);
    assert.equal(exitCodeOf(pending, { check: false, detailedExitcode: true }), 0);
  });

  it('--limit selects hosts and rejects unknown names; --tags and --skip-tags select tasks', async () => {
    const f = fixture(['m', 'w1', 'w2']);
    assert.deepEqual(
      selectHosts(f.hosts, ['w2']).map((h) => h.name),
      ['w2'],
    );
    assert.throws(() => selectHosts(f.hosts, ['nope']), /--limit nope matches no host/);
    const ran: string[] = [];
    await runTasks(
      f.run,
      [
        task('tls', ['m'], async () => void ran.push('tls')),
        task('trust', ['m', 'w1', 'w2'], async (ctx) => void ran.push(`trust:${ctx.host.name}`)),
        task('images', ['m'], async () => void ran.push('images')),
      ],
      [],
      {
        forks: 10,
        tags: ['trust', 'images'],
        skipTags: ['images'],
        limit: ['w1'],
        connect: async (h) => f.conn(h.name),
      },
      () => undefined,
    );
    assert.deepEqual(ran, ['trust:w1']);
  });

  it('an always task (facts) runs whatever --tags and --skip-tags say', () => {
    const t = (id: 'facts' | 'tls' | 'trust', always = false): TaskDef<object> => ({
      id,
      always,
      stages: [],
    });
    const all = [t('facts', true), t('tls'), t('trust')];
    assert.deepEqual(
      selectTasks(all, ['trust'], ['facts']).map((x) => x.id),
      ['facts', 'trust'],
    );
    assert.deepEqual(
      selectTasks(all, undefined, ['tls']).map((x) => x.id),
      ['facts', 'trust'],
    );
  });

  it('never runs more hosts at once than --forks', async () => {
    const f = fixture(['m', 'a', 'b', 'c', 'd', 'e']);
    let now = 0;
    let peak = 0;
    await runTasks(
      f.run,
      [
        task('tls', ['m', 'a', 'b', 'c', 'd', 'e'], async () => {
          peak = Math.max(peak, ++now);
          await new Promise((r) => setTimeout(r, 5));
          now--;
        }),
      ],
      [],
      { forks: 2, connect: async (h) => f.conn(h.name) },
      () => undefined,
    );
    assert.equal(peak, 2);
  });
  it('asks whether to go on after the always tasks, and stops there when told no', async () => {
    const seq: string[] = [];
    const facts: TaskDef<object> = {
      ...task('tls', ['m', 'w1'], async (ctx) => void seq.push(`facts:${ctx.host.name}`)),
      id: 'facts',
      always: true,
    };
    const later = task('trust', ['m', 'w1'], async (ctx) => void seq.push(`trust:${ctx.host.name}`));
    for (const answer of [true, false]) {
      seq.length = 0;
      const f = fixture(['m', 'w1']);
      const out = await runTasks(
        f.run,
        [facts, later],
        [],
        {
          forks: 10,
          connect: async (h) => f.conn(h.name),
          proceed: async () => {
            seq.push('proceed?');
            return answer;
          },
        },
        (e) => f.events.push(e),
      );
      // Asked as soon as the hosts are connected (the lock is taken while facts run).
      assert.equal(seq[0], 'proceed?');
      assert.deepEqual(seq.slice(1, 3).sort(), ['facts:m', 'facts:w1']);
      assert.deepEqual(seq.slice(3), answer ? ['trust:m', 'trust:w1'] : []);
      assert.equal(out.stopped, answer ? undefined : true);
      assert.equal(
        f.events.some((e) => e.type === 'recap'),
        answer,
        'a recap only for a run that went on',
      );
      assert.deepEqual(f.log.sort(), ['close m', 'close w1'], 'connections left open');
    }
  });

  it('asks once, at the end, when only always tasks run', async () => {
    const f = fixture(['m']);
    let asked = 0;
    const facts: TaskDef<object> = { ...task('tls', ['m'], async () => {}), id: 'facts', always: true };
    const out = await runTasks(
      f.run,
      [facts],
      [],
      { forks: 10, connect: async (h) => f.conn(h.name), proceed: async () => (asked++, false) },
      (e) => f.events.push(e),
    );
    assert.equal(asked, 1);
    assert.equal(out.stopped, true);
  });
  it('starts a read-ahead only once proceed (the lock) says yes, before the task, only where the task will run', async () => {
    for (const [limit, tags, answer, expect] of [
      [undefined, undefined, true, ['facts m', 'facts w1', 'lock taken', 'read-ahead m', 'tls m']],
      [undefined, undefined, false, ['facts m', 'facts w1', 'lock refused']],
      [['w1'], undefined, true, ['facts w1', 'lock taken']],
      [undefined, ['trust'], true, ['facts m', 'facts w1', 'lock taken']],
    ] as Array<[string[] | undefined, Array<'trust'> | undefined, boolean, string[]]>) {
      const f = fixture(['m', 'w1']);
      const order: string[] = [];
      let grant!: () => void;
      const granted = new Promise<void>((r) => (grant = r));
      const facts: TaskDef<object> = {
        id: 'facts',
        always: true,
        stages: [
          {
            hosts: () => ['m', 'w1'],
            gather: async (ctx) => {
              order.push(`facts ${ctx.host.name}`);
              // The lock is granted only after both hosts' facts: a read-ahead before it fails the order.
              if (order.filter((o) => o.startsWith('facts')).length === (limit ? 1 : 2)) grant();
              await new Promise((r) => setTimeout(r, 5));
            },
            plan: () => ({ changes: [], steps: [] }),
          },
        ],
      };
      const tls: TaskDef<object> = {
        ...task('tls', ['m'], async (ctx) => void order.push(`tls ${ctx.host.name}`)),
        readAhead: (run, conn) => {
          assert.ok(run.conns.has(conn.hostName), 'the connection is up');
          order.push(`read-ahead ${conn.hostName}`);
        },
      };
      await runTasks(
        f.run,
        [facts, tls, task('trust', [], async () => {})],
        [],
        {
          forks: 10,
          connect: async (h) => f.conn(h.name),
          proceed: async () => {
            await granted;
            order.push(answer ? 'lock taken' : 'lock refused');
            return answer;
          },
          ...(limit ? { limit } : {}),
          ...(tags ? { tags } : {}),
        },
        () => undefined,
      );
      assert.deepEqual(order, expect);
    }
  });
  it('starts a read-ahead on every host of a task that runs on several, each with its own connection', async () => {
    for (const [limit, expect] of [
      [undefined, ['m', 'w1', 'w2']],
      [['w2'], ['w2']],
    ] as Array<[string[] | undefined, string[]]>) {
      const f = fixture(['m', 'w1', 'w2']);
      const read: string[] = [];
      const trust: TaskDef<object> = {
        ...task('trust', ['m', 'w1', 'w2'], async () => {}),
        readAhead: (run, conn) => {
          assert.ok(run.conns.has(conn.hostName), 'the connection is up');
          read.push(conn.hostName);
        },
      };
      await runTasks(
        f.run,
        [trust],
        [],
        { forks: 10, connect: async (h) => f.conn(h.name), ...(limit ? { limit } : {}) },
        () => undefined,
      );
      assert.deepEqual(read.sort(), expect);
    }
  });

  it('a signal: the step in flight finishes, nothing new starts, the host counts interrupted, not failed', async () => {
    const f = fixture(['m', 'w1']);
    const ac = new AbortController();
    const seen: string[] = [];
    const trust: TaskDef<object> = {
      id: 'trust',
      stages: [
        {
          hosts: () => ['m', 'w1'],
          gather: async () => undefined,
          plan: (_facts: unknown, { host }) => {
            const step = (name: string, signal = false): Step => ({
              kind: 'fn',
              describe: name,
              run: async () => {
                if (signal) ac.abort('SIGTERM');
                await new Promise((r) => setTimeout(r, 5));
                seen.push(name);
              },
            });
            return {
              changes: [{ what: 'x' }],
              steps: [step(`write on ${host.name}`, host.name === 'w1'), step(`refresh on ${host.name}`)],
            };
          },
        },
      ],
    };
    const after = task('images', ['m', 'w1'], async (ctx) => void seen.push(`images ${ctx.host.name}`));
    const out = await runTasks(
      f.run,
      [trust, after],
      [],
      { forks: 1, connect: async (h) => f.conn(h.name), signal: ac.signal },
      (e) => f.events.push(e),
    );
    // m ran both steps before the signal; w1's first step (in flight when it came) finished, its
    // second never started, and images started nowhere.
    assert.deepEqual(seen, ['write on m', 'refresh on m', 'write on w1']);
    assert.equal(out.interrupted, 'SIGTERM');
    assert.deepEqual(out.recap.w1, {
      ok: 0,
      changed: 0,
      failed: 0,
      skipped: 0,
      unreachable: 0,
      interrupted: 1,
    });
    assert.deepEqual(out.recap.m, { ok: 0, changed: 1, failed: 0, skipped: 0, unreachable: 0 });
    assert.equal(exitCodeOf(out, { check: false, detailedExitcode: false }), 143);
    const recap = f.events.at(-1);
    assert.equal(recap?.type === 'recap' && recap.interrupted, 'SIGTERM');
    assert.ok(f.events.some((e) => e.type === 'interrupt' && e.signal === 'SIGTERM'));
    assert.deepEqual(
      f.events
        .filter((e) => e.type === 'progress')
        .map((e) => e.type === 'progress' && `${e.host}:${e.step}`),
      ['m:write on m', 'm:refresh on m', 'w1:write on w1'],
    );
    assert.deepEqual(f.log.sort(), ['close m', 'close w1'], 'connections left open');
  });

  it('work that does not finish after a signal is cut when its connection is closed, within the bound', async () => {
    const f = fixture(['m']);
    const ac = new AbortController();
    let closed!: () => void;
    const cut = new Promise<void>((r) => (closed = r));
    const conn = (name: string) =>
      ({ ...f.conn(name), close: async () => closed() }) as unknown as Connection;
    const hang = task('trust', ['m'], async () => {
      ac.abort('SIGINT');
      await cut;
      throw new Error('m: connection closed');
    });
    const out = await runTasks(
      f.run,
      [hang],
      [],
      { forks: 1, connect: async (h) => conn(h.name), signal: ac.signal, cutAfterMs: 20 },
      (e) => f.events.push(e),
    );
    assert.equal(out.interrupted, 'SIGINT');
    assert.equal(out.recap.m!.interrupted, 1);
    assert.equal(out.recap.m!.failed, 0);
  });

  it('handlers do not start after a signal: the host is interrupted with its handler owed', async () => {
    const f = fixture(['m']);
    const ac = new AbortController();
    let handlerRan = false;
    const t: TaskDef<object> = {
      id: 'trust',
      stages: [
        {
          hosts: () => ['m'],
          gather: async () => void ac.abort('SIGHUP'),
          plan: () => ({ changes: [{ what: 'ca.crt' }], steps: [], notify: ['restart-docker'] }),
        },
      ],
    };
    const out = await runTasks(
      f.run,
      [t],
      [{ id: 'restart-docker', run: async () => void (handlerRan = true) }],
      { forks: 1, connect: async (h) => f.conn(h.name), signal: ac.signal },
      (e) => f.events.push(e),
    );
    assert.equal(handlerRan, false);
    assert.equal(out.recap.m!.interrupted, 1);
    assert.ok(f.events.some((e) => e.type === 'handler' && e.status === 'interrupted'));
    assert.equal(exitCodeOf(out, { check: false, detailedExitcode: false }), 129);
  });

  it('-vv: every command a task or handler runs is told at debug level, through the engine', async () => {
    const f = fixture(['m']);
    const conn = (name: string) =>
      ({ ...f.conn(name), exec: async () => ({ code: 0, stdout: '', stderr: '' }) }) as unknown as Connection;
    const t: TaskDef<object> = {
      id: 'trust',
      stages: [
        {
          hosts: () => ['m'],
          gather: async () => undefined,
          plan: () => ({
            changes: [],
            steps: [
              {
                kind: 'exec',
                describe: 'refresh',
                cmd: { argv: ['update-ca-certificates'], stdin: 'never shown' },
              },
            ],
            notify: ['restart-docker'],
          }),
        },
      ],
    };
    await runTasks(
      f.run,
      [t],
      [
        {
          id: 'restart-docker',
          run: async (ctx) => void (await ctx.conn.exec({ argv: ['service', 'docker', 'restart'] })),
        },
      ],
      { forks: 1, connect: async (h) => conn(h.name) },
      (e) => f.events.push(e),
    );
    const debug = f.events
      .filter((e) => e.type === 'log' && e.level === 'debug')
      .map((e) => e.type === 'log' && e.message);
    // Each step is named, then its command told (stdin never shown); the handler's command too.
    assert.deepEqual(debug, [
      'step: refresh',
      '$ update-ca-certificates <<stdin',
      '$ service docker restart',
    ]);
    assert.ok(f.events.some((e) => e.type === 'progress' && e.handler === 'restart-docker'));
  });

  it('-vv: the reads that start before their task (read-aheads, early gathers) are told too', async () => {
    const f = fixture(['m']);
    const conn = (name: string) =>
      ({ ...f.conn(name), exec: async () => ({ code: 0, stdout: '', stderr: '' }) }) as unknown as Connection;
    const registry: TaskDef<object> = {
      id: 'registry',
      readAhead: (_run, c) => c.exec({ argv: ['probe', 'registry'] }),
      stages: [
        { hosts: () => ['m'], gather: async () => undefined, plan: () => ({ changes: [], steps: [] }) },
      ],
    };
    const tls: TaskDef<object> = {
      id: 'tls',
      stages: [
        {
          hosts: () => ['m'],
          gatherEarly: true,
          gather: (ctx) => ctx.conn.exec({ argv: ['probe', 'tls'] }),
          plan: () => ({ changes: [], steps: [] }),
        },
      ],
    };
    await runTasks(f.run, [tls, registry], [], { forks: 1, connect: async (h) => conn(h.name) }, (e) =>
      f.events.push(e),
    );
    const debug = f.events.filter((e) => e.type === 'log' && e.level === 'debug');
    assert.deepEqual(
      debug.map((e) => e.type === 'log' && e.message),
      ['$ probe tls', '$ probe registry'],
    );
    assert.ok(debug.every((e) => e.type === 'log' && e.host === 'm'));
  });
});

describe('engine: a gathered and planned stage', () => {
  // One planned task: its gather records the read, its plan one change with a step (a function
  // that records it ran) and a record for later tasks; a second task reads what the first recorded.
  function planned(check: boolean, early: boolean) {
    const f = fixture(['m']);
    f.run.check = check;
    const seen: string[] = [];
    const shared = f.run.shared as { note?: string };
    const tls: TaskDef<object> = {
      id: 'tls',
      stages: [
        {
          hosts: () => ['m'],
          gatherEarly: early,
          gather: async (ctx) => {
            seen.push(`gather ${ctx.host.name}`);
            return { have: 'old' };
          },
          plan: (facts: { have: string }) => ({
            changes: [{ what: 'file', from: facts.have, to: 'new' }],
            steps: [{ kind: 'fn', describe: 'write it', run: async () => void seen.push('step') }],
            record: { note: 'made' },
          }),
          settle: async () => void seen.push('settle'),
        },
      ],
    };
    const trust = task('trust', ['m'], async () => void seen.push(`later task sees ${shared.note}`));
    return { f, seen, tasks: [tls, trust] };
  }

  it('applies the steps, then settles; a later task sees the record', async () => {
    const { f, seen, tasks } = planned(false, false);
    const out = await runTasks(
      f.run,
      tasks,
      [],
      { forks: 5, connect: async (h) => f.conn(h.name) },
      () => {},
    );
    assert.deepEqual(seen, ['gather m', 'step', 'settle', 'later task sees made']);
    assert.deepEqual(out.changed, [
      { host: 'm', task: 'tls' },
      { host: 'm', task: 'trust' },
    ]);
  });

  it("says what a stage's settle waits for, after its last step, before the host's result", async () => {
    const { f, tasks } = planned(false, false);
    const stage = tasks[0]!.stages[0]!;
    assert.ok('plan' in stage);
    stage.settleDescribe = 'waiting for the registry to answer';
    const events: EngineEvent[] = [];
    await runTasks(f.run, tasks, [], { forks: 5, connect: async (h) => f.conn(h.name) }, (e) =>
      events.push(e),
    );
    const tls = events.filter((e) => (e.type === 'progress' || e.type === 'task') && e.task === 'tls');
    assert.deepEqual(
      tls.map((e) => (e.type === 'progress' ? e.step : e.type)),
      ['write it', 'waiting for the registry to answer', 'task'],
    );
  });

  it('check mode takes the same path and stops before the steps (no settle either)', async () => {
    const { f, seen, tasks } = planned(true, false);
    const events: EngineEvent[] = [];
    await runTasks(f.run, tasks, [], { forks: 5, connect: async (h) => f.conn(h.name) }, (e) =>
      events.push(e),
    );
    assert.deepEqual(seen, ['gather m', 'later task sees made']);
    const tlsEvent = events.find((e) => e.type === 'task' && e.task === 'tls');
    assert.ok(tlsEvent?.type === 'task');
    assert.equal(tlsEvent.status, 'changed');
    assert.deepEqual(tlsEvent.changes, [{ what: 'file', from: 'old', to: 'new' }]);
  });

  it('an early gather starts once the host is up and is taken, not read again', async () => {
    const { f, seen, tasks } = planned(true, true);
    await runTasks(f.run, tasks, [], { forks: 5, connect: async (h) => f.conn(h.name) }, () => {});
    assert.deepEqual(seen, ['gather m', 'later task sees made']);
    assert.equal(f.run.early.size, 0, 'nothing is left on the run');
  });
});
