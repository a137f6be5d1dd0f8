// Waits for text to show in a child's growing output: the fault tests read its pipes, the terminal
// tests a rendered screen; both wait the same way.

export interface TextWaiter {
  /** Call after each new piece of output: resolves the waits whose pattern now matches. */
  check(): void;
  /**
   * Resolves once one of `texts()` matches `re`; rejects after `timeoutMs`, or when `ended` settles first
   * (the process is gone, so the text can never come). `describe` says what was seen, for the error.
   */
  waitFor(re: RegExp, timeoutMs: number): Promise<void>;
}

export function textWaiter(
  texts: () => readonly string[],
  ended: Promise<unknown>,
  describe: () => string,
  what = 'regbook',
): TextWaiter {
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  const check = () => {
    const now = texts();
    for (const w of [...waiters]) {
      if (now.some((t) => w.re.test(t))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  return {
    check,
    waitFor(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`timed out waiting for ${re}\n${describe()}`)),
          timeoutMs,
        );
        waiters.push({
          re,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
        check();
        const gone = () => {
          check();
          clearTimeout(t);
          reject(new Error(`${what} ended before ${re} showed\n${describe()}`));
        };
        void ended.then(gone, gone);
      });
    },
  };
}
