import type { Argv } from 'yargs';
import * as apply from './apply.js';
import * as catalog from './catalog.js';
import * as completion from './completion.js';
import * as gc from './gc.js';
import * as init from './init.js';
import * as lock from './lock.js';
import * as rm from './rm.js';
import * as schema from './schema.js';
import * as status from './status.js';
import * as ui from './ui.js';
import * as validate from './validate.js';

export type SetExit = (code: number) => void;

/**
 * Every command module exports `register(cli, setExit)`. Each registers its yargs command with a
 * handler that imports its heavy modules lazily, so these imports stay cheap.
 */
export function registerCommands(cli: Argv, setExit: SetExit): void {
  for (const command of [apply, catalog, status, rm, gc, lock, validate, schema, init, completion, ui])
    command.register(cli, setExit);
}
