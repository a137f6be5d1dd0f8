import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { complete, inventoryHostNames } from '../complete.js';
import type { SetExit } from './index.js';

const require = createRequire(import.meta.url);

/** The shell to write a script for when none is named: the user's login shell, else bash. */
function shellFromEnv(): 'bash' | 'zsh' {
  return /zsh/.test(process.env.SHELL ?? '') || process.env.ZSH_NAME ? 'zsh' : 'bash';
}

/** The words after `--get-yargs-completions`, as the shell script passes them. */
function completionWords(): string[] {
  const at = process.argv.indexOf('--get-yargs-completions');
  return at < 0 ? [] : process.argv.slice(at + 1);
}

type DefaultCompletion = (onCompleted?: (err: Error | null, list: string[] | undefined) => void) => unknown;

export function register(cli: Argv, setExit: SetExit): void {
  // yargs answers `--get-yargs-completions` itself; this function corrects and extends its answer.
  // yargs wants a command name with a completion function: a hidden one, as the script comes from
  // the `completion` command below, which also takes the shell as an argument. Synchronous on
  // purpose: yargs goes on validating the command line while an answer is pending, and its
  // complaints would land in the middle of the user's prompt.
  cli.completion(
    'completion-script',
    false,
    (_current: string, _argv: unknown, defaults: DefaultCompletion, done: (list: string[]) => unknown) => {
      const words = complete(completionWords(), {
        defaults: () => {
          let list: string[] = [];
          defaults((_err, l) => (list = l ?? []));
          return list;
        },
        hostsOf: (path) => {
          try {
            const { load } = require('js-yaml') as typeof import('js-yaml');
            return inventoryHostNames(readFileSync(path, 'utf8'), load);
          } catch {
            return undefined;
          }
        },
      });
      done(words);
    },
  );
  cli.command(
    'completion [shell]',
    'Print a shell completion script (bash or zsh): commands, options, task and host names, files',
    (y) =>
      y
        .positional('shell', {
          choices: ['bash', 'zsh'] as const,
          describe: 'The shell (default: from $SHELL)',
        })
        .example('$0 completion >> ~/.bashrc', 'complete regbook in every new bash')
        .example('$0 completion zsh >> ~/.zshrc', 'the same for zsh')
        .example('source <($0 completion bash)', 'in the current shell only'),
    async (argv) => {
      const shell = argv.shell ?? shellFromEnv();
      // yargs picks its template from $SHELL when an instance is made; the script it writes calls
      // `regbook --get-yargs-completions …`, which every regbook invocation answers.
      const saved = { SHELL: process.env.SHELL, ZSH_NAME: process.env.ZSH_NAME };
      process.env.SHELL = shell === 'zsh' ? '/bin/zsh' : '/bin/bash';
      delete process.env.ZSH_NAME;
      try {
        const { default: yargs } = await import('yargs');
        yargs([]).scriptName('regbook').showCompletionScript();
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
      setExit(0);
    },
  );
}
