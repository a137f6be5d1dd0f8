// Docker restarts, when the playbook asks for them (restartDocker: on-change | always). A restart
// without live-restore stops every container on the host. So the restarts roll (trust.serial hosts
// at a time, see rollout.ts), and a host's slot is only given back once its daemon answers and the
// containers that ran before with a restart policy run again: a host that does not come back stops
// the rollout before it reaches another.
import { declareShellScript } from '../../core/shell-script.js';
import { TaskFailure, type Step } from '../../core/task.js';
import type { HandlerDef } from '../../engine/context.js';
import { ENGINE_API_GATE } from '../../facts/engine-api.js';
import { readDockerState, type DockerState, type RunningContainer } from '../../facts/docker-state.js';
import { waitForRegistry } from '../api.js';
import { masterName, type Ctx, type Shared } from '../shared.js';
import { applySteps } from '../steps.js';
import { Rollout } from './rollout.js';

// `service` covers SysV-style hosts (and the lab); systemctl is used where systemd is PID 1.
// The daemon is back once it answers its API: asked of /_ping with curl where that reaches the
// daemon the docker client would (facts/engine-api.ts, decided before the restart, while the
// socket is there), else with `docker version`, which starts the client (a process of its own) at
// each try. While the socket is not there yet (a stopped daemon removes it) the loop only tests for it;
// a host that had no socket at the default path is polled with the client.
export const RESTART_DOCKER = [
  `if ${ENGINE_API_GATE}; then`,
  '  up() { [ -S "$s" ] && curl -sf --max-time 5 --unix-socket "$s" -o /dev/null http://docker/_ping; }',
  'else',
  '  s=/var/run/docker.sock; [ -S "$s" ] || s=',
  '  up() { { [ -z "$s" ] || [ -S "$s" ]; } && docker version >/dev/null 2>&1; }',
  'fi',
  'if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl restart docker; else service docker restart; fi',
  'i=0; until up; do i=$((i+1)); [ $i -ge 600 ] && { echo "docker did not come back" >&2; exit 1; }; sleep 0.1; done',
].join('\n');
declareShellScript('tasks/trust/restart: restart docker', RESTART_DOCKER);

// Positional arguments: container ids. Succeeds once every one of them runs; gives up after 120 s.
// docker itself starts again only some of them: an unless-stopped container that was still running
// when a slow stop killed dockerd stays stopped, and so does an on-failure one that exited 0 on
// SIGTERM. Each ran before the restart and has a policy that asks for it to run, so one still
// stopped after 2 s is started, and again every 2 s until it runs.
export const WAIT_RUNNING = [
  `if ${ENGINE_API_GATE}; then`,
  '  running() { curl -sf --max-time 5 --unix-socket "$s" "http://docker/containers/$1/json" | grep -q \'"Running":true\'; }',
  '  start() { curl -sf --max-time 10 -o /dev/null -X POST --unix-socket "$s" "http://docker/containers/$1/start" || true; }',
  'else',
  '  running() { [ "$(docker inspect --format \'{{.State.Running}}\' "$1" 2>/dev/null)" = true ]; }',
  '  start() { docker start "$1" >/dev/null 2>&1 || true; }',
  'fi',
  'i=0',
  'while :; do',
  '  left=',
  '  for id in "$@"; do',
  '    running "$id" && continue',
  '    left="$left ${id%${id#????????????}}"',
  '    [ $((i % 10)) -eq 9 ] && start "$id"',
  '  done',
  '  [ -z "$left" ] && exit 0',
  '  i=$((i+1)); [ $i -ge 600 ] && { echo "not running again after 120 s:$left" >&2; exit 1; }',
  '  sleep 0.2',
  'done',
].join('\n');
declareShellScript('tasks/trust/restart: wait for containers', WAIT_RUNNING);

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
      },
    },
  ];
  if (wait.length > 0) {
    steps.push({
      kind: 'fn',
      describe: 'waiting for containers',
      run: async (conn) => {
        const r = await conn.exec(
          { argv: ['sh', '-c', WAIT_RUNNING, 'sh', ...wait], privileged: true },
          { timeoutMs: 150_000 },
        );
        if (r.code !== 0)
          throw new TaskFailure(`containers did not run again after the docker restart: ${r.stderr.trim()}`);
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
