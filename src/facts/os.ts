import type { Cmd } from '../core/cmd.js';
import { declareShellScript } from '../core/shell-script.js';
import type { HostFacts } from '../core/task.js';
import { ENGINE_API_GATE } from './engine-api.js';
import { IMAGE_LIST_FORMAT, listImages, parseImageJson, parseImageList } from './images.js';
import { OWN_NAMED_GLOBS, TRUST_RECORD } from './trust-record.js';
import type { Connection, ExecResult } from '../transport/types.js';

const IMAGES_MARKER = '@@regbook-images@@';

// One round trip: OS identity, docker presence, who we are once privileged, leftovers of older
// versions and of trust. Beside it, at the same time, the host's docker engine lists the local
// images (readHostFacts): that answer is what tells that the daemon runs, and the images task need
// not ask again on a host nothing has changed since.
const HOST_LINES = [
  'if [ -r /etc/os-release ]; then . /etc/os-release; fi',
  'printf "id=%s\\nid_like=%s\\nversion=%s\\n" "${ID:-}" "${ID_LIKE:-}" "${VERSION_ID:-}"',
  'printf "uid=%s\\n" "$(id -u)"',
  'if command -v docker >/dev/null 2>&1; then echo docker=present; fi',
  // Login directories older versions made for `docker login` and could leave behind (see tasks/images.ts).
  'for d in /tmp/regbook-docker.*; do if [ -d "$d" ]; then printf "stale_login=%s\\n" "$d"; fi; done',
  // Trust files regbook wrote (tasks/trust/record.ts): a host outside trust.hosts loses them.
  `if grep -qE '^(file|insecure) ' ${TRUST_RECORD} 2>/dev/null; then echo trust_leftovers=yes;`,
  `else for f in ${OWN_NAMED_GLOBS.join(' ')}; do if [ -f "$f" ]; then echo trust_leftovers=yes; break; fi; done; fi`,
];
const HOST_SCRIPT = HOST_LINES.join('\n');
declareShellScript('facts/os: host facts', HOST_SCRIPT);

// The same facts with the image list asked of the daemon in the script (through curl where it
// reaches the daemon the client would, else `docker images`), after a marker line: the form the
// status reader still takes (ops/status.ts); an apply reads through readHostFacts.
const FACTS_SCRIPT = [
  ...HOST_LINES,
  `if ${ENGINE_API_GATE} &&`,
  '  l=$(curl -sf --max-time 30 --unix-socket "$s" http://docker/images/json 2>/dev/null); then',
  `  printf "docker_running=yes\\nimages=json\\n${IMAGES_MARKER}\\n%s\\n" "$l"`,
  `elif l=$(docker images --no-trunc --format '${IMAGE_LIST_FORMAT}' 2>/dev/null); then`,
  `  printf "docker_running=yes\\n${IMAGES_MARKER}\\n%s\\n" "$l"`,
  'fi',
].join('\n');
declareShellScript('facts/os: host facts with the image list', FACTS_SCRIPT);

/** The host's facts: the facts script and the engine's image list, at the same time. */
export async function readHostFacts(conn: Connection): Promise<{ exec: ExecResult; facts?: HostFacts }> {
  const images = listImages(conn.docker()).catch(() => undefined);
  const exec = await conn.exec({ argv: ['sh', '-c', HOST_SCRIPT], privileged: true });
  if (exec.code !== 0) return { exec };
  return { exec, facts: hostFacts(exec.stdout, await images) };
}

/** The facts script's lines, with the images the engine listed (none: docker does not run). */
export function hostFacts(stdout: string, images: Map<string, string> | undefined): HostFacts {
  const f = parseFacts(stdout);
  return { ...f, dockerRunning: images !== undefined, images: images ?? new Map() };
}

export function factsCmd(): Cmd {
  return { argv: ['sh', '-c', FACTS_SCRIPT], privileged: true };
}

export function parseFacts(stdout: string): HostFacts {
  const at = stdout.indexOf(`\n${IMAGES_MARKER}\n`);
  const head = at < 0 ? stdout : stdout.slice(0, at);
  const kv = new Map<string, string>();
  const staleLogins: string[] = [];
  for (const line of head.split('\n')) {
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
    dockerRunning: kv.has('docker_running'),
    images: images(kv.get('images'), at < 0 ? '' : stdout.slice(at + IMAGES_MARKER.length + 2)),
    privileged: kv.get('uid') === '0',
    ...(staleLogins.length > 0 ? { staleLogins } : {}),
    ...(kv.get('trust_leftovers') === 'yes' ? { trustLeftovers: true } : {}),
  };
}

function images(format: string | undefined, list: string): Map<string, string> {
  return format === 'json' ? parseImageJson(list) : parseImageList(list);
}
