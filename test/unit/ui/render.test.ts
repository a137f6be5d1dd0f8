import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { EngineEvent } from '../../../src/engine/events.js';
import { colorPalette } from '../../../src/ui/color.js';
import { makeRedact } from '../../../src/ui/format.js';
import { ndjsonRenderer } from '../../../src/ui/ndjson.js';
import { plainRenderer } from '../../../src/ui/plain.js';

const SECRET = `pa$$'w"ord`;
const events: EngineEvent[] = [
  { type: 'start', hosts: ['master', 'w1'], tasks: ['facts', 'trust'], check: false },
  { type: 'connect', host: 'master', status: 'ok' },
  { type: 'task-start', task: 'trust', hosts: ['master', 'w1'] },
  {
    type: 'task',
    host: 'master',
    task: 'trust',
    status: 'changed',
    changes: [{ what: '/etc/docker/certs.d/m:5000/ca.crt', from: 'sha256:aa', to: 'sha256:bb' }],
    durationMs: 3,
  },
  {
    type: 'task',
    host: 'w1',
    task: 'trust',
    status: 'failed',
    changes: [],
    message: `login failed for ${SECRET}`,
    detail: 'line 1\nline 2',
    durationMs: 4,
  },
  { type: 'handler', host: 'master', handler: 'restart-docker', status: 'ok' },
  {
    type: 'recap',
    hosts: {
      master: { ok: 0, changed: 1, failed: 0, skipped: 0, unreachable: 0 },
      w1: { ok: 0, changed: 0, failed: 1, skipped: 0, unreachable: 0 },
    },
  },
];

function capture(make: (out: PassThrough) => (e: EngineEvent) => void): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const emit = make(out);
  for (const e of events) emit(e);
  return text;
}

describe('renderers', () => {
  const redact = makeRedact([SECRET]);

  it('plain: task lines, changes (old → new with --diff), detail, recap; secrets masked', () => {
    const text = capture((out) => plainRenderer(out, { diff: true, verbose: 0, redact }));
    assert.match(text, /^TASK \[trust\]$/m);
    assert.match(text, /^APPLY 2 hosts: master, w1$/m);
    assert.match(text, /^changed: \[master\] \(0\.0s\)$/m);
    assert.match(text, /~ \/etc\/docker\/certs\.d\/m:5000\/ca\.crt: sha256:aa → sha256:bb/);
    assert.match(text, /^ {2}\| line 2$/m);
    assert.match(text, /^w1\s+ok=0\s+changed=0\s+failed=1\s+skipped=0\s+unreachable=0\s+0\.0s$/m);
    assert.match(text, /^handler restart-docker: \[master\] ok$/m);
    assert.ok(!text.includes(SECRET));
    assert.match(text, /login failed for \*\*\*/);
    assert.ok(!text.includes('\u001b'), 'no escape sequences');
  });

  it('plain with the colour palette (FORCE_COLOR): yellow changed, red failed, coloured recap counts', () => {
    const text = capture((out) =>
      plainRenderer(out, { diff: false, verbose: 0, redact, palette: colorPalette }),
    );
    assert.ok(text.includes('\u001b[33mchanged: [master]\u001b[39m'), text);
    assert.ok(text.includes('\u001b[31mfailed: [w1]\u001b[39m'), text);
    assert.ok(text.includes('\u001b[33mchanged=1\u001b[39m'), text);
    assert.ok(text.includes('\u001b[31mfailed=1\u001b[39m'), text);
    assert.ok(text.includes('handler restart-docker: [master] \u001b[32mok\u001b[39m'), text);
  });

  it('plain without --diff names what changes but not the values', () => {
    const text = capture((out) => plainRenderer(out, { diff: false, verbose: 0, redact }));
    assert.match(text, /~ \/etc\/docker\/certs\.d\/m:5000\/ca\.crt$/m);
    assert.doesNotMatch(text, /sha256:aa/);
  });

  it('NDJSON: one object per line, tasks, handlers and the recap last; secrets masked', () => {
    const lines = capture((out) => ndjsonRenderer(out, redact))
      .trim()
      .split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as { type: string });
    assert.deepEqual(
      parsed.map((p) => p.type),
      ['task', 'task', 'handler', 'recap'],
    );
    assert.ok(!lines.join('\n').includes(SECRET));
    assert.equal((parsed[1] as unknown as { message: string }).message, 'login failed for ***');
  });

  it('redact masks longer secrets first, so one that contains another leaves nothing behind', () => {
    const r = makeRedact(['abc', 'abcdef']);
    assert.equal(r('x abcdef y abc'), 'x *** y ***');
    assert.equal(makeRedact([''])('text'), 'text');
  });
});
