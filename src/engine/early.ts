import type { TaskId } from '../core/task.js';
import type { RunContext } from './context.js';

const key = (task: TaskId, host: string) => `${task}/${host}`;

/**
 * Keeps a read a task started before its turn on the run. A failed read is reported by the task
 * that takes it, not as an unhandled rejection.
 */
export function startEarly<S>(run: RunContext<S>, task: TaskId, host: string, read: Promise<unknown>): void {
  read.catch(() => undefined);
  run.early.set(key(task, host), read);
}

/** The read started early for this task on this host, once (a second take finds none). */
export function takeEarly<T, S>(run: RunContext<S>, task: TaskId, host: string): Promise<T> | undefined {
  const read = run.early.get(key(task, host));
  run.early.delete(key(task, host));
  return read as Promise<T> | undefined;
}
