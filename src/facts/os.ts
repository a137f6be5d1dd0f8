import type { Cmd } from '../core/cmd.js';
import type { HostFacts } from '../core/task.js';

const IMAGES_MARKER = '@@regbook-images@@';

/** What `docker images` prints for each image: the images task reads it (images.ts). */
export const IMAGE_LIST_FORMAT = '{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}';

// One round trip: OS identity, docker presence and state, who we are once privileged, and the
// local images. Listing the images is what tells that the daemon answers: each docker client
// start costs ~35 ms of CPU on a host, so one call serves both, and the images task need not ask
// again on a host nothing has changed since. The list comes last, after a marker line.
const FACTS_SCRIPT = [
  'if [ -r /etc/os-release ]; then . /etc/os-release; fi',
  'printf "id=%s\\nid_like=%s\\nversion=%s\\n" "${ID:-}" "${ID_LIKE:-}" "${VERSION_ID:-}"',
  'printf "uid=%s\\n" "$(id -u)"',
  'if command -v docker >/dev/null 2>&1; then echo docker=present; fi',
  `if l=$(docker images --no-trunc --format '${IMAGE_LIST_FORMAT}' 2>/dev/null); then printf "docker_running=yes\\n${IMAGES_MARKER}\\n%s\\n" "$l"; fi`,
].join('\n');

export function factsCmd(): Cmd {
  return { argv: ['sh', '-c', FACTS_SCRIPT], privileged: true };
}

export function parseFacts(stdout: string): HostFacts {
  const at = stdout.indexOf(`\n${IMAGES_MARKER}\n`);
  const head = at < 0 ? stdout : stdout.slice(0, at);
  const kv = new Map<string, string>();
  for (const line of head.split('\n')) {
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
    images: at < 0 ? '' : stdout.slice(at + IMAGES_MARKER.length + 2),
    privileged: kv.get('uid') === '0',
  };
}
