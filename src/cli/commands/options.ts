import type { Argv } from 'yargs';

// The options every cluster command shares, declared once so their names, aliases and help text
// cannot drift apart between commands.

export function withFiles<T>(y: Argv<T>) {
  return y
    .positional('playbook', { type: 'string', describe: 'The playbook (site.yaml)', demandOption: true })
    .option('inventory', { alias: 'i', type: 'string', describe: 'The inventory file', demandOption: true });
}

export function withOutput<T>(y: Argv<T>, describe: string) {
  return y.option('output', {
    alias: 'o',
    choices: ['text', 'json'] as const,
    default: 'text' as const,
    describe,
  });
}
