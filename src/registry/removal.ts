// Removing tags and manifests from a registry. The registry API v2 deletes manifests by digest,
// and a manifest's deletion takes every tag on it: a tag that shares its digest with tags that
// stay is first re-pointed at a manifest of its own, which is then deleted (the way
// `regctl tag delete` does it), so only that tag goes.
import { randomUUID } from 'node:crypto';
import type { RegistryClient } from './client.js';
import { MEDIA_TYPES } from './client.js';

/** What to remove: a tag, or a manifest by digest (with every tag on it). */
export type RemovalTarget = { repository: string; tag: string } | { repository: string; digest: string };

export interface Removal {
  repository: string;
  /** What was asked for: the tag, or the digest. */
  reference: string;
  /** The manifest the tag(s) pointed at. */
  digest: string;
  /** The tags that go. */
  tags: string[];
  /** Tags on the same digest that stay. */
  kept: string[];
  /** digest: the manifest is deleted; tag-alone: the tag is re-pointed, then that manifest deleted. */
  how: 'digest' | 'tag-alone';
  /** The manifest's media type, which the throwaway manifest follows (OCI or docker). */
  mediaType: string;
}

export interface RemovalPlan {
  removals: Removal[];
  /** Targets the registry does not hold. */
  missing: RemovalTarget[];
}

export const targetRef = (t: RemovalTarget): string =>
  'tag' in t ? `${t.repository}:${t.tag}` : `${t.repository}@${t.digest}`;

/**
 * Reads what the registry holds for the targets' repositories and decides how each target goes.
 * Reads only; nothing is changed.
 */
export async function planRemovals(
  client: RegistryClient,
  targets: readonly RemovalTarget[],
): Promise<RemovalPlan> {
  const removals: Removal[] = [];
  const missing: RemovalTarget[] = [];
  for (const repository of [...new Set(targets.map((t) => t.repository))]) {
    const mine = targets.filter((t) => t.repository === repository);
    const tagDigest = new Map<string, string>();
    const mediaTypes = new Map<string, string>();
    for (const tag of await client.tags(repository)) {
      const info = await client.manifestInfo(repository, tag);
      if (!info) continue; // removed between the two reads
      tagDigest.set(tag, info.digest);
      mediaTypes.set(info.digest, info.mediaType);
    }
    const tagsOn = (digest: string) =>
      [...tagDigest]
        .filter(([, d]) => d === digest)
        .map(([t]) => t)
        .sort();

    // Manifests asked for by digest go whole, with every tag on them.
    const wholeDigests = new Set<string>();
    for (const t of mine) {
      if (!('digest' in t)) continue;
      if (wholeDigests.has(t.digest)) continue;
      let mediaType = mediaTypes.get(t.digest);
      if (!mediaType) mediaType = (await client.manifestInfo(repository, t.digest))?.mediaType;
      if (!mediaType) {
        missing.push(t);
        continue;
      }
      wholeDigests.add(t.digest);
      removals.push({
        repository,
        reference: t.digest,
        digest: t.digest,
        tags: tagsOn(t.digest),
        kept: [],
        how: 'digest',
        mediaType,
      });
    }

    // Tags: where every tag on a digest goes, the manifest goes; otherwise each goes alone.
    const tagTargets = [...new Set(mine.flatMap((t) => ('tag' in t ? [t.tag] : [])))];
    const going = new Set(tagTargets);
    const done = new Set<string>();
    for (const tag of tagTargets) {
      const digest = tagDigest.get(tag);
      if (!digest) {
        missing.push({ repository, tag });
        continue;
      }
      if (wholeDigests.has(digest) || done.has(tag)) continue;
      const on = tagsOn(digest);
      const kept = on.filter((t) => !going.has(t));
      const mediaType = mediaTypes.get(digest)!;
      if (kept.length === 0) {
        for (const t of on) done.add(t);
        wholeDigests.add(digest);
        removals.push({ repository, reference: tag, digest, tags: on, kept: [], how: 'digest', mediaType });
      } else {
        done.add(tag);
        removals.push({ repository, reference: tag, digest, tags: [tag], kept, how: 'tag-alone', mediaType });
      }
    }
  }
  return { removals, missing };
}

/** Carries out a plan, in order. */
export async function applyRemovals(client: RegistryClient, removals: readonly Removal[]): Promise<void> {
  for (const r of removals) {
    if (r.how === 'digest') await client.deleteManifest(r.repository, r.digest);
    else await removeTagAlone(client, r.repository, r.reference, r.mediaType);
  }
}

/**
 * Points `tag` at a manifest made for the purpose and deletes that manifest by digest: the tag
 * goes with it, and the manifest the tag pointed at stays, with its other tags. The throwaway's
 * config carries the tag, the time and a random id, so its digest is its own and no other tag
 * can share it.
 */
export async function removeTagAlone(
  client: RegistryClient,
  repository: string,
  tag: string,
  mediaType: string,
): Promise<void> {
  const oci = mediaType === MEDIA_TYPES.ociManifest || mediaType === MEDIA_TYPES.ociIndex;
  const layer = Buffer.from('{}');
  const layerDigest = await client.putBlob(repository, layer);
  const now = new Date().toISOString();
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: now,
      config: { Labels: { 'io.regbook.removed-tag': tag, 'io.regbook.removal-id': randomUUID() } },
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
      history: [{ created: now, created_by: 'regbook rm', comment: 'stands in for a removed tag' }],
    }),
  );
  const configDigest = await client.putBlob(repository, config);
  const manifestType = oci ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestType,
      config: {
        mediaType: oci
          ? 'application/vnd.oci.image.config.v1+json'
          : 'application/vnd.docker.container.image.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        {
          mediaType: oci
            ? 'application/vnd.oci.image.layer.v1.tar'
            : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          digest: layerDigest,
          size: layer.length,
        },
      ],
    }),
  );
  const digest = await client.putManifest(repository, tag, manifestType, manifest);
  await client.deleteManifest(repository, digest);
}
