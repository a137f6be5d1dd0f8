// The transport layer against the lab's real OpenSSH hosts (see lab/ and test/helpers/lab.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { argWord } from '../helpers/argwords.js';
import { lab, type Lab, type LabHost } from '../helpers/lab.js';
import {
  checkSudo,
  connect,
  SshConnection,
  SudoPasswordRequiredError,
  UnreachableError,
  type ConnectableHost,
  type ConnectOptions,
  type Connection,
} from '../../src/transport/index.js';
import type { HostKeyChecking } from '../../src/config/model.js';
import { DockerEngine, EngineError } from '../../src/transport/dockerEngine.js';
import { readHostFacts } from '../../src/facts/os.js';
import { dockerClientCalls } from '../helpers/docker-client.js';

let L: Lab;
const work = mkdtempSync(join(tmpdir(), 'regbook-transport-it-'));

before(async () => {
  L = await lab();
});

function spec(h: LabHost, over: Partial<ConnectableHost> = {}): ConnectableHost {
  return {
    name: h.name,
    role: h.name === L.master.name ? 'master' : 'worker',
    connection: 'ssh',
    address: h.address,
    port: h.port,
    user: h.user,
    identityFile: L.keyPath,
    knownHosts: L.knownHostsPath,
    hostKeyChecking: 'strict',
    ...(h.become ? { become: h.become } : {}),
    source: { file: L.inventoryPath, line: 1, col: 1 },
    ...over,
  };
}

function host(name: string): LabHost {
  const h = L.hosts.find((x: LabHost) => x.name === name);
  assert.ok(h, `lab host ${name}`);
  return h;
}

/** A root host other than the master, so host-key games do not disturb the master. */
function rootWorker(): LabHost {
  const w = L.workers.filter((x: LabHost) => x.user === 'root');
  const h = w[w.length - 1];
  assert.ok(h, 'a root worker in the lab');
  return h;
}

/** Runs a root shell script on the host through the lab (not through regbook); its stdout. */
function onHost(h: LabHost, script: string): Promise<string> {
  return L.shOk(h, script);
}

/** Fingerprints of the host's current public host keys, as the host's own ssh-keygen prints them. */
async function serverFingerprints(h: LabHost): Promise<string[]> {
  const out = await onHost(
    h,
    'for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -l -E sha256 -f "$f"; done',
  );
  return out
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '');
}

/** Fingerprints known_hosts holds for a name, as the control node's ssh-keygen prints them. */
function knownFingerprints(file: string, name: string): string[] {
  const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-F', name, '-f', file], {
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(' ').find((w) => w.startsWith('SHA256:')) ?? '');
}

