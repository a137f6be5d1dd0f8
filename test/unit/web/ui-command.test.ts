// `regbook ui`'s own checks, before it reads a file or opens a connection; and what the web view's
// code may open: nothing on the hosts beyond the reads of `status` and `catalog`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { regbook, ROOT } from '../../helpers/cli.js';

describe('regbook ui --port', () => {
  for (const port of ['70000', '-1', '80.5', 'abc'])
    it(`refuses --port ${port} as bad input (exit 1), naming the range`, async () => {
      const r = await regbook(['ui', 'nosuch.yaml', '-i', 'nosuch-inventory.yaml', '--port', port]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /--port must be a port number, 0 to 65535 \(0: any free port\)/);
      assert.equal(r.stdout, '', 'no URL printed');
    });
});

describe('the web view opens nothing of its own on the hosts', () => {
  it('src/web/*.ts runs no command and opens no channel itself: only through status and catalog', () => {
    const dir = join(ROOT, 'src/web');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    assert.ok(files.includes('state.ts') && files.includes('remove.ts'), files.join(' '));
    for (const f of files) {
      // Comments may name the calls; code may not make them.
      const code = readFileSync(join(dir, f), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      for (const call of ['.exec(', '.execWithFile(', '.openTcp(', '.writeFile(', 'connect(']) {
        const uses = code.split(call).length - 1;
        // HostConnections opens the SSH connection to each host (transport's connect), and nothing
        // else: every read goes through status's (ops/status.ts readStatus).
        const allowed = f === 'state.ts' && call === 'connect(' ? 1 : 0;
        assert.equal(uses, allowed, `${f} calls ${call} ${uses} times`);
      }
    }
  });
});
