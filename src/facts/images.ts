// What a host's docker holds, as a map from `repo:tag`, `repo@digest` and image id to image id.
// Two sources give the same map: the engine API's GET /images/json, and `docker images` lines.
import { daemonMessage, type DockerApi } from '../transport/dockerEngine.js';

/** The images a host's docker holds, asked of its engine; rejects where no daemon answers. */
export async function listImages(docker: DockerApi): Promise<Map<string, string>> {
  const r = await docker.request('GET', '/images/json', { timeoutMs: 30_000 });
  if (r.status !== 200) throw new Error(`${docker.hostName}: listing local images: ${daemonMessage(r.body)}`);
  return parseImageJson(r.body.toString('utf8'));
}

/** What `docker images` prints for each image. */
export const IMAGE_LIST_FORMAT = '{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}';

/** Maps `repo:tag`, `repo@digest` and image ids to image ids, from `docker images` output. */
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

interface ApiImage {
  Id?: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
}

/** The same map from GET /images/json: its RepoTags and RepoDigests are the names the CLI shows. */
export function parseImageJson(json: string): Map<string, string> {
  const ids = new Map<string, string>();
  const list = JSON.parse(json) as unknown;
  if (!Array.isArray(list)) throw new Error('GET /images/json did not answer with a list');
  for (const image of list as ApiImage[]) {
    const id = image.Id;
    if (!id) continue;
    ids.set(id, id);
    for (const ref of [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])]) {
      if (!ref.startsWith('<none>')) ids.set(ref, id);
    }
  }
  return ids;
}
