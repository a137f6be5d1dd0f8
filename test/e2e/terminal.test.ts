// The operator's terminal: the built CLI in a real pseudo-terminal against the lab. The live tree
// must end whatever happens (an unreachable worker, a failing task, Ctrl-C, SIGTERM), show the
// recap, leave the deploy lock free and exit with the documented code; its final frames are
// compared with snapshots (escape sequences applied, durations normalised).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lab, type Lab } from '../helpers/lab.js';
import { parseTextRecap, ROOT, tempDir } from '../helpers/cli.js';
import { normaliseScreen, regbookInPty, type PtyRun } from '../helpers/pty.js';
import { basePlaybook, explain, writePlaybook } from './registry.js';
import { start } from './faults/support.js';

const LOCK = '/var/lib/regbook/lock';
const ESC = String.fromCharCode(27);
/** A foreground colour: ESC [ 3x m. */
const SGR_COLOUR = new RegExp(String.fromCharCode(27) + '\\[3\\dm');
/** A host line of the tree whose status is `changed` in yellow: `worker1: ESC[33mchanged ESC[39m`. */
const YELLOW_CHANGED_HOST = new RegExp(`\\w+: ${ESC}\\[33mchanged${ESC}\\[39m`);
const SNAPSHOTS = join(ROOT, 'test/e2e/snapshots');
/** After a signal, the run has this long to close its tree, release the lock and exit. */
const AFTER_SIGNAL_MS = 30_000;
/** A signal is said on the screen within this, long before the steps in flight end. */
const SAID_WITHIN_MS = 5000;
/** A whole apply on the lab, unreachable host included, ends well within this. */
const WHOLE_RUN_MS = 240_000;

/** Compares with the stored snapshot; REGBOOK_UPDATE_SNAPSHOTS=1 writes it instead. */
function matchSnapshot(name: string, screen: string): void {
  const file = join(SNAPSHOTS, `${name}.txt`);
  const text = normaliseScreen(screen);
  if (process.env.REGBOOK_UPDATE_SNAPSHOTS === '1' || !existsSync(file)) {
    mkdirSync(SNAPSHOTS, { recursive: true });
    writeFileSync(file, text);
    return;
  }
  assert.equal(text, readFileSync(file, 'utf8'), `the screen differs from ${file}`);
}

