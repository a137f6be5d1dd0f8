// The tasks decide the same way in check mode and in an apply: the engine alone stops before the
// steps. So no task branches on check mode, and no task keeps per-run state in a module (two runs
// in one process, as the web view makes, would share it); the run carries what a run needs.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '../../../src/tasks');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

// Strips comments, so a comment that names check mode is not taken for code that branches on it.
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

describe('src/tasks holds no check-mode branch and no module-level run state', () => {
  const files = sources(ROOT);
  it('finds the task sources', () => assert.ok(files.length > 10));
  it('no task reads run.check', () => {
    const hits = files.flatMap((f) =>
      code(readFileSync(f, 'utf8'))
        .split('\n')
        .filter((l) => /\.check\b/.test(l))
        .map((l) => `${relative(ROOT, f)}: ${l.trim()}`),
    );
    assert.deepEqual(hits, []);
  });
  it('no module-level Map, WeakMap, Set or WeakSet', () => {
    // A collection made at the top level of a module lives as long as the process, across runs.
    const hits = files.flatMap((f) =>
      code(readFileSync(f, 'utf8'))
        .split('\n')
        .filter((l) => /^(export\s+)?(const|let|var)\s.*\bnew\s+(Weak)?(Map|Set)\b/.test(l))
        .map((l) => `${relative(ROOT, f)}: ${l.trim()}`),
    );
    assert.deepEqual(hits, []);
  });
  it('no WeakMap or WeakSet anywhere (state keyed by the run), no module-level let', () => {
    const hits = files.flatMap((f) =>
      code(readFileSync(f, 'utf8'))
        .split('\n')
        .filter((l) => /\bWeak(Map|Set)\b/.test(l) || /^(export\s+)?(let|var)\s/.test(l))
        .map((l) => `${relative(ROOT, f)}: ${l.trim()}`),
    );
    assert.deepEqual(hits, []);
  });
});
