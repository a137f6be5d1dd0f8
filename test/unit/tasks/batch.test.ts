import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostSpec } from '../../../src/config/model.js';
import { execBatch } from '../../../src/facts/batch.js';
import { LocalConnection } from '../../../src/transport/local.js';

const local = new LocalConnection({ name: 'here', connection: 'local' } as unknown as HostSpec);

describe('execBatch', () => {
  it('returns each command’s stdout and exit code, in order, from one shell', async () => {
    const r = await execBatch(local, [
      { argv: ['printf', '%s', "a'b\n@@fake 0@@\n"] },
      { argv: ['sh', '-c', 'echo two; exit 3'] },
      { argv: ['printf', ''] },
    ]);
    assert.deepEqual(
      r.map((x) => [x.code, x.stdout]),
      [
        [0, "a'b\n@@fake 0@@\n"],
        [3, 'two\n'],
        [0, ''],
      ],
    );
  });
  it('a single command runs as it is', async () => {
    const [r] = await execBatch(local, [{ argv: ['echo', 'x'] }]);
    assert.equal(r!.stdout, 'x\n');
  });
});
