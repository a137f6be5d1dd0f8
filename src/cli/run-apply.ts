import { loadBoth } from '../config/index.js';
import type { TaskId } from '../core/task.js';
import { apply, createRun, resolveSecrets } from '../engine/apply.js';
import type { EngineEvent } from '../engine/events.js';
import { exitCodeOf } from '../engine/run.js';
import type { Shared } from '../tasks/shared.js';
import { connect } from '../transport/index.js';
import { makeRedact } from '../ui/format.js';
import { ndjsonRenderer } from '../ui/ndjson.js';
import { plainRenderer } from '../ui/plain.js';

export interface ApplyArgs {
  playbook: string;
  inventory: string;
  check: boolean;
  diff: boolean;
  limit?: string[];
  tags?: TaskId[];
  skipTags?: TaskId[];
  forks: number;
  output: 'text' | 'json';
  detailedExitcode: boolean;
  verbose: number;
}

/** `regbook apply`: load and validate (exit 1 before any connection), then run and map to an exit code. */
export async function runApply(a: ApplyArgs): Promise<number> {
  const { playbook, inventory } = loadBoth(a.playbook, a.inventory);
  const secrets = resolveSecrets(playbook);
  const redact = makeRedact([...secrets.values()].map((s) => s.reveal()));

  let emit: (e: EngineEvent) => void;
  let finished = async () => undefined as unknown;
  const live =
    a.output === 'text' &&
    process.stdout.isTTY &&
    !process.env.NO_COLOR &&
    !process.env.CI &&
    a.verbose === 0;
  if (a.output === 'json') emit = ndjsonRenderer(process.stdout, redact);
  else if (live) {
    const { liveRenderer } = await import('../ui/live.js');
    const r = liveRenderer(process.stdout, { diff: a.diff, redact });
    emit = r;
    finished = r.finished;
  } else emit = plainRenderer(process.stdout, { diff: a.diff, verbose: a.verbose, redact });

  const run = createRun<Shared>(playbook, inventory, secrets, a, emit, {});
  // Ctrl-C: close every connection (remote writers then clean up their temporary files), exit 130.
  const onSigint = () => {
    process.stderr.write('\ninterrupted: closing connections\n');
    void Promise.allSettled([...run.conns.values()].map((c) => c.close())).then(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  try {
    const { TASKS, HANDLERS } = await import('../tasks/index.js');
    const outcome = await apply(
      run,
      TASKS,
      HANDLERS,
      {
        check: a.check,
        diff: a.diff,
        ...(a.limit ? { limit: a.limit } : {}),
        ...(a.tags ? { tags: a.tags } : {}),
        ...(a.skipTags ? { skipTags: a.skipTags } : {}),
        forks: a.forks,
        connect: (h) => connect(h),
      },
      emit,
    );
    await finished();
    return exitCodeOf(outcome, { check: a.check, detailedExitcode: a.detailedExitcode });
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