/** The CLI's result once it has ended, failing when it takes longer than `ms`. */
async function endsWithin(run: PtyRun, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_r, rej) =>
      (timer = setTimeout(() => rej(new Error(`did not end within ${ms} ms:\n${run.screen()}`)), ms)),
  );
  try {
    return await Promise.race([run.done, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('in a terminal', () => {
  let L: Lab;
  let inv: string;
  let pb: string;

  const lockFree = async () => (await L.sh('master', `test -e ${LOCK}`)).code !== 0;
  const apply = (extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
    regbookInPty(['apply', pb, '-i', inv, ...extra], { env, timeoutMs: WHOLE_RUN_MS });
  /** A worker drifts: its trust files are gone, so trust rewrites them and restarts its docker. */
  const drift = (host = 'worker1') =>
    L.shOk(
      host,
      'rm -f /etc/docker/certs.d/master:5000/ca.crt /usr/local/share/ca-certificates/regbook-master_5000.crt && update-ca-certificates --fresh >/dev/null 2>&1',
    );

  const slowRefresh = (host: string) =>
    L.shOk(
      host,
      // The real script is moved aside once only: a wrapper never wraps a wrapper.
      'f=$(command -v update-ca-certificates) && { [ -e "$f.real" ] || mv "$f" "$f.real"; } && ' +
        `printf '#!/bin/sh\\nsleep 4\\nexec %s.real "$@"\\n' "$f" > "$f" && chmod 755 "$f"`,
    );
  const fastRefresh = (host: string) =>
    L.shOk(
      host,
      'f=$(command -v update-ca-certificates) && if [ -e "$f.real" ]; then mv -f "$f.real" "$f"; fi',
    );

  before(async () => {
    L = await lab();
    await L.reset();
    inv = L.inventoryPath;
    pb = writePlaybook(tempDir('regbook-terminal-'), basePlaybook());
  });
  after(async () => {
    await L?.reset();
  });

  it('a fresh apply: the tree ends with the recap, exit 0 (snapshot)', async () => {
    const r = await endsWithin(apply(), WHOLE_RUN_MS);
    assert.equal(r.code, 0, r.screen);
    assert.match(r.screen, /^RECAP$/m);
    // regbook's own words in their colour (listr2's ✔ is green whatever regbook does): a host
    // line's `changed` in yellow.
    assert.match(r.raw, YELLOW_CHANGED_HOST, 'no yellow changed on a host line');
    matchSnapshot('fresh-apply', r.screen);
    assert.equal(await lockFree(), true, 'the lock outlived the run');
  });

  it('a drift: only the drifted worker changes (snapshot); NO_COLOR keeps the tree, without colour', async () => {
    await drift('worker1');
    const r = await endsWithin(apply([], { NO_COLOR: '1' }), WHOLE_RUN_MS);
    assert.equal(r.code, 0, r.screen);
    assert.ok(!SGR_COLOUR.test(r.raw), 'NO_COLOR still coloured');
    assert.match(r.screen, /^✔ trust/m, 'NO_COLOR switched the tree off');
    matchSnapshot('drift', r.screen);
    const recap = parseTextRecap(r.screen);
    assert.equal(recap.worker1!.changed, 1, r.screen);
    assert.equal(recap.worker2!.changed, 0, r.screen);
  });

  it('an unreachable worker: the tree ends, recap, exit 4, lock free', async () => {
    await L.stop('worker3');
    try {
      const r = await endsWithin(apply(['-v']), WHOLE_RUN_MS);
      assert.equal(r.code, 4, r.screen);
      assert.match(r.screen, /unreachable: worker3/);
      assert.match(r.screen, /^✔ facts/m, '-v switched the tree off');
      assert.equal(parseTextRecap(r.screen).worker3!.unreachable, 1, r.screen);
      assert.equal(await lockFree(), true, 'the lock outlived the run');
    } finally {
      await L.start('worker3');
    }
  });

  it('a failing task: the tree ends, recap, exit 2, lock free', async () => {
    // certs.d a file, not a directory: trust cannot write there.
    await L.shOk('worker1', 'rm -rf /etc/docker/certs.d && touch /etc/docker/certs.d');
    try {
      const r = await endsWithin(apply(), WHOLE_RUN_MS);
      assert.equal(r.code, 2, r.screen);
      const recap = parseTextRecap(r.screen);
      assert.equal(recap.worker1!.failed, 1, r.screen);
      assert.equal(recap.worker2!.failed, 0, r.screen);
      assert.equal(await lockFree(), true, 'the lock outlived the run');
    } finally {
      await L.shOk('worker1', 'rm -f /etc/docker/certs.d && mkdir -p /etc/docker/certs.d');
    }
  });

  for (const [how, code] of [
    ['Ctrl-C', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${how} while trust runs: the tree ends, recap with hosts interrupted, exit ${code}, lock free`, async () => {
      await drift('worker1');
      await drift('worker2');
      // worker1's store refresh takes a few seconds more, so a step surely runs longer than a
      // second (and is in flight when the signal comes).
      await slowRefresh('worker1');
      let r;
      try {
        const run = apply();
        // A step that runs longer than a second is named on its host's line, with its time so far.
        await run.waitFor(/^ {2}\S+ worker1: update-ca-certificates \(\d+s\)$/m, WHOLE_RUN_MS);
        if (how === 'Ctrl-C') run.send('\u0003');
        else process.kill(await run.pid, 'SIGTERM');
        // Said in the tree at once, while the step in flight finishes, not only once the run ends.
        const sig = how === 'Ctrl-C' ? 'SIGINT' : 'SIGTERM';
        await run.waitFor(
          new RegExp(`trust — stopping \\(${sig}\\): steps in flight finish`),
          SAID_WITHIN_MS,
        );
        assert.doesNotMatch(run.screen(), /^RECAP$/m, 'the stop was said only at the end');
        r = await endsWithin(run, AFTER_SIGNAL_MS);
      } finally {
        await fastRefresh('worker1');
      }
      assert.equal(r.code, code, r.screen);
      assert.match(r.screen, /^RECAP$/m);
      assert.match(r.screen, new RegExp(`interrupted by ${how === 'Ctrl-C' ? 'SIGINT' : 'SIGTERM'}`));
      const recap = parseTextRecap(r.screen);
      assert.ok(
        Object.values(recap).every((c) => c.failed === 0),
        `a host counted failed:\n${r.screen}`,
      );
      assert.equal(await lockFree(), true, `${how} left the lock held`);
    });
  }

  it('plain output (a pipe), Ctrl-C while trust runs: hosts interrupted, none failed, exit 130', async () => {
    await drift('worker1');
    await drift('worker2');
    const run = start(['apply', pb, '-i', inv]);
    await run.waitFor(
      /\[worker\d\] write \/etc\/docker\/certs\.d|TASK \[trust\][\s\S]*(changed|ok): \[master\]/,
    );
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, explain(r));
    assert.ok(!r.stdout.includes('\u001b['), 'escape sequences in plain output');
    const recap = parseTextRecap(r.stdout);
    assert.ok(
      Object.values(recap).every((c) => c.failed === 0),
      `Ctrl-C counted a host failed:\n${r.stdout}`,
    );
    assert.ok(
      Object.values(recap).some((c) => c.interrupted === 1),
      `no host counted interrupted:\n${r.stdout}`,
    );
    assert.equal(await lockFree(), true, 'Ctrl-C left the lock held');
  });
});
