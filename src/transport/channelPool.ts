// A counting limit on the channels open at once on one SSH connection. OpenSSH refuses a session
// channel past MaxSessions (default 10) with "open failed"; queueing keeps us under the limit, and
// when a server's limit is lower than ours, `lower()` shrinks it to what the server accepted.

export class ChannelPool {
  #limit: number;
  #active = 0;
  #waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  #closedWith: Error | undefined;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`channel limit must be >= 1, got ${limit}`);
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  get active(): number {
    return this.#active;
  }

  /** Waits for a free slot; the returned function gives it back (calling it twice is harmless). */
  async acquire(): Promise<() => void> {
    if (this.#closedWith) throw this.#closedWith;
    if (this.#active < this.#limit) {
      this.#active++;
    } else {
      // The releasing holder hands its slot straight to us, so #active already counts it.
      await new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#active <= this.#limit ? this.#waiting.shift() : undefined;
      if (next) next.resolve();
      else this.#active--;
    };
  }

  /**
   * The server refused a channel while `openAtRefusal` others were open: that many is its real
   * limit (at least 1). Called by the slot holder before it releases and retries.
   */
  lower(openAtRefusal: number): void {
    this.#limit = Math.max(1, Math.min(this.#limit, openAtRefusal));
  }

  /** Rejects every waiter and every later acquire with `err`. */
  close(err: Error): void {
    this.#closedWith = err;
    for (const w of this.#waiting.splice(0)) w.reject(err);
  }
}
