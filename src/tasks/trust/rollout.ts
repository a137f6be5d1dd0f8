/**
 * One run's docker restarts: at most `serial` hosts hold a slot at once, across every host of the
 * run, and a host holds its slot until its daemon and its containers are back. Once a host does
 * not come back, no other host restarts in this run.
 */
export class Rollout {
  private free: number;
  private readonly queue: Array<() => void> = [];
  /** The host whose restart failed; set once, and the rollout stops there. */
  stoppedAt?: string;

  constructor(readonly serial: number) {
    this.free = Math.max(1, serial);
  }

  /** Waits for a slot; the returned function gives it back (once). */
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next();
      else this.free++;
    };
  }
}
