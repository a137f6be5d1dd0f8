import type { Argv } from 'yargs';

export type SetExit = (code: number) => void;

/**
 * Every command module exports `register(cli, setExit)`. Each registers its yargs command with a
 * handler that imports its heavy modules lazily.
 */
export function registerCommands(cli: Argv, setExit: SetExit): void {
  void cli;
  void setExit;
}
