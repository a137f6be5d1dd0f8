import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReadDirs, privateDirFixes, readDirsCmd } from '../../../src/facts/dirs.js';

describe('private directories', () => {
  it('paths travel as positional arguments, never in the script', () => {
    const cmd = readDirsCmd(["/etc/x'; rm -rf /"]);
    assert.equal(cmd.argv.at(-1), "/etc/x'; rm -rf /");
    assert.ok(!cmd.argv[2]!.includes('/etc/x'));
  });

  it('reads modes and owners; a missing directory is undefined; a file in its place is an error', () => {
    const got = parseReadDirs(['/a', '/b'], 'D 755 0 0\nM\n');
    assert.deepEqual(
      [...got],
      [
        ['/a', { mode: '755', uid: 0, gid: 0 }],
        ['/b', undefined],
      ],
    );
    assert.throws(() => parseReadDirs(['/a'], 'X\n'), /\/a exists but is not a directory/);
  });

  it('a looser or foreign-owned directory becomes one change and one chown+chmod; 0700 root is left alone', () => {
    const dirs = new Map([
      ['/ok', { mode: '700', uid: 0, gid: 0 }],
      ['/open', { mode: '777', uid: 0, gid: 0 }],
      ['/theirs', { mode: '700', uid: 1000, gid: 1000 }],
      ['/missing', undefined],
    ]);
    const { changes, steps } = privateDirFixes(dirs);
    assert.deepEqual(changes, [
      { what: '/open (directory)', from: '777 root', to: '700 root' },
      { what: '/theirs (directory)', from: '700 uid 1000 gid 1000', to: '700 root' },
    ]);
    assert.deepEqual(
      steps.map((s) => (s.kind === 'exec' ? s.cmd.argv.slice(-2) : [])),
      [
        ['700', '/open'],
        ['700', '/theirs'],
      ],
    );
  });
});