async function withConn<T>(
  c: ConnectableHost,
  fn: (conn: Connection) => Promise<T>,
  opts?: ConnectOptions,
): Promise<T> {
  const conn = await connect(c, opts);
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

test('quoting property over SSH: any argv word reaches the remote sh byte for byte (100 cases, one connection)', async () => {
  await withConn(spec(L.master), async (conn) => {
    await fc.assert(
      fc.asyncProperty(fc.array(argWord, { minLength: 1, maxLength: 3 }), async (words) => {
        // od prints the remote bytes, so a decoding difference could not hide a changed byte.
        const r = await conn.exec({
          argv: ['sh', '-c', 'printf "%s\\000" "$@" | od -An -v -tx1', 'sh', ...words],
        });
        assert.equal(r.code, 0, r.stderr);
        const remoteHex = r.stdout.replace(/\s+/g, '');
        const localHex = Buffer.concat(
          words.map((w) => Buffer.concat([Buffer.from(w, 'utf8'), Buffer.from([0])])),
        ).toString('hex');
        assert.equal(remoteHex, localHex);
      }),
      { numRuns: 100 },
    );
  });
});

test('exec basics over SSH: exit codes, stdout/stderr, stdin, timeout, signal', async () => {
  await withConn(spec(L.master), async (conn) => {
    assert.deepEqual(await conn.exec({ argv: ['sh', '-c', 'echo o; echo e >&2; exit 5'] }), {
      code: 5,
      stdout: 'o\n',
      stderr: 'e\n',
    });
    assert.equal((await conn.exec({ argv: ['cat'], stdin: 'via stdin' })).stdout, 'via stdin');
    assert.equal((await conn.exec({ argv: ['cat'] })).stdout, '', 'no stdin means EOF at once');
    await assert.rejects(conn.exec({ argv: ['sleep', '30'] }, { timeoutMs: 300 }), /timed out after 300 ms/);
    await assert.rejects(
      conn.exec({ argv: ['sh', '-c', 'kill -KILL $$'] }),
      /killed by signal SIGKILL|exit status/,
    );
    // The connection is still good after all that.
    assert.equal((await conn.exec({ argv: ['echo', 'ok'] })).stdout, 'ok\n');
  });
});

test('the SSH socket has Nagle off, so a small request does not wait for the delayed ACK', async () => {
  // Recorded on net.Socket itself: regbook's TCP socket to the host must be told noDelay(true).
  const calls: Array<{ socket: Socket; on: boolean }> = [];
  const original = Socket.prototype.setNoDelay;
  Socket.prototype.setNoDelay = function (this: Socket, on?: boolean) {
    calls.push({ socket: this, on: on ?? true });
    return original.call(this, on);
  };
  try {
    await withConn(spec(L.master), async (conn) => {
      assert.equal((await conn.exec({ argv: ['echo', 'ok'] })).stdout, 'ok\n');
      // Asked while connected: a closed socket no longer knows its peer.
      const ports = calls.map((c) => [c.on, c.socket.remotePort]);
      assert.ok(
        calls.some((c) => c.on && c.socket.remotePort === L.master.port),
        `noDelay(true) on the socket to port ${L.master.port}; calls: ${JSON.stringify(ports)}`,
      );
    });
  } finally {
    Socket.prototype.setNoDelay = original;
  }
});

test("OpenSSH's host key announcement is not answered with a request for proofs", async () => {
  // The request for proofs goes out through this method of ssh2's protocol layer.
  const { Client } = createRequire(import.meta.url)('ssh2') as typeof import('ssh2');
  const Protocol = createRequire(import.meta.url)('ssh2/lib/protocol/Protocol.js') as {
    prototype: { openssh_hostKeysProve(keys: unknown[]): void };
  };
  const asked: string[] = [];
  let current = 'regbook';
  const original = Protocol.prototype.openssh_hostKeysProve;
  Protocol.prototype.openssh_hostKeysProve = function (this: unknown, keys: unknown[]) {
    asked.push(current);
    return original.call(this, keys);
  };
  // The announcement comes right after login; a command and a pause give it time to arrive.
  const settle = () => new Promise((r) => setTimeout(r, 300));
  try {
    await withConn(spec(L.master), async (conn) => {
      assert.equal((await conn.exec({ argv: ['echo', 'ok'] })).stdout, 'ok\n');
      await settle();
    });
    // The control: a plain ssh2 client to the same server asks, so the server does announce.
    current = 'plain ssh2';
    const plain = new Client();
    await new Promise<void>((resolve, reject) => {
      plain.once('ready', () => resolve()).once('error', reject);
      plain.connect({
        host: L.master.address,
        port: L.master.port,
        username: L.master.user,
        privateKey: readFileSync(L.keyPath),
        hostVerifier: () => true,
      });
    });
    await settle();
    plain.end();
  } finally {
    Protocol.prototype.openssh_hostKeysProve = original;
  }
  assert.deepEqual(asked, ['plain ssh2']);
});

test('50 commands started at once on one host all succeed (queued under MaxSessions)', async () => {
  await withConn(spec(L.master), async (conn) => {
    const rs = await Promise.all(
      Array.from({ length: 50 }, (_, i) => conn.exec({ argv: ['sh', '-c', `sleep 0.1; echo ${i}`] })),
    );
    assert.deepEqual(
      rs.map((r) => [r.code, r.stdout]),
      rs.map((_, i) => [0, `${i}\n`]),
    );
  });
});

test('a channel limit above the server\'s is lowered on "open failed" instead of failing', async () => {
  await withConn(
    spec(L.master),
    async (conn) => {
      const rs = await Promise.all(Array.from({ length: 40 }, () => conn.exec({ argv: ['sleep', '0.3'] })));
      assert.ok(rs.every((r) => r.code === 0));
      assert.ok(conn instanceof SshConnection);
      assert.ok(
        conn.sessionLimit <= 10,
        `limit lowered to the server's MaxSessions, got ${conn.sessionLimit}`,
      );
    },
    { maxSessions: 40 },
  );
});

test('strict: a host whose key changed is refused before any authentication, with both fingerprints', async () => {
  const h = rootWorker();
  const name = `[${h.address}]:${h.port}`;
  // Our own copy of the known_hosts as it was, so restoring the lab does not depend on it.
  const kh = join(work, 'known_hosts.before-rekey');
  copyFileSync(L.knownHostsPath, kh);
  const expected = knownFingerprints(kh, name);
  assert.ok(expected.length > 0);
  await L.rekey(h);
  try {
    const presentedNow = await serverFingerprints(h);
    assert.ok(
      presentedNow.every((f) => !expected.includes(f)),
      'rekey gave the host new keys',
    );
    const auth: string[] = [];
    const trace: string[] = [];
    const err = await connect(spec(h, { knownHosts: kh }), {
      onAuthAttempt: (m) => auth.push(m),
      debug: (l) => trace.push(l),
    }).then(
      () => assert.fail('connected to a host whose key changed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof UnreachableError);
    assert.equal(err.reason, 'hostkey');
    assert.deepEqual(auth, [], 'no credential was offered');
    assert.ok(!trace.some((l) => /USERAUTH_REQUEST|SERVICE_REQUEST/.test(l)), 'no auth packet was sent');
    assert.match(err.message, /HOST KEY CHANGED/);
    assert.ok(
      expected.some((f) => err.message.includes(`expected:  ${f}`)),
      err.message,
    );
    assert.ok(
      presentedNow.some((f) => err.message.includes(`presented: ${f}`)),
      err.message,
    );
    assert.ok(err.message.includes(`${kh}:`), 'names the known_hosts file and line');
  } finally {
    await restoreHostKeys(h);
  }
  // And with the original keys back, the same file is accepted again.
  await withConn(spec(h, { knownHosts: kh }), async (c) =>
    assert.equal((await c.exec({ argv: ['true'] })).code, 0),
  );
});

/** Puts the host's first-boot host keys back (the lab keeps a copy) and restarts its sshd. */
async function restoreHostKeys(h: LabHost): Promise<void> {
  await onHost(
    h,
    'rm -f /etc/ssh/ssh_host_* && cp -p /var/lib/regbook-lab/hostkeys/ssh_host_* /etc/ssh/ && service ssh restart >/dev/null',
  );
}

test('accept-new records an unknown host in a fresh known_hosts, then refuses a changed key', async () => {
  const h = host(L.workers[0]?.name ?? '');
  const kh = join(work, 'known_hosts.accept-new');
  writeFileSync(kh, '# empty\n');
  const accepted: string[] = [];
  await withConn(
    spec(h, { knownHosts: kh, hostKeyChecking: 'accept-new' }),
    async (c) => {
      assert.equal((await c.exec({ argv: ['true'] })).code, 0);
    },
    { onHostKeyAccepted: (i) => accepted.push(`${i.knownHostsName} ${i.fingerprint}`) },
  );
  const recorded = knownFingerprints(kh, `[${h.address}]:${h.port}`);
  assert.equal(recorded.length, 1);
  assert.ok((await serverFingerprints(h)).includes(recorded[0] ?? ''), "the recorded key is the host's own");
  assert.deepEqual(accepted, [`[${h.address}]:${h.port} ${recorded[0]}`]);
  // The recorded entry now satisfies strict checking.
  await withConn(spec(h, { knownHosts: kh, hostKeyChecking: 'strict' }), async (c) => {
    assert.equal((await c.exec({ argv: ['true'] })).code, 0);
  });
  // A different key on record for that name is a change, and accept-new refuses it.
  const other = join(work, 'otherkey');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
  const forged = join(work, 'known_hosts.forged');
  writeFileSync(
    forged,
    `[${h.address}]:${h.port} ${readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`,
  );
  const before = readFileSync(forged, 'utf8');
  await assert.rejects(
    connect(spec(h, { knownHosts: forged, hostKeyChecking: 'accept-new' })),
    (e: unknown) =>
      e instanceof UnreachableError && e.reason === 'hostkey' && /HOST KEY CHANGED/.test(e.message),
  );
  assert.equal(readFileSync(forged, 'utf8'), before, 'a refused key is not recorded');
});

test('strict with an unknown host refuses; off accepts anything', async () => {
  const h = L.master;
  const empty = join(work, 'known_hosts.empty');
  writeFileSync(empty, '');
  await assert.rejects(
    connect(spec(h, { knownHosts: empty })),
    (e: unknown) =>
      e instanceof UnreachableError && e.reason === 'hostkey' && /no host key for/.test(e.message),
  );
  await withConn(spec(h, { knownHosts: empty, hostKeyChecking: 'off' as HostKeyChecking }), async (c) => {
    assert.equal((await c.exec({ argv: ['true'] })).code, 0);
  });
  assert.equal(readFileSync(empty, 'utf8'), '', 'off records nothing');
});

test('hashed known_hosts entries (ssh-keygen -H) match', async () => {
  const kh = join(work, 'known_hosts.hashed');
  copyFileSync(L.knownHostsPath, kh);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', kh], { stdio: 'ignore' });
  assert.ok(!readFileSync(kh, 'utf8').includes('127.0.0.1'), 'no plain name is left');
  for (const h of [L.master, ...L.workers]) {
    await withConn(spec(h, { knownHosts: kh }), async (c) =>
      assert.equal((await c.exec({ argv: ['true'] })).code, 0),
    );
  }
});

test('a wrong key is an auth failure, a closed port a connect failure', async () => {
  const wrong = join(work, 'wrongkey');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrong]);
  await assert.rejects(
    connect(spec(L.master, { identityFile: wrong }), { connectTimeoutMs: 5000 }),
    (e: unknown) => e instanceof UnreachableError && e.reason === 'auth' && e.message.includes(wrong),
  );
  await assert.rejects(
    connect(spec(L.master, { port: 1 }), { connectTimeoutMs: 2000 }),
    (e: unknown) => e instanceof UnreachableError && e.reason === 'connect',
  );
});

test('an upload cut off mid-transfer leaves the old file and no temporary file', async () => {
  const h = L.master;
  const dir = '/tmp/regbook-transport-upload';
  await onHost(h, `rm -rf ${dir} && mkdir -p ${dir} && printf old > ${dir}/target`);
  const conn = await connect(spec(h));
  try {
    const big = Buffer.alloc(256 * 1024 * 1024, 0x61);
    const upload = conn.writeFile(`${dir}/target`, big, { mode: 0o644 });
    upload.catch(() => {});
    // Inside the host: wait for the temporary file to be growing, then kill the sshd process that
    // serves this session (the parent of our write script), which cuts the connection mid-transfer.
    const killed = await onHost(
      h,
      `for i in $(seq 1 400); do
         s=$(stat -c %s ${dir}/.target.regbook.* 2>/dev/null | head -n1)
         if [ -n "$s" ] && [ "$s" -gt 1048576 ]; then
           pid=$(pgrep -f 'regbook-writ[e] ${dir}/target' | head -n1)
           ppid=$(ps -o ppid= -p "$pid" | tr -d ' ')
           case "$(ps -o args= -p "$ppid")" in sshd:*) kill -KILL "$ppid" && echo "killed at $s"; exit 0 ;; esac
           echo "parent of $pid is not sshd: $(ps -o args= -p "$ppid")"; exit 0
         fi
         sleep 0.05
       done; echo never`,
    );
    assert.match(killed, /killed at \d+/);
    await assert.rejects(upload);
  } finally {
    await conn.close();
  }
  // The script's EXIT trap runs on the host after its stdin ended: give it a moment.
  let listing = '';
  for (let i = 0; i < 40; i++) {
    listing = (await onHost(h, `ls -A ${dir}`)).trim();
    if (listing === 'target') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(listing, 'target', 'no temporary file is left');
  assert.equal(await onHost(h, `cat ${dir}/target`), 'old');
  await onHost(h, `rm -rf ${dir}`);
});

test('become: sudo on the non-root worker runs privileged commands and writes as root', async () => {
  const h = L.hosts.find((x: LabHost) => x.become === 'sudo');
  assert.ok(h, 'a become host in the lab');
  await withConn(spec(h), async (c) => {
    await checkSudo(c);
    assert.equal((await c.exec({ argv: ['id', '-u'], privileged: true })).stdout.trim(), '0');
    assert.notEqual((await c.exec({ argv: ['id', '-u'] })).stdout.trim(), '0');
    const path = "/etc/regbook transport 'it'";
    await c.writeFile(path, 'secret-ish\n', { mode: 0o600, privileged: true });
    const st = await c.exec({ argv: ['stat', '-c', '%U %a %s', path], privileged: true });
    assert.equal(st.stdout.trim(), 'root 600 11');
    // Without privileged, the login user cannot write there: the write fails and says so.
    await assert.rejects(
      c.writeFile('/etc/regbook-not-allowed', 'x', { mode: 0o644 }),
      /writing \/etc\/regbook-not-allowed failed/,
    );
    await c.exec({ argv: ['rm', '-f', path], privileged: true });
  });
});

test('a sudo that asks for a password fails clearly, naming the host', async () => {
  const h = L.hosts.find((x: LabHost) => x.become === 'sudo');
  assert.ok(h, 'a become host in the lab');
  const rule = `/etc/sudoers.d/90-${h.user}`;
  const original = await onHost(h, `cat ${rule}`);
  assert.match(original, /NOPASSWD/);
  await onHost(h, `printf '%s ALL=(ALL) ALL\\n' ${h.user} > ${rule}`);
  try {
    await withConn(spec(h), async (c) => {
      await assert.rejects(
        c.exec({ argv: ['true'], privileged: true }),
        (e: unknown) =>
          e instanceof SudoPasswordRequiredError &&
          e.message.includes(h.name) &&
          e.message.includes('passwordless sudo'),
      );
      await assert.rejects(checkSudo(c), SudoPasswordRequiredError);
      // Unprivileged commands are not affected.
      assert.equal((await c.exec({ argv: ['true'] })).code, 0);
    });
  } finally {
    await onHost(h, `printf '%s ALL=(ALL) NOPASSWD: ALL\\n' ${h.user} > ${rule} && chmod 0440 ${rule}`);
  }
  await withConn(spec(h), (c) => checkSudo(c));
});

test('close() rejects the commands still running and every later one', async () => {
  const conn = await connect(spec(L.master));
  const running = assert.rejects(conn.exec({ argv: ['sleep', '30'] }), /connection closed/);
  await new Promise((r) => setTimeout(r, 300));
  await conn.close();
  await running;
  await assert.rejects(conn.exec({ argv: ['true'] }), /connection closed/);
});

test('ProxyJump from ~/.ssh/config: the master as bastion, a worker reached by its lab-network name', async () => {
  const target = L.workers[0];
  assert.ok(target);
  const inner = target.container; // resolvable only on the lab network, i.e. from the bastion
  const m = L.master;
  const cfg = join(work, 'ssh_config');
  writeFileSync(cfg, `Host ${inner}\n  ProxyJump ${m.user}@${m.address}:${m.port}\n`);
  // known_hosts: the bastion as the lab recorded it, the target under its inner name and port 22.
  const kh = join(work, 'known_hosts.jump');
  const labKh = readFileSync(L.knownHostsPath, 'utf8').split('\n');
  const targetLines = labKh
    .filter((l) => l.startsWith(`[${target.address}]:${target.port} `))
    .map((l) => l.replace(/^\S+/, inner));
  writeFileSync(kh, [...labKh, ...targetLines].join('\n') + '\n');
  const jump = spec(target, { address: inner, port: 22, knownHosts: kh });
  await withConn(
    jump,
    async (c) => {
      const r = await c.exec({ argv: ['cat', '/etc/hostname'] });
      assert.equal(r.code, 0);
      const direct = await onHost(target, 'cat /etc/hostname');
      assert.equal(r.stdout, direct, 'the command ran on the target, not on the bastion');
    },
    { sshConfigPath: cfg },
  );
});

after(() => {
  execFileSync('rm', ['-rf', work]);
});

// The Engine API over `docker system dial-stdio`, through the same SSH connection.
test('the docker engine API answers over the SSH connection: JSON, errors, one stream reused', async () => {
  await withConn(spec(L.master), async (c) => {
    const engine = new DockerEngine(c);
    try {
      const version = await engine.json<{ ApiVersion: string; Version: string }>('GET', '/version');
      assert.match(version.ApiVersion, /^1\.\d+$/);
      // The same daemon the docker client on the host reaches: the same images, by id.
      const listed = await engine.json<{ Id: string }[]>('GET', '/images/json');
      const byClient = (await onHost(L.master, 'docker images -q --no-trunc | sort -u')).trim().split('\n');
      assert.deepEqual([...new Set(listed.map((i) => i.Id))].sort(), byClient.filter(Boolean).sort());
      // An error status carries the daemon's own message.
      await assert.rejects(
        engine.json('GET', `/containers/${encodeURIComponent('no-such-container-here')}/json`),
        (e: unknown) => e instanceof EngineError && e.status === 404 && /No such container/.test(e.message),
      );
      // Sequential requests share one kept-alive stream, so one dial-stdio serves them all.
      for (let i = 0; i < 5; i++) await engine.request('GET', '/_ping');
      assert.equal(engine.streamsOpened, 1);
      // Requests made at the same time open more streams, up to the limit.
      await Promise.all([1, 2, 3].map(() => engine.json('GET', '/info')));
      assert.ok(engine.streamsOpened >= 2 && engine.streamsOpened <= 4, `streams: ${engine.streamsOpened}`);
    } finally {
      engine.close();
    }
    // Closing ends every dial-stdio on the host.
    let left = '';
    for (let i = 0; i < 50; i++) {
      left = (
        await c.exec({ argv: ['sh', '-c', 'pgrep -f "^docker system dial-stdio" || true'] })
      ).stdout.trim();
      if (left === '') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(left, '', 'no dial-stdio left running');
  });
});

test('the docker engine API on a become host runs dial-stdio through sudo', async () => {
  const h = L.hosts.find((x: LabHost) => x.become === 'sudo');
  assert.ok(h, 'a become host in the lab');
  // The login user alone may not use the socket: only sudo makes the answer possible.
  const direct = await withConn(spec(h), (c) =>
    c.exec({ argv: ['docker', 'version', '--format', '{{.Server.Version}}'] }),
  );
  assert.notEqual(direct.code, 0, 'the login user cannot reach the daemon without sudo');
  await withEngine(h, async (engine) => {
    assert.equal((await engine.request('GET', '/_ping')).body.toString(), 'OK');
  });
});

test('a streamed answer that fails inside its 200 throws with the daemon message', async () => {
  await withEngine(L.master, async (engine) => {
    // Nothing listens on port 1: the daemon starts the pull, then reports why it failed.
    await assert.rejects(
      engine.stream('POST', '/images/create', {
        query: { fromImage: '127.0.0.1:1/regbook/none', tag: 'x' },
      }),
      (e: unknown) => e instanceof EngineError && /connection refused|127\.0\.0\.1:1/.test(e.message),
    );
  });
});

/** A fresh connection to the host, its facts read (which choose the engine's way to docker), then its engine. */
function withFactsEngine(h: LabHost, body: (engine: DockerEngine) => Promise<unknown>): Promise<unknown> {
  return withConn(spec(h), async (c) => {
    const { facts } = await readHostFacts(c);
    assert.ok(facts, `${h.name}: facts`);
    await body(c.docker() as DockerEngine);
  });
}

test("on a root host, the engine reaches docker's socket through the SSH server: no command runs on the host", async () => {
  const h = rootWorker();
  let engine: DockerEngine | undefined;
  let listed: { Id: string }[] = [];
  const calls = await dockerClientCalls(L, h.name, async () => {
    await withFactsEngine(h, async (e) => {
      engine = e;
      listed = await e.json<{ Id: string }[]>('GET', '/images/json');
      await Promise.all([1, 2].map(() => e.json('GET', '/info')));
    });
  });
  assert.deepEqual(calls, [], 'no docker client started on the host');
  assert.ok(engine && engine.streamsOpened >= 1, 'streams opened');
  assert.equal(engine.commandsStarted, 0, 'no dial-stdio');
  // The same daemon the docker client on the host reaches: the same images, by id.
  const byClient = (await onHost(h, 'docker images -q --no-trunc | sort -u')).trim().split('\n');
  assert.deepEqual([...new Set(listed.map((i) => i.Id))].sort(), byClient.filter(Boolean).sort());
});

test('on a become host, the facts leave the engine to dial-stdio through sudo', async () => {
  const h = L.hosts.find((x: LabHost) => x.become === 'sudo');
  assert.ok(h, 'a become host in the lab');
  await withFactsEngine(h, async (engine) => {
    assert.equal((await engine.request('GET', '/_ping')).body.toString(), 'OK');
    assert.equal(engine.commandsStarted, 1);
  });
});

test('a host whose SSH server forwards no sockets: the engine goes on through dial-stdio', async () => {
  const h = rootWorker();
  const conf = '/etc/ssh/sshd_config.d/regbook-no-streamlocal.conf';
  // A HUP makes the listening sshd read its configuration again, for the connections after it.
  const reload = 'kill -HUP "$(cat /run/sshd.pid)"; sleep 1';
  await onHost(h, `echo 'AllowStreamLocalForwarding no' > ${conf}; ${reload}`);
  try {
    await withFactsEngine(h, async (engine) => {
      assert.equal((await engine.request('GET', '/_ping')).body.toString(), 'OK');
      assert.equal((await engine.request('GET', '/_ping')).body.toString(), 'OK');
      assert.equal(engine.commandsStarted, 1, 'one dial-stdio, kept alive');
    });
  } finally {
    await onHost(h, `rm -f ${conf}; ${reload}`);
  }
});

/** A fresh connection to the host and an engine on it, both closed after `body`. */
function withEngine(h: LabHost, body: (engine: DockerEngine) => Promise<unknown>): Promise<unknown> {
  return withConn(spec(h), async (c) => {
    const engine = new DockerEngine(c);
    try {
      await body(engine);
    } finally {
      engine.close();
    }
  });
}

test("a connection's docker engine is one per connection, and it ends its dial-stdio when the connection closes", async () => {
  const c = await connect(spec(host('worker1')));
  try {
    assert.strictEqual(c.docker(), c.docker(), 'one engine per connection');
    assert.equal((await c.docker().request('GET', '/_ping')).body.toString(), 'OK');
  } finally {
    await c.close();
  }
  const left = await waitNoDial(host('worker1'));
  assert.equal(left, '', 'no dial-stdio left running after the connection closed');
});

test('after a docker restart, a request on the same engine opens a fresh dial-stdio and answers', async () => {
  await withConn(spec(host('worker1')), async (c) => {
    const engine = c.docker() as DockerEngine;
    const before = await engine.json<{ ID: string }>('GET', '/info');
    assert.equal(engine.streamsOpened, 1);
    // The restart ends the daemon's end of the kept-alive stream; dial-stdio exits with it.
    await onHost(host('worker1'), 'service docker restart >/dev/null 2>&1 || true');
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = (await c.exec({ argv: ['docker', 'info', '--format', '{{.ID}}'] })).code === 0;
      if (!up) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(up, 'docker came back');
    const after = await engine.json<{ ID: string }>('GET', '/info');
    assert.equal(after.ID, before.ID, 'the same daemon answers');
    assert.equal(engine.streamsOpened, 2, 'the request went on a new stream');
  });
});

// A socket that passes every connection on to the daemon's own, and logs each one.
const COUNTING_PROXY = `
import os, socket, threading
path, log = '/run/regbook-ctx.sock', open('/tmp/regbook-ctx.log', 'a', buffering=1)
if os.path.exists(path): os.unlink(path)
srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen(8)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
    except OSError: pass
    try: b.shutdown(socket.SHUT_WR)
    except OSError: pass
while True:
    c, _ = srv.accept(); log.write('connection\\n')
    d = socket.socket(socket.AF_UNIX); d.connect('/var/run/docker.sock')
    for a, b in ((c, d), (d, c)): threading.Thread(target=pipe, args=(a, b), daemon=True).start()
`;

test("the docker engine API reaches the daemon the host's docker client would: its current context", async () => {
  const h = rootWorker();
  const connections = async () =>
    Number((await onHost(h, 'cat /tmp/regbook-ctx.log 2>/dev/null | wc -l')).trim());
  try {
    await onHost(
      h,
      'rm -f /tmp/regbook-ctx.log; docker context create regbook-ctx --docker host=unix:///run/regbook-ctx.sock >/dev/null && docker context use regbook-ctx >/dev/null',
    );
    // The facts see the context, so the engine leaves the choice to dial-stdio. Nothing listens
    // on the context's socket yet: the request fails, naming that socket.
    await withFactsEngine(h, (engine) =>
      assert.rejects(engine.request('GET', '/_ping'), /regbook-ctx\.sock/),
    );
    await L.sh(h, 'cat > /tmp/regbook-ctx.py', { stdin: COUNTING_PROXY });
    await onHost(
      h,
      `setsid python3 /tmp/regbook-ctx.py </dev/null >/dev/null 2>&1 &
      i=0; until [ -S /run/regbook-ctx.sock ] || [ $i -ge 50 ]; do i=$((i+1)); sleep 0.1; done`,
    );
    // Through the context's socket, the daemon answers; the proxy saw the connection.
    await withFactsEngine(h, async (engine) => {
      assert.equal((await engine.request('GET', '/_ping')).body.toString(), 'OK');
      assert.ok(engine.commandsStarted >= 1, 'dial-stdio followed the context');
    });
    assert.ok((await connections()) >= 1, 'the request did not go through the context');
  } finally {
    await L.sh(
      h,
      'docker context use default >/dev/null; docker context rm -f regbook-ctx >/dev/null; pkill -f regbook-ctx.py; rm -f /run/regbook-ctx.sock /tmp/regbook-ctx.log /tmp/regbook-ctx.py',
    );
  }
});

async function waitNoDial(h: LabHost): Promise<string> {
  let left = '';
  for (let i = 0; i < 50; i++) {
    left = (await onHost(h, 'pgrep -f "^docker system dial-stdio" || true')).trim();
    if (left === '') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return left;
}
