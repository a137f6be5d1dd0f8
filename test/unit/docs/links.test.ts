import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Markdown without its fenced code blocks and code spans, where a `[x](y)` is not a link. */
function prose(md: string): string {
  return md.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

function links(md: string): string[] {
  return [...prose(md).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

/** The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(md: string): Set<string> {
  const headings = md.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+)$/gm);
  return new Set([...headings].map((m) => slug(m[1]!.trim())));
}

describe('the README and docs/', () => {
  it('keep the README a short manual (at most 15 KB)', () => {
    const size = statSync(join(ROOT, 'README.md')).size;
    assert.ok(size <= 15_000, `README.md is ${size} bytes; move depth to docs/`);
  });

  it('keep the test command CI runs, and the "How do I…" answers, in the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, /^npm test$/m);
    assert.match(readme, /^npm ci\b/m);
    assert.match(readme, /^## How do I…$/m);
    for (const topic of [
      'delete an image or a digest',
      'add a worker',
      'rotate the certificate or the CA',
      'move the registry to a new master',
      'recover after a killed run',
      'use regbook from CI with JSON output',
    ]) {
      assert.match(readme, new RegExp(`^### ${topic}$`, 'm'), topic);
    }
  });

  for (const page of PAGES) {
    it(`${page}: every relative link reaches a file inside the repository, and its anchor exists`, () => {
      const md = readFileSync(join(ROOT, page), 'utf8');
      for (const link of links(md)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // a URL
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? join(ROOT, page) : resolve(dirname(join(ROOT, page)), path);
        const inside = relative(ROOT, target);
        assert.ok(!inside.startsWith('..'), `${page}: ${link} points outside the repository`);
        assert.ok(existsSync(target), `${page}: ${link} does not exist`);
        if (anchor) {
          assert.ok(target.endsWith('.md'), `${page}: ${link} has an anchor into a non-Markdown file`);
          assert.ok(
            anchors(readFileSync(target, 'utf8')).has(anchor),
            `${page}: ${link}: no heading with the anchor #${anchor}`,
          );
        }
      }
    });
  }

  it('the link check itself finds links, and drops the ones in code', () => {
    assert.deepEqual(links('[a](x.md) `[b](y.md)`\n```\n[c](z.md)\n```\n[d](w.md#e)'), ['x.md', 'w.md#e']);
    assert.equal(slug('How do I…'), 'how-do-i');
    assert.equal(slug('The deploy lock'), 'the-deploy-lock');
    assert.equal(slug('`regbook rm`: delete'), 'regbook-rm-delete');
  });
});
