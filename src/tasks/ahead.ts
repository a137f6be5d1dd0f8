/**
 * Holds what a task read ahead of its turn (TaskDef.readAhead), per run, until the task takes it.
 * A failed read is reported by the task that awaits it, not as an unhandled rejection.
 */
export function aheadSlot<T>() {
  const reads = new WeakMap<object, Promise<T>>();
  return {
    start(run: object, read: Promise<T>): void {
      read.catch(() => undefined);
      reads.set(run, read);
    },
    take(run: object): Promise<T> | undefined {
      const read = reads.get(run);
      reads.delete(run);
      return read;
    },
  };
}
