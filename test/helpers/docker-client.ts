// Counts how often the docker client starts on a lab host while a test runs: a wrapper in
// /usr/local/bin (ahead of the real client in every PATH, sshd's too) notes each start and runs
// the real one. It proves a path asks the engine API instead, not only that its result is right.
import type { Lab } from './lab.js';

export async function dockerClientStarts(L: Lab, host: string, body: () => Promise<void>): Promise<number> {
  return (await dockerClientCalls(L, host, body)).length;
}

/** The same, each start as the arguments it was given (`system dial-stdio` for the engine API's streams). */
export async function dockerClientCalls(L: Lab, host: string, body: () => Promise<void>): Promise<string[]> {
  const real = (await L.shOk(host, 'command -v docker')).trim();
  if (real === '/usr/local/bin/docker') throw new Error(`${host}: a docker wrapper is already installed`);
  await L.shOk(
    host,
    `rm -f /tmp/docker-client-starts
     printf '#!/bin/sh\\necho "$*" >> /tmp/docker-client-starts\\nexec ${real} "$@"\\n' > /usr/local/bin/docker
     chmod 755 /usr/local/bin/docker`,
  );
  try {
    await body();
    const out = await L.shOk(host, 'cat /tmp/docker-client-starts 2>/dev/null || true');
    return out.split('\n').filter((l) => l !== '');
  } finally {
    await L.shOk(host, 'rm -f /usr/local/bin/docker /tmp/docker-client-starts');
  }
}

/** What `docker images` prints for each image: the list regbook's must equal. */
export const IMAGE_LIST_FORMAT = '{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}';

/** Maps `repo:tag`, `repo@digest` and image ids to image ids, from `docker images` output, as regbook's list does. */
export function parseImageList(stdout: string): Map<string, string> {
  const ids = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [repo, tag, digest, id] = line.trim().split(' ');
    if (!repo || !id) continue;
    ids.set(id, id);
    if (tag && tag !== '<none>' && repo !== '<none>') ids.set(`${repo}:${tag}`, id);
    if (digest && digest !== '<none>' && repo !== '<none>') ids.set(`${repo}@${digest}`, id);
  }
  return ids;
}
