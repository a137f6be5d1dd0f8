// Every error a command can end with maps to its documented exit code in one place.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { exitFor } from '../../../src/cli/exit.js';
import { InputError, UsageError } from '../../../src/core/errors.js';
import { LockHeld, StoppedBySignal } from '../../../src/lock/guard.js';
import { LockError } from '../../../src/lock/remote.js';

it('maps each kind of error to its exit code, and anything unexpected to 70 with its stack', () => {
  const diag = { file: 'site.yaml', line: 3, col: 5, path: 'registry.port', message: 'too big' };
  assert.deepEqual(exitFor(new InputError([diag])), {
    code: 1,
    message: 'site.yaml:3:5: registry.port: too big',
  });
  assert.equal(exitFor(new UsageError('no such host')).code, 1);
  assert.equal(exitFor(new LockHeld('master', undefined, 'regbook lock release …')).code, 2);
  assert.equal(exitFor(new LockError('cannot take it')).code, 2);
  assert.equal(exitFor(new StoppedBySignal('SIGINT')).code, 130);
  assert.equal(exitFor(new StoppedBySignal('SIGTERM')).code, 143);
  assert.equal(exitFor(new StoppedBySignal('SIGHUP')).code, 129);
  const bug = exitFor(new TypeError("Cannot read properties of undefined (reading 'x')"));
  assert.equal(bug.code, 70);
  assert.match(bug.message, /internal error .*TypeError: Cannot read properties/s);
  assert.match(bug.message, /at /); // the stack, to report
});
