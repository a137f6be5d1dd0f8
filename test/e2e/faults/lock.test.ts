// The deploy lock on the master and Ctrl-C: two applies at once, a lock left by a killed run (seen
// and broken with `regbook lock`), check mode reporting it, and SIGINT mid-run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { lab, type Lab } from '../../helpers/lab.js';
import { parseTextRecap, tempDir } from '../../helpers/cli.js';
import { basePlaybook, explain, writePlaybook } from '../registry.js';
import { rb, sleep, start, tempFilesEverywhere } from './support.js';

const LOCK = '/var/lib/regbook/lock';

describe('the deploy lock and Ctrl-C', () => {
  let L: Lab;
  let inv: string;
  let pb: string;

  const lockExists = async () => (await L.sh('master', `test -d ${LOCK}`)).code === 0;
  /** sshd processes serving a session (OpenSSH names them "sshd: USER@notty"), per host. */
  async function sessions(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const h of L.hosts) {
      const n = (await L.shOk(h.name, "pgrep -f 'sshd: .*@notty' | wc -l")).trim();
      out[h.name] = Number(n);
    }
    return out;
  }

  before(async () => {
    L = await lab();
    await L.reset();
    inv = L.inventoryPath;
    pb = writePlaybook(tempDir('regbook-lock-'), basePlaybook());
  });
  after(async () => {
    await L?.reset();
  });

  it('a second apply while one runs stops at once with exit 2, naming the holder; lock status shows it', async () => {
    const first = start(['apply', pb, '-i', inv]);
    await first.waitFor(/TASK \[tls\]/);
    const pid = first.child.pid!;
    // Frozen while it holds the lock, so the runs below surely find it held, however fast it is.
    first.child.kill('SIGSTOP');
    const second = await rb(['apply', pb, '-i', inv]);
    assert.equal(second.code, 2, explain(second));
    assert.match(
      second.stderr,
      new RegExp(`deploy lock on master .* held by \\S+@\\S+ \\(pid ${pid}\\) since \\d{4}-`),
    );
    assert.match(second.stderr, /nothing was changed/);
    assert.doesNotMatch(second.stdout, /TASK \[/, 'the second run ran tasks');
    const status = await rb(['lock', 'status', pb, '-i', inv, '--output', 'json']);
    assert.equal(status.code, 0, explain(status));
    const st = JSON.parse(status.stdout) as { held: boolean; holder?: { pid: number; command: string } };
    assert.equal(st.held, true, status.stdout);
    assert.equal(st.holder?.pid, pid);
    assert.match(st.holder?.command ?? '', /regbook apply/);
    // Check mode takes no lock, but says who holds it.
    const check = await rb(['apply', pb, '-i', inv, '--check']);
    assert.match(check.stderr, new RegExp(`note: the deploy lock on master is held by .*pid ${pid}`));
    first.child.kill('SIGCONT');
    const r = await first.done;
    assert.equal(r.code, 0, explain(r));
    assert.equal(await lockExists(), false, 'the lock outlived the run');
    const free = await rb(['lock', 'status', pb, '-i', inv]);
    assert.match(free.stdout, /deploy lock on master is free/);
  });

  it('with --lock-timeout the second apply waits for the first and then runs', async () => {
    await L.shOk('worker1', 'rm -f /etc/docker/certs.d/master:5000/ca.crt');
    const first = start(['apply', pb, '-i', inv]);
    await first.waitFor(/TASK \[facts\]/);
    // Frozen while it holds the lock, so the second surely finds it held and waits.
    first.child.kill('SIGSTOP');
    const waiting = start(['apply', pb, '-i', inv, '--lock-timeout', '120']);
    await waiting.waitFor(/waiting up to 120s for the deploy lock on master, held by .*pid/);
    await sleep(2000);
    assert.equal(waiting.child.exitCode, null, 'the second run stopped instead of waiting');
    first.child.kill('SIGCONT');
    const second = await waiting.done;
    assert.equal(second.code, 0, explain(second));
    assert.equal((await first.done).code, 0);
    // The first run fixed the drift; the second, run after it, found nothing to do.
    const recap = parseTextRecap(second.stdout);
    assert.ok(
      Object.values(recap).every((c) => c.changed === 0),
      second.stdout,
    );
    assert.equal(await lockExists(), false);
  });

  it('a lock left by a killed run of another machine blocks applies, which read no host, until lock release breaks it', async () => {
    await L.shOk('worker1', 'rm -f /etc/docker/certs.d/master:5000/ca.crt');
    const killed = start(['apply', pb, '-i', inv]);
    await killed.waitFor(/TASK \[facts\]/);
    killed.child.kill('SIGKILL');
    await killed.done;
    assert.equal(await lockExists(), true, 'SIGKILL cannot release; the lock must stay');
    // As if that run had been on another control machine: this one cannot tell whether it lives.
    await L.shOk(
      'master',
      `sed -i 's/"holder":"[^"]*@[^"]*"/"holder":"ci@another-machine"/' ${LOCK}/holder.json`,
    );
    // Every host's facts read /etc/os-release first: its access time, set far back, shows whether
    // the blocked run read anything on a host (before the lock, on what another run was changing).
    const OS_RELEASE = 'f=$(readlink -f /etc/os-release)';
    await Promise.all(L.hosts.map((h) => L.shOk(h.name, `${OS_RELEASE} && touch -a -d 2000-01-01 "$f"`)));
    const blocked = await rb(['apply', pb, '-i', inv]);
    assert.equal(blocked.code, 2, explain(blocked));
    for (const h of L.hosts) {
      const atime = (await L.shOk(h.name, `${OS_RELEASE} && stat -c %x "$f"`)).trim();
      assert.match(atime, /^2000-01-01/, `${h.name} was read before the lock was held`);
    }
    assert.match(blocked.stderr, new RegExp(`pid ${killed.child.pid}\\b`));
    assert.match(blocked.stderr, /regbook lock release/);
    const status = await rb(['lock', 'status', pb, '-i', inv]);
    assert.match(status.stdout, new RegExp(`held by .*pid ${killed.child.pid}`));
    const release = await rb(['lock', 'release', pb, '-i', inv]);
    assert.equal(release.code, 0, explain(release));
    assert.match(release.stdout, /released the deploy lock on master/);
    assert.equal(await lockExists(), false);
    const next = await rb(['apply', pb, '-i', inv]);
    assert.equal(next.code, 0, explain(next));
    assert.equal(parseTextRecap(next.stdout).worker1!.changed, 1, next.stdout);
  });

  it('an apply whose reader goes away (| head) runs to its end and releases the lock', async () => {
    await L.shOk('worker1', 'rm -f /etc/docker/certs.d/master:5000/ca.crt');
    const run = start(['apply', pb, '-i', inv, '--output', 'json']);
    await run.waitFor(/"type":"task"/);
    run.child.stdout!.destroy(); // the reader is gone: the run's next write meets EPIPE
    const r = await run.done;
    assert.equal(r.code, 0, run.output());
    assert.equal(await lockExists(), false, 'the lock outlived the run');
    const fixed = await L.sh('worker1', 'test -f /etc/docker/certs.d/master:5000/ca.crt');
    assert.equal(fixed.code, 0, 'the run stopped when its reader went away');
  });

  it('Ctrl-C mid-run: exit 130, connections closed, no temporary files, lock released', async () => {
    await L.reset();
    const idle = await sessions();
    const run = start(['apply', pb, '-i', inv]);
    await run.waitFor(/TASK \[trust\]/);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, explain(r));
    assert.match(r.stderr, /SIGINT: stopping; no new step starts/);
    assert.match(r.stdout, /^interrupted by SIGINT/m);
    // Sessions close asynchronously on the server, and the baseline may still hold one of an
    // earlier run that was closing: no host may end with more than it had, once they settle.
    const outlived = async () => {
      const now = await sessions();
      return Object.keys(now).filter((h) => now[h]! > idle[h]!);
    };
    let extra = await outlived();
    for (let i = 0; i < 20 && extra.length > 0; i++) {
      await sleep(250);
      extra = await outlived();
    }
    assert.deepEqual(extra, [], `an SSH session outlived the run (before: ${JSON.stringify(idle)})`);
    assert.deepEqual(await tempFilesEverywhere(L), {});
    assert.equal(await lockExists(), false, 'Ctrl-C left the lock held');
    // The next apply converges, then nothing changes.
    const next = await rb(['apply', pb, '-i', inv]);
    assert.equal(next.code, 0, explain(next));
    const again = await rb(['apply', pb, '-i', inv]);
    assert.ok(
      Object.values(parseTextRecap(again.stdout)).every((c) => c.changed === 0),
      again.stdout,
    );
  });

  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`${sig} mid-run: exit ${code}, the recap, lock released`, async () => {
      await L.shOk('worker1', 'rm -f /etc/docker/certs.d/master:5000/ca.crt');
      const run = start(['apply', pb, '-i', inv]);
      await run.waitFor(/TASK \[trust\]/);
      run.child.kill(sig);
      const r = await run.done;
      assert.equal(r.code, code, explain(r));
      assert.match(r.stdout, new RegExp(`^interrupted by ${sig}`, 'm'));
      assert.match(r.stdout, /^RECAP$/m);
      assert.equal(await lockExists(), false, `${sig} left the lock held`);
    });
  }

  it('a lock left by a dead run of this same machine is taken over, with a notice', async () => {
    await L.shOk('worker1', 'rm -f /etc/docker/certs.d/master:5000/ca.crt');
    // The record a killed run of this machine leaves: its host, a pid that no longer runs.
    const gone = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    const record = JSON.stringify({
      id: 'dead-run',
      holder: `someone@${hostname()}`,
      pid: Number(gone),
      since: new Date().toISOString(),
      command: 'regbook apply site.yaml',
    });
    await L.shOk('master', `mkdir -p ${LOCK} && printf '%s\\n' '${record}' > ${LOCK}/holder.json`);
    const r = await rb(['apply', pb, '-i', inv]);
    assert.equal(r.code, 0, explain(r));
    assert.match(
      r.stderr,
      new RegExp(`taking over the deploy lock on master: .*pid ${gone}\\b.*process is gone`),
    );
    assert.equal(parseTextRecap(r.stdout).worker1!.changed, 1, r.stdout);
    assert.equal(await lockExists(), false);
  });

  it('a lock that cannot be taken stops the run before any change (it never runs unlocked)', async () => {
    await L.shOk('worker1', 'rm -f /etc/docker/certs.d/master:5000/ca.crt');
    // A file where the lock directory goes: mkdir fails, and the lock can be neither taken nor read.
    await L.shOk('master', `rm -rf ${LOCK} && mkdir -p $(dirname ${LOCK}) && touch ${LOCK}`);
    try {
      const r = await rb(['apply', pb, '-i', inv]);
      assert.equal(r.code, 2, explain(r));
      assert.match(r.stderr, /taking the deploy lock .* failed.*nothing was changed/);
      assert.doesNotMatch(r.stdout, /TASK \[/, 'tasks ran without the lock');
      const still = await L.sh('worker1', 'test -e /etc/docker/certs.d/master:5000/ca.crt');
      assert.notEqual(still.code, 0, 'the run changed a host without the lock');
    } finally {
      await L.shOk('master', `rm -f ${LOCK}`);
    }
  });

  it('a master that cannot be reached cannot be locked: the run stops, exit 4, no worker touched', async () => {
    await L.shOk('worker1', 'rm -f /etc/docker/certs.d/master:5000/ca.crt');
    await L.stop('master');
    try {
      const r = await rb(['apply', pb, '-i', inv]);
      assert.equal(r.code, 4, explain(r));
      assert.match(r.stderr, /cannot take the deploy lock: master cannot be reached.*nothing was changed/);
      assert.doesNotMatch(r.stdout, /TASK \[trust\]/, 'tasks ran without the lock');
      const still = await L.sh('worker1', 'test -e /etc/docker/certs.d/master:5000/ca.crt');
      assert.notEqual(still.code, 0, 'a worker was changed without the lock');
    } finally {
      await L.start('master');
    }
  });
});
