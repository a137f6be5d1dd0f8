// What the shell completes for `regbook …`: yargs' own commands and options, corrected where they
// are wrong for this CLI, plus the values yargs cannot know (task names, host names).
import { TASK_IDS } from '../core/task.js';
import { HOST_GROUPS } from '../engine/host-groups.js';

const TASK_FLAGS = new Set(['--tags', '-t', '--skip-tags']);
const LIMIT_FLAGS = new Set(['--limit', '-l']);
const INVENTORY_FLAGS = new Set(['--inventory', '-i']);
/** Commands whose positionals are files (the playbook, init's directory): the shell completes those. */
const FILE_COMMANDS = new Set(['apply', 'catalog', 'status', 'gc', 'validate', 'rm', 'init']);

export interface CompletionSources {
  /** yargs' default completions for the same words. */
  defaults(): string[];
  /** Host names of an inventory file, or undefined when it cannot be read or is not valid. */
  hostsOf(inventoryPath: string): string[] | undefined;
}

/**
 * Completes a comma-separated list: the entries already typed stay, the last one is completed
 * from `choices` that are not in the list yet (`tls,tr` → `tls,trust`).
 */
export function completeList(current: string, choices: readonly string[]): string[] {
  const cut = current.lastIndexOf(',') + 1;
  const done = current.slice(0, cut);
  const typed = new Set(done.split(',').filter(Boolean));
  const partial = current.slice(cut);
  return choices.filter((c) => c.startsWith(partial) && !typed.has(c)).map((c) => done + c);
}

/** The value given with -i/--inventory among the words, if any. */
function inventoryIn(words: readonly string[]): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (INVENTORY_FLAGS.has(w) && i + 1 < words.length - 1) return words[i + 1];
    if (w.startsWith('--inventory=')) return w.slice('--inventory='.length);
  }
  return undefined;
}

/** Host names from an inventory file, read as YAML only: completion must answer at once. */
export function inventoryHostNames(text: string, parse: (text: string) => unknown): string[] | undefined {
  try {
    const doc = parse(text) as { master?: { name?: unknown }; workers?: Array<{ name?: unknown }> } | null;
    const names = [
      doc?.master?.name,
      ...(Array.isArray(doc?.workers) ? doc.workers.map((w) => w?.name) : []),
    ];
    return names.filter((n): n is string => typeof n === 'string' && n.length > 0);
  } catch {
    return undefined;
  }
}

/**
 * The completions for `words`, the command line up to the word being completed (the last one,
 * possibly empty); the program name may lead. An empty answer lets the shell complete file names.
 */
export function complete(words: readonly string[], sources: CompletionSources): string[] {
  const current = words.at(-1) ?? '';
  const prev = words.length > 1 ? words.at(-2)! : '';
  const hosts = () => {
    const inv = inventoryIn(words);
    return [...new Set([...((inv && sources.hostsOf(inv)) || []), ...HOST_GROUPS])];
  };
  const eq = /^(--[a-z-]+)=(.*)$/.exec(current);
  if (eq) {
    const [, flag, value] = eq as unknown as [string, string, string];
    if (TASK_FLAGS.has(flag)) return completeList(value, TASK_IDS).map((v) => `${flag}=${v}`);
    if (LIMIT_FLAGS.has(flag)) return completeList(value, hosts()).map((v) => `${flag}=${v}`);
    return [];
  }
  if (TASK_FLAGS.has(prev)) return completeList(current, TASK_IDS);
  if (LIMIT_FLAGS.has(prev)) return completeList(current, hosts());
  if (INVENTORY_FLAGS.has(prev)) return [];
  // yargs offers a one-letter alias with two dashes (--i) once the word starts with --.
  const defaults = sources.defaults().filter((c) => !/^--[^-](?::|$)/.test(c));
  // Choices (--output's, lock's action) and commands are what to offer; in place of a file
  // argument yargs offers options, which would hide the shell's own file completion.
  if (current.startsWith('-') || defaults.some((c) => !c.startsWith('-'))) return defaults;
  return words.slice(0, -1).some((w) => FILE_COMMANDS.has(w)) ? [] : defaults;
}
