// The registry's container made, started, removed and read through the host's engine
// (transport/dockerEngine.ts), as `docker run -d`, `docker start`, `docker rm -f`, `docker logs` and
// `docker exec` would. Its settings, secret ones included, travel in the request's body inside the
// SSH channel: in no argv and in no file on the host.
import { TaskFailure } from '../core/task.js';
import { Secret } from '../core/secret.js';
import {
  apiPathSegment,
  daemonMessage,
  demuxStream,
  EngineError,
  type DockerApi,
  type EngineAnswer,
} from '../transport/dockerEngine.js';
import type { ContainerSpec } from './container.js';

const PORT = '5000/tcp';

/**
 * The body of POST /containers/create for the spec: what `docker run -d -p … -v … -e … --label …
 * --restart …` sends, so a container made either way reads back the same (diffContainer).
 */
export function createBody(spec: ContainerSpec): Record<string, unknown> {
  return {
    Image: spec.image,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v instanceof Secret ? v.reveal() : v}`),
    Labels: { ...spec.labels },
    ExposedPorts: { [PORT]: {} },
    HostConfig: {
      Binds: [...spec.binds],
      // docker run records `-p PORT:5000` with an empty HostIp: every interface.
      PortBindings: {
        [PORT]: [{ HostIp: spec.hostIp === '0.0.0.0' ? '' : spec.hostIp, HostPort: String(spec.hostPort) }],
      },
      RestartPolicy: { Name: spec.restart, MaximumRetryCount: 0 },
    },
  };
}

/** `docker run -d`: the container made, then started. A start that fails leaves it made, as docker run does. */
export async function runContainer(docker: DockerApi, spec: ContainerSpec): Promise<void> {
  await failsAs(`docker run ${spec.name}`, () =>
    docker.json('POST', '/containers/create', { query: { name: spec.name }, body: createBody(spec) }),
  );
  await startContainer(docker, spec.name);
}

/** `docker start`: a container already running is left as it is. */
export async function startContainer(docker: DockerApi, name: string): Promise<void> {
  await failsAs(`docker start ${name}`, () =>
    docker.json('POST', `/containers/${apiPathSegment(name)}/start`),
  );
}

/** `docker rm -f`: stopped if it runs, then removed; one that is not there is already gone. */
export async function removeContainer(docker: DockerApi, name: string): Promise<void> {
  const r = await docker.request('DELETE', `/containers/${apiPathSegment(name)}`, { query: { force: 1 } });
  if (r.status !== 404) refusedIf(`docker rm -f ${name}`, r);
}

/** `docker logs --tail N`: its output and errors, in the order they came; empty when it cannot be read. */
export async function containerLogs(docker: DockerApi, name: string, tail: number): Promise<string> {
  const r = await docker.request('GET', `/containers/${apiPathSegment(name)}/logs`, {
    query: { stdout: 1, stderr: 1, tail },
    timeoutMs: 30_000,
  });
  return r.status < 300 ? demuxStream(r.body).all.trim() : '';
}

export interface ExecOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** `docker exec NAME ARGV…` (no terminal, no stdin): its output once it has ended, and its exit code. */
export async function execInContainer(
  docker: DockerApi,
  name: string,
  argv: readonly string[],
  timeoutMs: number,
): Promise<ExecOutcome> {
  const what = `docker exec ${name} ${argv.join(' ')}`;
  const { Id: id } = await failsAs(what, () =>
    docker.json<{ Id: string }>('POST', `/containers/${apiPathSegment(name)}/exec`, {
      body: { AttachStdout: true, AttachStderr: true, Cmd: argv },
    }),
  );
  // The daemon streams the output on this request's connection and closes it when the command ends.
  const r = await docker.request('POST', `/exec/${apiPathSegment(id)}/start`, {
    body: { Detach: false, Tty: false },
    timeoutMs,
  });
  refusedIf(what, r);
  const out = demuxStream(r.body);
  const state = await failsAs(what, () =>
    docker.json<{ ExitCode?: number | null }>('GET', `/exec/${apiPathSegment(id)}/json`),
  );
  return { code: state.ExitCode ?? -1, stdout: out.stdout, stderr: out.stderr };
}

/** The daemon's refusal as a task failure, in the words of the docker command it stands for. */
export async function failsAs<T>(what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (e) {
    if (e instanceof EngineError) throw new TaskFailure(`${what} failed: ${e.detail}`);
    throw e;
  }
}

/** An error status as failsAs reports it. */
function refusedIf(what: string, r: EngineAnswer): void {
  if (r.status >= 300) throw new TaskFailure(`${what} failed: ${daemonMessage(r.body)}`);
}
