import type { Argv } from 'yargs';
import { UsageError } from '../../core/errors.js';
import { TASK_IDS, type TaskId } from '../../core/task.js';
import type { SetExit } from './index.js';
import { lockTimeoutOf, withFiles, withLockTimeout, withOutput } from './options.js';

function list(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const items = (Array.isArray(v) ? v : [v])
    .flatMap((s) => String(s).split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
}

function taskList(v: unknown, flag: string): TaskId[] | undefined {
  const items = list(v);
  const bad = items?.filter((t) => !(TASK_IDS as readonly string[]).includes(t)) ?? [];
  if (bad.length)
    throw new UsageError(`${flag}: unknown task ${bad.join(', ')} (tasks: ${TASK_IDS.join(', ')})`);
  return items as TaskId[] | undefined;
}

export function register(cli: Argv, setExit: SetExit): void {
  cli.command(
    'apply <playbook>',
    'Converge the cluster to the playbook over SSH',
    (y) =>
      withLockTimeout(withOutput(withFiles(y), 'text, or NDJSON events on stdout'))
        .option('check', {
          alias: 'C',
          type: 'boolean',
          default: false,
          describe: 'Dry run: report what would change, change nothing',
        })
        .option('diff', {
          alias: 'D',
          type: 'boolean',
          default: false,
          describe: 'Show old → new for every change',
        })
        .option('limit', {
          alias: 'l',
          type: 'string',
          describe: 'Only these hosts: NAME, GROUP (master, workers, all) or GLOB (worker*), comma-separated',
        })
        .option('tags', { alias: 't', type: 'string', describe: `Only these tasks: ${TASK_IDS.join(',')}` })
        .option('skip-tags', { type: 'string', describe: 'Skip these tasks' })
        .option('forks', { alias: 'f', type: 'number', default: 25, describe: 'Hosts worked on at once' })
        .option('detailed-exitcode', {
          type: 'boolean',
          default: false,
          describe: 'With --check: exit 3 when changes are pending',
        })
        .option('verbose', { alias: 'v', type: 'count', describe: 'More output (-vv: every command)' })
        .example('$0 apply site.yaml -i inventory.yaml', 'converge every host')
        .example('$0 apply site.yaml -i inventory.yaml --check --diff', 'what would change, in detail')
        .example(
          '$0 apply site.yaml -i inventory.yaml --limit worker3 --tags trust',
          'trust the registry on a new worker',
        ),
    async (argv) => {
      const forks = argv.forks;
      if (!Number.isInteger(forks) || forks < 1)
        throw new UsageError('--forks must be a whole number of at least 1');
      const lockTimeout = lockTimeoutOf(argv);
      const { runApply } = await import('../run-apply.js');
      setExit(
        await runApply({
          playbook: argv.playbook as string,
          inventory: argv.inventory,
          check: argv.check,
          diff: argv.diff,
          ...(list(argv.limit) ? { limit: list(argv.limit)! } : {}),
          ...(taskList(argv.tags, '--tags') ? { tags: taskList(argv.tags, '--tags')! } : {}),
          ...(taskList(argv['skip-tags'], '--skip-tags')
            ? { skipTags: taskList(argv['skip-tags'], '--skip-tags')! }
            : {}),
          forks,
          output: argv.output,
          detailedExitcode: argv['detailed-exitcode'],
          verbose: argv.verbose ?? 0,
          lockTimeout,
        }),
      );
    },
  );
}
