import { inspect } from 'node:util';

/**
 * A value that must never be printed. Every way a value can turn into text (String(), template
 * literals, JSON.stringify, util.inspect, console.log) yields `***`; only `reveal()` gives the
 * real bytes, and it is called only where the value goes to the host: a process's stdin, or a
 * request's body to the host's docker engine, inside the SSH channel.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '***';
  }
  toJSON(): string {
    return '***';
  }
  [inspect.custom](): string {
    return '***';
  }
}

export const MASK = '***';
