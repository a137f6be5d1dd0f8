import { open } from 'node:fs/promises';

/**
 * The image ids inside a `docker save` tarball, read from its manifest.json. Only the 512-byte tar
 * headers are read and the layer data is skipped by seeking, so a large archive costs a few reads
 * instead of streaming every byte through the control node (which a streaming tar library would).
 */
export async function archiveImageIds(path: string): Promise<Array<{ id: string; repoTags: string[] }>> {
  const fh = await open(path, 'r');
  try {
    const header = Buffer.alloc(512);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(header, 0, 512, pos);
      if (bytesRead < 512 || header.every((b) => b === 0)) break;
      const name = cstr(header.subarray(0, 100));
      const prefix = cstr(header.subarray(345, 500));
      const size = parseInt(cstr(header.subarray(124, 136)).trim() || '0', 8);
      const full = prefix ? `${prefix}/${name}` : name;
      if (full === 'manifest.json' || full === './manifest.json') {
        const body = Buffer.alloc(size);
        await fh.read(body, 0, size, pos + 512);
        return parseManifest(body.toString('utf8'));
      }
      pos += 512 + Math.ceil(size / 512) * 512;
    }
  } finally {
    await fh.close();
  }
  throw new Error(`${path} is not a docker save archive (no manifest.json)`);
}

function cstr(b: Buffer): string {
  const i = b.indexOf(0);
  return b.subarray(0, i < 0 ? b.length : i).toString('utf8');
}

export function parseManifest(json: string): Array<{ id: string; repoTags: string[] }> {
  const entries = JSON.parse(json) as Array<{ Config: string; RepoTags?: string[] | null }>;
  return entries.map((e) => {
    // "blobs/sha256/<hex>" (OCI layout, docker 25+) or "<hex>.json" (older docker).
    const hex = /([a-f0-9]{64})/.exec(e.Config)?.[1];
    if (!hex) throw new Error(`unexpected Config entry in manifest.json: ${e.Config}`);
    return { id: `sha256:${hex}`, repoTags: e.RepoTags ?? [] };
  });
}
