// Any string given as an argv word reaches a real `sh` process byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { argWord } from '../../helpers/argwords.js';
import { LocalConnection } from '../../../src/transport/local.js';

test('property: argv words reach sh unchanged (printf %s\\0 per word)', async () => {
  const conn = new LocalConnection({ name: 'local' });
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(argWord, { minLength: 1, maxLength: 4 }), async (words) => {
        const r = await conn.exec({ argv: ['printf', '%s\\000', ...words] });
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.stdout.split('\0').slice(0, -1), words);
      }),
      { numRuns: 300 },
    );
  } finally {
    await conn.close();
  }
});

test('env values are quoted too', async () => {
  const conn = new LocalConnection({ name: 'local' });
  const value = `it's $(echo pwned) \`x\` "q"`;
  const r = await conn.exec({ argv: ['sh', '-c', 'printf %s "$V"'], env: { V: value } });
  assert.equal(r.stdout, value);
});
