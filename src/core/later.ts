/**
 * A value that exists only once a step has run: the PEM of a CA the tls task makes, the checksum
 * of an htpasswd file it has yet to hash. A plan hands it to later tasks before any step runs; in
 * check mode no step runs, so it stays pending and they plan with "would change" instead of a
 * guess.
 */
export class Later<T> {
  #state: { known: true; value: T } | { known: false; why: string };

  private constructor(state: { known: true; value: T } | { known: false; why: string }) {
    this.#state = state;
  }

  static known<T>(value: T): Later<T> {
    return new Later<T>({ known: true, value });
  }

  /** Pending until the step that makes it calls `resolve`; `why` says what makes it. */
  static pending<T>(why: string): Later<T> {
    return new Later<T>({ known: false, why });
  }

  get known(): boolean {
    return this.#state.known;
  }

  /** The value, or undefined while it is pending. */
  get value(): T | undefined {
    return this.#state.known ? this.#state.value : undefined;
  }

  /** What makes it, while pending. */
  get why(): string | undefined {
    return this.#state.known ? undefined : this.#state.why;
  }

  resolve(value: T): void {
    this.#state = { known: true, value };
  }
}
