// Starts Debian's docker-registry (distribution 2.8) as a child process with TLS, for tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface RunningRegistry {
  port: number;
  dir: string;
  output: () => string;
  stop: () => Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function startRegistry(opts: {
  certPem: string;
  keyPem: string;
  htpasswd?: string;
}): Promise<RunningRegistry> {
  if (!existsSync(REGISTRY_BIN)) {
    throw new Error(`${REGISTRY_BIN} is missing: \`npm run lab:tools\` installs Debian's docker-registry`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'regbook-registry-'));
  const port = await freePort();
  writeFileSync(join(dir, 'server.crt'), opts.certPem);
  writeFileSync(join(dir, 'server.key'), opts.keyPem, { mode: 0o600 });
  const lines = [
    'version: 0.1',
    'log: {level: warn}',
    'storage:',
    `  filesystem: {rootdirectory: ${join(dir, 'data')}}`,
    '  delete: {enabled: true}',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  tls: {certificate: ${join(dir, 'server.crt')}, key: ${join(dir, 'server.key')}}`,
  ];
  if (opts.htpasswd !== undefined) {
    writeFileSync(join(dir, 'htpasswd'), opts.htpasswd);
    lines.push('auth:', `  htpasswd: {realm: regbook-test, path: ${join(dir, 'htpasswd')}}`);
  }
  writeFileSync(join(dir, 'config.yml'), lines.join('\n') + '\n');

  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`docker-registry did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    dir,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
