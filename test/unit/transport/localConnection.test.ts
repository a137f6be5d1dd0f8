import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalConnection } from '../../../src/transport/local.js';
import { Secret } from '../../../src/core/secret.js';

const conn = () => new LocalConnection({ name: 'builder' });

test('exec returns code, stdout and stderr and does not reject on a non-zero exit', async () => {
  const r = await conn().exec({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
  assert.deepEqual(r, { code: 7, stdout: 'out\n', stderr: 'err\n' });
});

test('stdin is written then closed; a Secret is revealed only there', async () => {
  const r = await conn().exec({ argv: ['cat'], stdin: new Secret('s3cr3t & $x') });
  assert.equal(r.stdout, 's3cr3t & $x');
  const none = await conn().exec({ argv: ['cat'] });
  assert.equal(none.stdout, '', 'a command without stdin sees EOF at once');
});

test('timeoutMs kills the command and rejects', async () => {
  const t0 = Date.now();
  await assert.rejects(
    conn().exec({ argv: ['sleep', '5'] }, { timeoutMs: 200 }),
    /builder: command timed out after 200 ms/,
  );
  assert.ok(Date.now() - t0 < 2000);
});

test('a command killed by a signal rejects naming the signal', async () => {
  await assert.rejects(conn().exec({ argv: ['sh', '-c', 'kill -TERM 0'] }), /killed by signal SIGTERM/);
});

test('close() rejects the commands still running', async () => {
  const c = conn();
  const running = c.exec({ argv: ['sleep', '5'] });
  await new Promise((r) => setTimeout(r, 100));
  await c.close();
  await assert.rejects(running, /connection closed/);
  await assert.rejects(c.exec({ argv: ['true'] }), /connection is closed/);
});

test('writeFile replaces the file atomically with the mode asked, leaving no temporary file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'regbook-local-'));
  const target = join(dir, "odd name 'quoted' $x");
  writeFileSync(target, 'old');
  const data = Buffer.from([0, 1, 2, 255, 10, 39, 36]);
  await conn().writeFile(target, data, { mode: 0o640 });
  assert.ok(readFileSync(target).equals(data));
  assert.equal(statSync(target).mode & 0o777, 0o640);
  assert.deepEqual(readdirSync(dir), ["odd name 'quoted' $x"]);
  await conn().writeFile(target, '', { mode: 0o600 });
  assert.equal(readFileSync(target, 'utf8'), '');
});

test('writeFile into a missing directory fails with the path in the message', async () => {
  await assert.rejects(
    conn().writeFile('/nonexistent-dir-regbook/x', 'a', { mode: 0o644 }),
    /builder: writing \/nonexistent-dir-regbook\/x failed/,
  );
});

test('execWithFile streams a local file into stdin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'regbook-local-'));
  const src = join(dir, 'big');
  const data = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
  writeFileSync(src, data);
  const r = await conn().execWithFile({ argv: ['wc', '-c'] }, src);
  assert.equal(r.stdout.trim(), String(data.length));
});

test('openTcp connects to a local port', async () => {
  const server = createServer((s) => s.end('hello'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const s = await conn().openTcp('127.0.0.1', port);
  const got = await new Promise<string>((resolve) => {
    let buf = '';
    s.on('data', (d: Buffer) => (buf += d.toString()));
    s.on('end', () => resolve(buf));
  });
  assert.equal(got, 'hello');
  server.close();
});
