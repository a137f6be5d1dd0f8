// Docker restarts, when the playbook asks for them (restartDocker: on-change | always). A restart
// without live-restore stops every container on the host. So the restarts roll (trust.serial hosts
// at a time, see rollout.ts), and a host's slot is only given back once its daemon answers and the
// containers that ran before with a restart policy run again: a host that does not come back stops
// the rollout before it reaches another.
import { declareShellScript } from '../../core/shell-script.js';
import { TaskFailure, type Step } from '../../core/task.js';
import type { HandlerDef } from '../../engine/context.js';
import type { DockerApi } from '../../transport/dockerEngine.js';
import { readDockerState, type DockerState, type RunningContainer } from '../../facts/docker-state.js';
import { waitForRegistry } from '../api.js';
import { masterName, type Ctx, type Shared } from '../shared.js';
import { applySteps } from '../steps.js';
import { Rollout } from './rollout.js';

// `service` covers SysV-style hosts (and the lab); systemctl is used where systemd is PID 1.
export const RESTART_DOCKER =
  'if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl restart docker; else service docker restart; fi';
declareShellScript('tasks/trust/restart: restart docker', RESTART_DOCKER);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the daemon answers its API again (GET /_ping through the host's engine: the restart
 * ended its streams, so each try opens a fresh dial-stdio). False when it never does in time.
 */
export async function waitForDocker(docker: DockerApi, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await docker.request('GET', '/_ping', { timeoutMs: 5000 })).status === 200) return true;
    } catch {
      // Not back yet.
    }
    if (Date.now() >= until) return false;
    await sleep(200);
  }
}

/**
 * Waits until every container of `ids` runs; gives up after `timeoutMs`. docker itself starts
 * again only some of them: an unless-stopped container that was still running when a slow stop
 * killed dockerd stays stopped, and so does an on-failure one that exited 0 on SIGTERM. Each ran
 * before the restart and has a policy that asks for it to run, so one still stopped after 2 s is
 * started, and again every 2 s until it runs. Resolves with the short ids of those still stopped.
 */
export async function waitRunning(
  docker: DockerApi,
  ids: readonly string[],
  timeoutMs: number,
): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const left: string[] = [];
    for (const id of ids) {
      let running: boolean;
      try {
        const c = await docker.json<{ State?: { Running?: boolean } }>('GET', `/containers/${id}/json`, {
          timeoutMs: 5000,
        });
        running = c?.State?.Running === true;
      } catch {
        running = false;
      }
      if (running) continue;
      left.push(id.slice(0, 12));
      if (i % 10 === 9)
        await docker.request('POST', `/containers/${id}/start`, { timeoutMs: 10_000 }).catch(() => undefined);
    }
    if (left.length === 0 || Date.now() >= until) return left;
    await sleep(200);
  }
}

/** Containers that run again after a restart: those whose restart policy asks for it (see WAIT_RUNNING). */
export function comesBack(c: RunningContainer): boolean {
  return c.restart === 'always' || c.restart === 'unless-stopped' || c.restart === 'on-failure';
}

/** What a docker restart does to this host's workload, in words, for the plan. */
export function restartImpact(state: DockerState): string {
  if (state.liveRestore) return 'live-restore is on: containers keep running';
  const back = state.running.filter(comesBack);
  const stop = state.running.filter((c) => !comesBack(c));
  const parts = [`${state.running.length} running container${state.running.length === 1 ? '' : 's'} stop`];
  if (back.length > 0) parts.push(`${back.length} with a restart policy start again`);
  if (stop.length > 0) parts.push(`stay stopped: ${stop.map((c) => c.name).join(', ')}`);
  return parts.join('; ');
}

/** The steps of one host's restart, after the containers to wait for were read. */
function restartSteps(ctx: Ctx, state: DockerState): Step[] {
  const wait = (state.liveRestore ? state.running : state.running.filter(comesBack)).map((c) => c.id);
  const steps: Step[] = [
    {
      kind: 'fn',
      describe: 'restarting docker',
      run: async (conn) => {
        const r = await conn.exec(
          { argv: ['sh', '-c', RESTART_DOCKER], privileged: true },
          { timeoutMs: 120_000 },
        );
        if (r.code !== 0) throw new TaskFailure(`restarting docker failed: ${(r.stderr || r.stdout).trim()}`);
        if (!(await waitForDocker(conn.docker(), 60_000)))
          throw new TaskFailure('restarting docker failed: docker did not come back');
      },
    },
  ];
  if (wait.length > 0) {
    steps.push({
      kind: 'fn',
      describe: 'waiting for containers',
      run: async (conn) => {
        const left = await waitRunning(conn.docker(), wait, 120_000);
        if (left.length > 0)
          throw new TaskFailure(
            `containers did not run again after the docker restart: not running again after 120 s: ${left.join(' ')}`,
          );
      },
    });
  }
  if (ctx.host.name === masterName(ctx.run) && ctx.run.shared.registry?.serving) {
    steps.push({
      kind: 'fn',
      describe: 'waiting for the registry',
      run: async () => {
        const failure = await waitForRegistry(ctx.run, 60_000);
        if (failure)
          throw new TaskFailure(`the registry did not come back after the docker restart: ${failure}`);
      },
    });
  }
  return steps;
}

/** Restarts docker once the host is done with trust, rolling across the run's hosts. */
export const restartDockerHandler: HandlerDef<Shared> = {
  id: 'restart-docker',
  describe: 'restarting docker',
  async run(ctx) {
    const rollout = (ctx.run.shared.rollout ??= new Rollout(ctx.run.playbook.trust.serial));
    const release = await rollout.acquire();
    try {
      if (rollout.stoppedAt) {
        return {
          skipped: `untouched: the rollout stopped at ${rollout.stoppedAt}, whose docker did not come back`,
        };
      }
      try {
        const state = await readDockerState(ctx.conn);
        await applySteps(ctx, restartSteps(ctx, state));
      } catch (err) {
        rollout.stoppedAt = ctx.host.name;
        throw err;
      }
      return undefined;
    } finally {
      release();
    }
  },
};
