// The image configuration blob's creation time: what `docker image ls` shows as CREATED. A small
// JSON document, read only when a tag's manifest names one (an index, a multi-platform list, has
// no config of its own).
import type { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { assertDigest, assertRepository } from './reference.js';

/** `created` from the image config `configDigest` of `repository`, or undefined when it has none. */
export async function imageCreated(
  client: RegistryClient,
  repository: string,
  configDigest: string,
): Promise<string | undefined> {
  const path = `/v2/${assertRepository(repository)}/blobs/${assertDigest(configDigest)}`;
  const res = await client.request({ method: 'GET', path });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new RegistryError(`GET ${path} → ${res.status}`, { status: res.status });
  let doc: { created?: unknown };
  try {
    doc = JSON.parse(res.body.toString('utf8')) as typeof doc;
  } catch (err) {
    throw new RegistryError(`GET ${path}: the image config is not JSON`, { status: res.status, cause: err });
  }
  if (typeof doc.created !== 'string') return undefined;
  const t = new Date(doc.created);
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
}
