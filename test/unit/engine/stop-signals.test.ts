// SIGINT, SIGTERM and SIGHUP become one AbortSignal whose reason names the first; the listeners go
// away with dispose, so the process's own handling comes back once a run has ended.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listenForStopSignals, STOP_SIGNALS } from '../../../src/engine/stop-signals.js';

describe('stop signals', () => {
  for (const sig of STOP_SIGNALS) {
    it(`${sig} aborts the run's signal once, with its name as the reason`, () => {
      const before = process.listenerCount(sig);
      const told: string[] = [];
      const stop = listenForStopSignals({ onFirst: (s) => void told.push(s) });
      assert.equal(stop.signal.aborted, false);
      process.emit(sig, sig);
      assert.equal(stop.signal.aborted, true);
      assert.equal(stop.signal.reason, sig);
      assert.equal(stop.which(), sig);
      assert.deepEqual(told, [sig]);
      stop.dispose();
      assert.equal(process.listenerCount(sig), before, 'a listener outlived dispose');
    });
  }
});
