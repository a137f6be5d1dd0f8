// Pushes a tiny schema2 image through the registry HTTP API (blob uploads, then the manifest), so
// tests have real content without docker.
import { createHash, randomBytes } from 'node:crypto';
import type { RegistryClient } from '../../../src/registry/client.js';
import { MEDIA_TYPES } from '../../../src/registry/client.js';

export interface PushedImage {
  manifestDigest: string;
  manifestBytes: Buffer;
  /** config + layer sizes as written in the manifest. */
  size: number;
  /** The config blob's digest (the image id). */
  configDigest: string;
}

function sha256(buf: Buffer): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

async function uploadBlob(client: RegistryClient, repo: string, blob: Buffer): Promise<string> {
  const digest = sha256(blob);
  const start = await client.request({ method: 'POST', path: `/v2/${repo}/blobs/uploads/` });
  if (start.status !== 202) throw new Error(`blob upload start → ${start.status}: ${start.body.toString()}`);
  const location = new URL(String(start.headers.location), 'https://registry.invalid');
  location.searchParams.set('digest', digest);
  const put = await client.request({
    method: 'PUT',
    path: location.pathname + location.search,
    headers: { 'content-type': 'application/octet-stream', 'content-length': blob.length },
    body: blob,
  });
  if (put.status !== 201) throw new Error(`blob upload → ${put.status}: ${put.body.toString()}`);
  return digest;
}

export async function pushTinyImage(client: RegistryClient, repo: string, tag: string): Promise<PushedImage> {
  const layer = randomBytes(64 + Math.floor(Math.random() * 64));
  const layerDigest = await uploadBlob(client, repo, layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
      config: {},
    }),
  );
  const configDigest = await uploadBlob(client, repo, config);
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.dockerManifest,
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: config.length,
        digest: configDigest,
      },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          size: layer.length,
          digest: layerDigest,
        },
      ],
    }),
  );
  const put = await client.request({
    method: 'PUT',
    path: `/v2/${repo}/manifests/${tag}`,
    headers: { 'content-type': MEDIA_TYPES.dockerManifest, 'content-length': manifestBytes.length },
    body: manifestBytes,
  });
  if (put.status !== 201) throw new Error(`manifest put → ${put.status}: ${put.body.toString()}`);
  return {
    manifestDigest: sha256(manifestBytes),
    manifestBytes,
    size: config.length + layer.length,
    configDigest,
  };
}
