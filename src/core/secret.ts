import { inspect } from 'node:util';

/**
 * A value that must never be printed. Every way a value can turn into text (String(), template
 * literals, JSON.stringify, util.inspect, console.log) yields `***`; only `reveal()` gives the
 * real bytes, and it is called only where the value is written to a process's stdin.
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
