import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GcReport } from '../../../src/ops/gc.js';
import { formatGcReport } from '../../../src/ui/operator-reports.js';
import { formatBytes } from '../../../src/ui/size.js';

const base: GcReport = {
  master: 'master',
  container: 'registry',
  dataDir: '/var/lib/registry',
  check: false,
  untagged: false,
  blobs: ['sha256:aa', 'sha256:bb'],
  manifests: ['sha256:cc'],
  summary: '2 blobs eligible for deletion',
  bytesBefore: 7_340_032,
  bytesAfter: 7_338_496,
  bytesFreed: 1536,
};

describe('gc report as text', () => {
  it('sizes for people with the exact bytes beside them, before and after', () => {
    const text = formatGcReport(base);
    assert.match(text, /^gc on master \(container registry, \/var\/lib\/registry\)$/m);
    assert.match(text, /^deleted 1 untagged manifest and 2 blobs:$/m);
    assert.match(text, /^ {2}manifest sha256:cc$/m);
    assert.match(text, /^ {2}blob {5}sha256:bb$/m);
    assert.match(text, /^freed 1\.5 KiB \(1536 bytes\): 7\.0 MiB → 7\.0 MiB$/m);
    assert.match(text, /^garbage-collect: 2 blobs eligible for deletion$/m);
  });

  it('check mode: what would go and its size, and that nothing was changed', () => {
    const text = formatGcReport({ ...base, check: true, blobs: ['sha256:aa'], manifests: [] });
    assert.match(
      text,
      /^gc --check on master \(container registry, \/var\/lib\/registry\): nothing was changed$/m,
    );
    assert.match(text, /^would delete 0 untagged manifests and 1 blob, 1\.5 KiB \(1536 bytes\):$/m);
    assert.doesNotMatch(text, /freed|deleted|read-only/);
  });

  it('formatBytes counts in powers of 1024', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(7_340_032), '7.0 MiB');
  });
});
