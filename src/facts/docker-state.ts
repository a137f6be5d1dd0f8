// The running docker daemon as trust decides from it: whether live-restore is on (a restart then
// stops nothing), the containers running with their restart policies (what a restart stops and
// what docker starts again), and the registries it treats as insecure (tls.mode none).
import type { Cmd } from '../core/cmd.js';
import { declareShellScript } from '../core/shell-script.js';
import { TaskFailure } from '../core/task.js';
import type { Connection } from '../transport/types.js';
import { ENGINE_API_GATE } from './engine-api.js';

// The daemon's info, then each running container's inspect, one JSON document a line.
const RUNNING_SCRIPT = [
  `if ${ENGINE_API_GATE}; then`,
  '  curl -sf --max-time 30 --unix-socket "$s" http://docker/info || exit 1; echo',
  '  for id in $(curl -sf --max-time 30 --unix-socket "$s" http://docker/containers/json | grep -o \'"Id":"[0-9a-f]*"\' | cut -d\\" -f4); do',
  '    curl -sf --max-time 30 --unix-socket "$s" "http://docker/containers/$id/json" && echo',
  '  done',
  'else',
  "  docker info --format '{{json .}}' || exit 1",
  '  ids=$(docker ps -q --no-trunc)',
  '  [ -z "$ids" ] || docker inspect --format \'{{json .}}\' $ids',
  'fi',
].join('\n');
declareShellScript('facts/docker-state: docker info and running containers', RUNNING_SCRIPT);

const DOCKER_INFO = [
  `if ${ENGINE_API_GATE}; then curl -sf --max-time 30 --unix-socket "$s" http://docker/info`,
  "else docker info --format '{{json .}}'; fi",
].join('\n');
declareShellScript('facts/docker-state: docker info', DOCKER_INFO);

export interface RunningContainer {
  id: string;
  name: string;
  /** The restart policy's name: no, always, unless-stopped, on-failure. */
  restart: string;
}

export interface DockerState {
  liveRestore: boolean;
  running: RunningContainer[];
  /** Registries the running daemon treats as insecure (plain HTTP), by address. */
  insecure: string[];
}

export function runningCmd(): Cmd {
  return { argv: ['sh', '-c', RUNNING_SCRIPT], privileged: true };
}

/** The daemon's info as JSON, from the engine API where curl reaches it, else from the client. */
export function dockerInfoCmd(): Cmd {
  return { argv: ['sh', '-c', DOCKER_INFO], privileged: true };
}

interface Info {
  LiveRestoreEnabled?: boolean;
  RegistryConfig?: { IndexConfigs?: Record<string, { Secure?: boolean }> };
}

/** The addresses docker's info lists as insecure registries. */
export function insecureOf(infoJson: string): string[] {
  const configs = (JSON.parse(infoJson) as Info).RegistryConfig?.IndexConfigs ?? {};
  return Object.entries(configs)
    .filter(([, c]) => c.Secure === false)
    .map(([a]) => a)
    .sort();
}

/** Whether the running daemon treats `address` as an insecure registry. */
export function listedInsecure(infoJson: string, address: string): boolean {
  return insecureOf(infoJson).includes(address);
}

export function parseRunning(stdout: string): DockerState {
  const [info, ...rest] = stdout.split('\n').filter((l) => l.trim().length > 0);
  if (!info) throw new Error('docker info gave no answer');
  const liveRestore = (JSON.parse(info) as Info).LiveRestoreEnabled === true;
  const running: RunningContainer[] = [];
  for (const line of rest) {
    const c = JSON.parse(line) as {
      Id?: string;
      Name?: string;
      State?: { Running?: boolean };
      HostConfig?: { RestartPolicy?: { Name?: string } };
    };
    if (!c.Id || !/^[0-9a-f]{64}$/.test(c.Id) || !c.State?.Running) continue;
    running.push({
      id: c.Id,
      name: (c.Name ?? '').replace(/^\//, ''),
      restart: c.HostConfig?.RestartPolicy?.Name || 'no',
    });
  }
  return { liveRestore, running, insecure: insecureOf(info) };
}

export async function readDockerState(conn: Connection): Promise<DockerState> {
  const r = await conn.exec(runningCmd());
  if (r.code !== 0) throw new TaskFailure(`reading docker's containers failed: ${r.stderr.trim()}`);
  return parseRunning(r.stdout);
}
