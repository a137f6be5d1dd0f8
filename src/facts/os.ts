import { declareShellScript } from '../core/shell-script.js';
import type { HostFacts } from '../core/task.js';
import { listImages } from './images.js';
import { OWN_NAMED_GLOBS, TRUST_RECORD } from './trust-record.js';
import type { Connection, ExecResult } from '../transport/types.js';

// One round trip: OS identity, docker presence, who we are once privileged, the socket the host's
// docker client would reach, leftovers of older versions and of trust. Right after it, the host's
// docker engine lists the local images (readHostFacts): that answer is what tells that the daemon
// runs, and the images task need not ask again on a host nothing has changed since.
export const HOST_SCRIPT = [
  'if [ -r /etc/os-release ]; then . /etc/os-release; fi',
  'printf "id=%s\\nid_like=%s\\nversion=%s\\n" "${ID:-}" "${ID_LIKE:-}" "${VERSION_ID:-}"',
  // The effective uid from the shell's own status, as `id -u` tells it without a process of its own.
  'u=; while read -r k _ e _; do if [ "$k" = Uid: ]; then u=$e; break; fi; done 2>/dev/null </proc/self/status',
  'printf "uid=%s\\n" "${u:-$(id -u)}"',
  'if command -v docker >/dev/null 2>&1; then echo docker=present; fi',
  // The docker client's own choice of daemon: DOCKER_HOST, else a context (DOCKER_CONTEXT or the
  // config's currentContext), else the default socket. Only where the script runs as the login
  // user (no sudo): the SSH server opens that socket as the login user (dockerSocketOf).
  'if [ -z "${SUDO_USER:-}" ]; then',
  '  c="${DOCKER_CONFIG:-$HOME/.docker}/config.json"',
  '  if [ -n "${DOCKER_HOST:-}" ]; then printf "docker_host=%s\\n" "$DOCKER_HOST";',
  '  elif [ -n "${DOCKER_CONTEXT:-}" ]; then echo docker_context=yes;',
  // grep only where the file is: most hosts have none, and a process costs more than the test.
  `  elif [ -f "$c" ] && grep -qE '"currentContext"[[:space:]]*:[[:space:]]*"[^"]' "$c"; then echo docker_context=yes;`,
  '  else echo docker_host=unix:///var/run/docker.sock; fi',
  'fi',
  // Login directories older versions made for `docker login` and could leave behind (see tasks/images.ts).
  'for d in /tmp/regbook-docker.*; do if [ -d "$d" ]; then printf "stale_login=%s\\n" "$d"; fi; done',
  // Trust files regbook wrote (tasks/trust/record.ts): a host outside trust.hosts loses them.
  // Read by the shell itself: a host's every apply runs this, and a process costs more than the loop.
  `t=; if [ -f ${TRUST_RECORD} ]; then while read -r k _; do case $k in file | insecure) t=yes; break ;; esac; done <${TRUST_RECORD}; fi`,
  `if [ -z "$t" ]; then for f in ${OWN_NAMED_GLOBS.join(' ')}; do if [ -f "$f" ]; then t=yes; break; fi; done; fi`,
  'if [ -n "$t" ]; then echo trust_leftovers=yes; fi',
].join('\n');
declareShellScript('facts/os: host facts', HOST_SCRIPT);

/**
 * The host's facts: the facts script, then the engine's image list, through the docker socket the
 * script found when it found one (the engine reaches it with no command on the host).
 */
export async function readHostFacts(conn: Connection): Promise<{ exec: ExecResult; facts?: HostFacts }> {
  const exec = await conn.exec({ argv: ['sh', '-c', HOST_SCRIPT], privileged: true });
  if (exec.code !== 0) return { exec };
  const socket = dockerSocketOf(exec.stdout);
  if (socket !== undefined) conn.useDockerSocket(socket);
  const images = await listImages(conn.docker()).catch(() => undefined);
  return { exec, facts: hostFacts(exec.stdout, images) };
}

/**
 * The unix socket the host's docker client would use, from the facts script's lines; none where the
 * client would go elsewhere (a context, a tcp:// or ssh:// DOCKER_HOST) or where the script ran
 * under sudo: there the engine keeps to `docker system dial-stdio`, which follows the client.
 */
export function dockerSocketOf(stdout: string): string | undefined {
  const host = /^docker_host=(.*)$/m.exec(stdout)?.[1];
  const path = host?.startsWith('unix://') ? host.slice('unix://'.length) : undefined;
  // An absolute path, without the `..` and odd characters no daemon's socket has.
  return path !== undefined && /^\/[A-Za-z0-9._/@+-]+$/.test(path) && !path.split('/').includes('..')
    ? path
    : undefined;
}

/** The facts script's lines, with the images the engine listed (none: docker does not run). */
export function hostFacts(stdout: string, images: Map<string, string> | undefined): HostFacts {
  return { ...parseFacts(stdout), dockerRunning: images !== undefined, images: images ?? new Map() };
}

/** The facts script's own lines; docker's state and images come from the engine. */
function parseFacts(stdout: string): Omit<HostFacts, 'dockerRunning' | 'images'> {
  const kv = new Map<string, string>();
  const staleLogins: string[] = [];
  for (const line of stdout.split('\n')) {
    const stale = /^stale_login=(\/tmp\/regbook-docker\.[A-Za-z0-9]+)$/.exec(line);
    if (stale) staleLogins.push(stale[1]!);
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
  }
  const id = kv.get('id') ?? '';
  const like = `${id} ${kv.get('id_like') ?? ''}`;
  const osFamily = /\b(debian|ubuntu)\b/.test(like)
    ? 'debian'
    : /\b(rhel|fedora|centos|rocky|almalinux)\b/.test(like)
      ? 'rhel'
      : 'unknown';
  return {
    osFamily,
    osId: id,
    osVersion: kv.get('version') ?? '',
    dockerPresent: kv.has('docker'),
    privileged: kv.get('uid') === '0',
    ...(staleLogins.length > 0 ? { staleLogins } : {}),
    ...(kv.get('trust_leftovers') === 'yes' ? { trustLeftovers: true } : {}),
  };
}
