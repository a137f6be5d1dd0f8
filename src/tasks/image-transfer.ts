// What the images task asks of a host's docker, through its engine API (transport/dockerEngine.ts):
// a `docker save` archive loaded, a tag and push to the registry, a pull from
// it. With registry auth the credentials travel as the X-Registry-Auth header inside the SSH
// channel: never in argv, never in a file on the host.
import type { ImageSpec, Playbook } from '../config/model.js';
import { apiPathSegment } from '../transport/dockerEngine.js';
import type { DockerApi, RegistryAuth } from '../transport/dockerEngine.js';
import { failsAs } from './container-engine.js';

export const targetRef = (pb: Playbook, i: ImageSpec) => `${pb.registry.address}/${i.repository}:${i.tag}`;

/** `docker load` of a local archive: its bytes go up the SSH channel as the request's body. */
export async function loadImage(docker: DockerApi, archive: string): Promise<void> {
  await failsAs(`docker load of ${archive}`, () =>
    docker.stream('POST', '/images/load', { bodyFile: archive, query: { quiet: 1 } }),
  );
}

/** Tags `source` (a reference or an image id) as the image's reference in the registry, and pushes it. */
export async function pushImage(
  docker: DockerApi,
  pb: Playbook,
  i: ImageSpec,
  source: string,
  auth?: RegistryAuth,
): Promise<void> {
  const repository = `${pb.registry.address}/${i.repository}`;
  const target = targetRef(pb, i);
  await failsAs(`docker tag ${source} ${target}`, () =>
    docker.json('POST', `/images/${apiPathSegment(source)}/tag`, { query: { repo: repository, tag: i.tag } }),
  );
  await failsAs(`docker push ${target}`, () =>
    docker.stream('POST', `/images/${apiPathSegment(repository)}/push`, {
      query: { tag: i.tag },
      registryAuth: auth ?? 'anonymous',
    }),
  );
}

/** `docker pull` of an image the registry holds. */
export async function pullImage(
  docker: DockerApi,
  pb: Playbook,
  i: ImageSpec,
  auth?: RegistryAuth,
): Promise<void> {
  await failsAs(`docker pull ${targetRef(pb, i)}`, () =>
    docker.stream('POST', '/images/create', {
      query: { fromImage: `${pb.registry.address}/${i.repository}`, tag: i.tag },
      registryAuth: auth ?? 'anonymous',
    }),
  );
}
