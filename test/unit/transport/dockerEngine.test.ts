// The engine client's own layer: how it reads the daemon's answers, how it chooses between the
// host's docker socket and dial-stdio, and what it says when dial-stdio cannot reach a daemon. The API itself is tested against the lab's real daemons
// (test/integration/transport.test.ts).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  daemonMessage,
  demuxStream,
  DockerEngine,
  parseStream,
  registryAuthHeader,
  tracedEngine,
  type DockerApi,
} from '../../../src/transport/dockerEngine.js';
import { Secret } from '../../../src/core/secret.js';
import { LocalConnection } from '../../../src/transport/local.js';
import { SocketOpenError } from '../../../src/transport/types.js';

test("daemonMessage takes the daemon's message, or the body as it came", () => {
  assert.equal(daemonMessage(Buffer.from('{"message":"No such container: x"}\n')), 'No such container: x');
  assert.equal(daemonMessage(Buffer.from('page not found')), 'page not found');
  assert.equal(daemonMessage(Buffer.from('')), '(empty answer)');
});

test("demuxStream splits a container's framed output into its streams, keeping their order", () => {
  const frame = (kind: number, text: string) => {
    const b = Buffer.from(text);
    const h = Buffer.alloc(8);
    h[0] = kind;
    h.writeUInt32BE(b.length, 4);
    return Buffer.concat([h, b]);
  };
  const out = demuxStream(Buffer.concat([frame(1, 'one\n'), frame(2, 'warn\n'), frame(1, 'two\n')]));
  assert.deepEqual(out, { stdout: 'one\ntwo\n', stderr: 'warn\n', all: 'one\nwarn\ntwo\n' });
  // A container with a terminal sends its bytes unframed.
  assert.deepEqual(demuxStream(Buffer.from('plain text\n')).stdout, 'plain text\n');
  assert.deepEqual(demuxStream(Buffer.alloc(0)), { stdout: '', stderr: '', all: '' });
});

test('parseStream reads JSON lines, both failure forms, and keeps a stray line as a status', () => {
  const events = parseStream(
    [
      '{"status":"Pulling from team/app","id":"1.0"}',
      '',
      '{"errorDetail":{"message":"manifest unknown"}}',
      '{"error":"boom","errorDetail":{"message":"boom"}}',
      'not json',
    ].join('\n'),
  );
  assert.equal(events.length, 4);
  assert.equal(events[1]!.errorDetail?.message, 'manifest unknown');
  assert.equal(events[2]!.error, 'boom');
  assert.deepEqual(events[3], { status: 'not json' });
});

