/**
 * Every shell script regbook sends to a host is declared here by the module that holds it, when
 * that module loads: a fixed script with `declareShellScript` right after its constant, a function
 * that composes one at run time with `declareShellScriptBuilder` and example arguments. The one
 * reader of the declarations is the unit test that parses every script with `sh -n` and lints it
 * with shellcheck; it also fails on any `sh -c` in src/ whose script is not declared, so no script
 * reaches a host unchecked.
 *
 * Names are `<module under src/ without .ts>: <what the script does>`, e.g. `facts/os: host facts`.
 */

/** One script to check: a fixed script, or one example output of a builder. */
export interface DeclaredShellScript {
  name: string;
  text: string;
}

const fixed = new Map<string, string>();
const builders = new Map<string, () => string[]>();

function claim(name: string): void {
  if (fixed.has(name) || builders.has(name)) throw new Error(`shell script "${name}" is declared twice`);
}

/** Declares a fixed script (the values it works on reach it as positional parameters). */
export function declareShellScript(name: string, text: string): void {
  claim(name);
  fixed.set(name, text);
}

/**
 * Declares a function that composes a script at run time. `examples` gives argument lists that
 * between them reach each shape the function can produce; it is called only when the scripts are
 * checked.
 */
export function declareShellScriptBuilder<A extends unknown[]>(
  name: string,
  build: (...args: A) => string,
  examples: () => NoInfer<readonly Readonly<A>[]>,
): void {
  claim(name);
  builders.set(name, () => {
    const all = examples();
    if (all.length === 0) throw new Error(`shell script builder "${name}" has no examples`);
    return all.map((args) => build(...args));
  });
}

/** Every declared script, builders expanded to their examples' outputs. */
export function declaredShellScripts(): DeclaredShellScript[] {
  const out = [...fixed].map(([name, text]) => ({ name, text }));
  for (const [name, expand] of builders) {
    expand().forEach((text, i) => out.push({ name: `${name} (example ${i + 1})`, text }));
  }
  return out;
}

/** The declared names (a builder once), for checking that each module's scripts are there. */
export function declaredShellScriptNames(): string[] {
  return [...fixed.keys(), ...builders.keys()];
}
