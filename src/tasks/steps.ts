import type { Change, Step, TaskResult } from '../core/task.js';

// The applier is the engine's; tasks that still apply their own steps reach it from here.
export { applySteps, must } from '../engine/apply.js';

export function result(changes: Change[], message?: string): TaskResult {
  return { status: changes.length > 0 ? 'changed' : 'ok', changes, ...(message ? { message } : {}) };
}

/** Independent lanes of steps as one step; a single lane needs no wrapper. */
export function parallel(describe: string, lanes: Step[][]): Step[] {
  const busy = lanes.filter((l) => l.length > 0);
  if (busy.length <= 1) return busy.flat();
  return [{ kind: 'parallel', describe, lanes: busy }];
}
