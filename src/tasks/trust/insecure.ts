// tls.mode none, the runbook's insecure-registry way: the registry speaks plain HTTP, and each
// runtime is told to accept that for this one address. docker reads insecure-registries from
// daemon.json, and reloads that key on SIGHUP, without a restart; podman (and CRI-O, skopeo) read
// a registries.conf.d drop-in at each pull. Going back to ca or selfsigned takes both away again.
import { posix } from 'node:path';
import type { Cmd } from '../../core/cmd.js';
import { declareShellScript } from '../../core/shell-script.js';
import { TaskFailure } from '../../core/task.js';

export const DOCKER_DAEMON_JSON = '/etc/docker/daemon.json';
const INSECURE_KEY = 'insecure-registries';

export function podmanDropIn(address: string): string {
  return posix.join(
    '/etc/containers/registries.conf.d',
    `regbook-${address.replace(/[^A-Za-z0-9.-]/g, '_')}.conf`,
  );
}

export function podmanDropInText(address: string): string {
  return [
    '# Written by regbook (tls.mode none): this registry speaks plain HTTP.',
    '[[registry]]',
    `location = ${JSON.stringify(address)}`,
    'insecure = true',
    '',
  ].join('\n');
}

export interface DaemonJsonEdit {
  text: string;
  from: string;
  to: string;
}

/**
 * daemon.json with `address` added to (want) or taken out of insecure-registries, every other key
 * kept as it was; undefined when it is already so.
 */
export function daemonJsonEdit(
  text: string | undefined,
  address: string,
  want: boolean,
): DaemonJsonEdit | undefined {
  let data: Record<string, unknown> = {};
  if (text !== undefined && text.trim() !== '') {
    try {
      data = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new TaskFailure(`${DOCKER_DAEMON_JSON} is not valid JSON: ${(err as Error).message}`);
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data))
      throw new TaskFailure(`${DOCKER_DAEMON_JSON} does not hold a JSON object`);
  }
  const have = data[INSECURE_KEY];
  if (have !== undefined && !(Array.isArray(have) && have.every((x) => typeof x === 'string')))
    throw new TaskFailure(`${DOCKER_DAEMON_JSON}: ${INSECURE_KEY} is not a list of strings`);
  const list = (have as string[] | undefined) ?? [];
  if (list.includes(address) === want) return undefined;
  const next = want ? [...list, address] : list.filter((a) => a !== address);
  // Kept even when empty: a reload applies only the keys the file sets, so a key taken away
  // would leave the running daemon with the address it loaded before.
  data[INSECURE_KEY] = next;
  const show = (l: string[]) => (l.length > 0 ? l.join(', ') : '(none)');
  return { text: JSON.stringify(data, null, 2) + '\n', from: show(list), to: show(next) };
}

const RELOAD_DOCKER =
  'pid=$(cat /var/run/docker.pid 2>/dev/null) && [ -n "$pid" ] || pid=$(pidof dockerd) || { echo "dockerd is not running" >&2; exit 1; }\nkill -HUP $pid';
declareShellScript('tasks/trust/insecure: reload dockerd', RELOAD_DOCKER);

/** SIGHUP to the running dockerd: it reloads insecure-registries (and the other live keys). */
export function reloadDockerCmd(): Cmd {
  return { argv: ['sh', '-c', RELOAD_DOCKER], privileged: true };
}

export { dockerInfo, listedInsecure } from '../../facts/docker-state.js';
