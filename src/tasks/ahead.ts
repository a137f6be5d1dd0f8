/**
 * Holds what a task read ahead of its turn (TaskDef.readAhead), per run and host, until the task
 * takes it there. A failed read is reported by the task that awaits it, not as an unhandled
 * rejection.
 */
export function aheadSlot<T>() {
  const reads = new WeakMap<object, Map<string, Promise<T>>>();
  return {
    start(run: object, host: string, read: Promise<T>): void {
      read.catch(() => undefined);
      let byHost = reads.get(run);
      if (!byHost) reads.set(run, (byHost = new Map()));
      byHost.set(host, read);
    },
    take(run: object, host: string): Promise<T> | undefined {
      const byHost = reads.get(run);
      const read = byHost?.get(host);
      byHost?.delete(host);
      return read;
    },
  };
}