/** A docker client that fails as the real one does when no daemon listens; PATH points at it until `restore`. */
function failingDockerClient(): { restore: () => void } {
  const bin = mkdtempSync(join(tmpdir(), 'regbook-fake-docker-'));
  writeFileSync(
    join(bin, 'docker'),
    '#!/bin/sh\necho "Cannot connect to the Docker daemon at unix:///nowhere.sock. Is the docker daemon running?" >&2\nexit 1\n',
  );
  chmodSync(join(bin, 'docker'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path ?? ''}`;
  return { restore: () => (process.env.PATH = path) };
}

test("a daemon dial-stdio cannot reach is reported with dial-stdio's own words", async () => {
  const docker = failingDockerClient();
  const conn = new LocalConnection({ name: 'here' });
  const engine = new DockerEngine(conn);
  try {
    await assert.rejects(
      engine.request('GET', '/_ping'),
      /^Error: here: cannot reach the docker daemon: Cannot connect to the Docker daemon at unix:\/\/\/nowhere\.sock/,
    );
  } finally {
    engine.close();
    await conn.close();
    docker.restore();
  }
});

/** An HTTP server on a unix socket that answers every request with its path, standing in for a daemon. */
async function socketDaemon(path: string): Promise<Server> {
  const server = createServer((req, res) => res.end(JSON.stringify({ path: req.url })));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

test('with a docker socket, requests go to it and no dial-stdio starts; kept alive between requests', async () => {
  const docker = failingDockerClient();
  const sock = join(mkdtempSync(join(tmpdir(), 'regbook-sock-')), 'docker.sock');
  const server = await socketDaemon(sock);
  const conn = new LocalConnection({ name: 'here' });
  const engine = new DockerEngine(conn);
  try {
    engine.useSocket(sock);
    assert.deepEqual(await engine.json('GET', '/_ping'), { path: '/v1.41/_ping' });
    assert.deepEqual(await engine.json('GET', '/info'), { path: '/v1.41/info' });
    assert.equal(engine.streamsOpened, 1);
    assert.equal(engine.commandsStarted, 0);
  } finally {
    engine.close();
    await conn.close();
    server.close();
    docker.restore();
  }
});

test('streams dial-stdio opened before the socket was named end once idle; later requests go to the socket', async () => {
  // A dial-stdio that does what the real one does: its stdin and stdout piped to the daemon's socket.
  const dir = mkdtempSync(join(tmpdir(), 'regbook-dial-'));
  const sock = join(dir, 'docker.sock');
  writeFileSync(
    join(dir, 'dial.py'),
    [
      'import os, socket, threading',
      's = socket.socket(socket.AF_UNIX); s.connect(os.environ["FAKE_SOCK"])',
      'def up():',
      '    while True:',
      '        d = os.read(0, 65536)',
      '        if not d: break',
      '        s.sendall(d)',
      'threading.Thread(target=up, daemon=True).start()',
      'while True:',
      '    d = s.recv(65536)',
      '    if not d: break',
      '    os.write(1, d)',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'docker'), `#!/bin/sh\necho $$ >> ${dir}/pids\nexec python3 ${dir}/dial.py\n`);
  chmodSync(join(dir, 'docker'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${dir}:${path ?? ''}`;
  process.env.FAKE_SOCK = sock;
  let release: () => void = () => undefined;
  const slow = new Promise<void>((r) => (release = r));
  const server = createServer((req, res) => {
    if (req.url?.endsWith('/slow')) void slow.then(() => res.end('"slow"'));
    else res.end(JSON.stringify({ path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  const conn = new LocalConnection({ name: 'here' });
  const engine = new DockerEngine(conn);
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    // Two streams through dial-stdio: one idle, one busy when the socket is named.
    await Promise.all([engine.json('GET', '/a'), engine.json('GET', '/b')]);
    assert.equal(engine.commandsStarted, 2);
    const busy = engine.json('GET', '/slow');
    await new Promise((r) => setTimeout(r, 200));
    engine.useSocket(sock);
    release();
    assert.equal(await busy, 'slow', 'the request in flight is answered');
    assert.deepEqual(await engine.json('GET', '/c'), { path: '/v1.41/c' });
    assert.equal(engine.commandsStarted, 2, 'no dial-stdio after the socket was named');
    const pids = readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map(Number);
    for (let i = 0; i < 50 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(pids.filter(alive), [], 'every dial-stdio ended');
  } finally {
    engine.close();
    await conn.close();
    server.close();
    process.env.PATH = path;
    delete process.env.FAKE_SOCK;
  }
});

test('a server that forwards no sockets leaves every later stream to dial-stdio', async () => {
  const docker = failingDockerClient();
  let tries = 0;
  // An SSH server with AllowStreamLocalForwarding no refuses the channel (OpenSSH: CONNECT_FAILED).
  class NoForwarding extends LocalConnection {
    override openSocket(path: string): Promise<never> {
      tries++;
      return Promise.reject(new SocketOpenError(`here: cannot open ${path}: open failed`));
    }
  }
  const conn = new NoForwarding({ name: 'here' });
  const engine = new DockerEngine(conn, { maxStreams: 1 });
  try {
    engine.useSocket('/var/run/docker.sock');
    await assert.rejects(engine.request('GET', '/_ping'), /cannot reach the docker daemon/);
    await assert.rejects(engine.request('GET', '/_ping'), /cannot reach the docker daemon/);
    assert.equal(tries, 1, 'the refusal is remembered');
    assert.equal(engine.commandsStarted, 2);
  } finally {
    engine.close();
    await conn.close();
    docker.restore();
  }
});

test('X-Registry-Auth is URL-safe base64 with its padding, which docker 20.10 needs to read it', () => {
  // A JSON whose length is not a multiple of 3, and whose bytes give + and / in plain base64.
  const auth = { username: 'u', password: new Secret('>>>???~~'), serveraddress: 'master:5000' };
  const header = registryAuthHeader(auth);
  assert.match(header, /=$/, 'padded');
  assert.doesNotMatch(header, /[+/]/, 'URL-safe');
  const decoded = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, string>;
  assert.deepEqual(decoded, { username: 'u', password: '>>>???~~', serveraddress: 'master:5000' });
  assert.equal(registryAuthHeader('anonymous'), 'e30=');
});

test('a traced engine tells each request by method and path, never its body nor its credentials', async () => {
  const lines: string[] = [];
  const seen: string[] = [];
  const inner: DockerApi = {
    hostName: 'h',
    request: async (m, p) => (seen.push(`${m} ${p}`), { status: 200, body: Buffer.from('OK') }),
    json: async <T>(m: string, p: string) => (seen.push(`${m} ${p}`), undefined as T),
    stream: async (m, p) => (seen.push(`${m} ${p}`), []),
  };
  const traced = tracedEngine(inner, (l) => lines.push(l));
  const auth = { username: 'u', password: new Secret('hunter2-password'), serveraddress: 'r:5000' };
  await traced.stream('POST', '/images/r:5000/app/push', { query: { tag: '1' }, registryAuth: auth });
  await traced.json('POST', '/containers/create', { body: { Env: ['REGISTRY_X=topsecret'] } });
  await traced.request('GET', '/_ping');
  assert.deepEqual(seen, ['POST /images/r:5000/app/push', 'POST /containers/create', 'GET /_ping']);
  assert.deepEqual(lines, [
    'docker API POST /images/r:5000/app/push',
    'docker API POST /containers/create',
    'docker API GET /_ping',
  ]);
  assert.doesNotMatch(lines.join('\n'), /hunter2|topsecret|tag=/);
});
