import type { Argv } from 'yargs';
import type { SetExit } from './index.js';

/** The shell to write a script for when none is named: the user's login shell, else bash. */
function shellFromEnv(): 'bash' | 'zsh' {
  return /zsh/.test(process.env.SHELL ?? '') || process.env.ZSH_NAME ? 'zsh' : 'bash';
}

export function register(cli: Argv, setExit: SetExit): void {
  cli.command(
    'completion [shell]',
    'Print a shell completion script (bash or zsh) for commands, options and file names',
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
