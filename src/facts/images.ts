// What a host's docker holds, as a map from `repo:tag`, `repo@digest` and image id to image id,
// from the engine API's GET /images/json.
import { daemonMessage, type DockerApi } from '../transport/dockerEngine.js';

/** The images a host's docker holds, asked of its engine; rejects where no daemon answers. */
export async function listImages(docker: DockerApi): Promise<Map<string, string>> {
  const r = await docker.request('GET', '/images/json', { timeoutMs: 30_000 });
  if (r.status !== 200) throw new Error(`${docker.hostName}: listing local images: ${daemonMessage(r.body)}`);
  return parseImageJson(r.body.toString('utf8'));
}

interface ApiImage {
  Id?: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
}

/** The map from GET /images/json: its RepoTags and RepoDigests are the names `docker images` shows. */
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
