// The running docker daemon as trust decides from it: whether live-restore is on (a restart then
// stops nothing), the containers running with their restart policies (what a restart stops and
// what docker starts again), and the registries it treats as insecure (tls.mode none).
import { TaskFailure } from '../core/task.js';
import type { DockerApi } from '../transport/dockerEngine.js';
import type { Connection } from '../transport/types.js';

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

/** The daemon's info (GET /info), as its engine answers it. */
export function dockerInfo(docker: DockerApi): Promise<unknown> {
  return docker.json<unknown>('GET', '/info', { timeoutMs: 30_000 });
}

interface Info {
  LiveRestoreEnabled?: boolean;
  RegistryConfig?: { IndexConfigs?: Record<string, { Secure?: boolean }> };
}

/** The addresses docker's info lists as insecure registries. */
export function insecureOf(info: unknown): string[] {
  const configs = (info as Info | undefined)?.RegistryConfig?.IndexConfigs ?? {};
  return Object.entries(configs)
    .filter(([, c]) => c.Secure === false)
    .map(([a]) => a)
    .sort();
}

/** Whether the running daemon treats `address` as an insecure registry. */
export function listedInsecure(info: unknown, address: string): boolean {
  return insecureOf(info).includes(address);
}

/** The daemon's state from its info and the inspect of each running container. */
export function dockerStateOf(info: unknown, inspected: readonly unknown[]): DockerState {
  if (!info || typeof info !== 'object') throw new Error('docker info gave no answer');
  const liveRestore = (info as Info).LiveRestoreEnabled === true;
  const running: RunningContainer[] = [];
  for (const item of inspected) {
    const c = item as {
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

/** The same from JSON lines: the info, then one inspect a line (as `docker inspect` prints them). */
export function parseRunning(stdout: string): DockerState {
  const [info, ...rest] = stdout.split('\n').filter((l) => l.trim().length > 0);
  if (!info) throw new Error('docker info gave no answer');
  return dockerStateOf(
    JSON.parse(info),
    rest.map((l) => JSON.parse(l) as unknown),
  );
}

/** The daemon's info, its running containers and each one's inspect, through the host's engine. */
export async function readDockerState(conn: Connection): Promise<DockerState> {
  const docker = conn.docker();
  try {
    const info = await dockerInfo(docker);
    const list = await docker.json<{ Id?: string }[]>('GET', '/containers/json', { timeoutMs: 30_000 });
    const inspected: unknown[] = [];
    for (const c of list ?? []) {
      if (!c.Id || !/^[0-9a-f]{64}$/.test(c.Id)) continue;
      inspected.push(await docker.json<unknown>('GET', `/containers/${c.Id}/json`, { timeoutMs: 30_000 }));
    }
    return dockerStateOf(info, inspected);
  } catch (e) {
    throw new TaskFailure(`reading docker's containers failed: ${(e as Error).message}`);
  }
}
