// The files on this machine that a run reads: SSH identity files, known_hosts, and the `docker save`
// archives it ships. Checked before any connection, so a typo in a path is one clear line naming
// the file and field, not the same failure on every host halfway through a run.
import { closeSync, constants, accessSync, openSync, readSync, statSync } from 'node:fs';
import type { Diagnostic } from '../core/errors.js';
import { parseManifest } from '../facts/archive.js';
import { diagnosticAt } from './inventory.js';
import type { Inventory, Playbook } from './model.js';
import { isWritten, type PositionSource, type Segment } from './positions.js';

/** Why a file cannot be read, or undefined when it can. */
export function unreadable(path: string): string | undefined {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code})`;
  }
  if (!isFile) return 'is not a file';
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code})`;
  }
  return undefined;
}

/**
 * The images a `docker save` tarball holds, from its manifest.json; a message when it is not one.
 * Only the 512-byte tar headers are read and the layer data skipped, so a large archive costs a
 * few reads.
 */
export function dockerSaveImages(path: string): { count: number } | { problem: string } {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(512);
    let pos = 0;
    for (;;) {
      if (readSync(fd, header, 0, 512, pos) < 512 || header.every((b) => b === 0)) break;
      const field = (from: number, to: number) => {
        const b = header.subarray(from, to);
        const end = b.indexOf(0);
        return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
      };
      if (header.subarray(257, 262).toString('latin1') !== 'ustar' && pos === 0)
        return { problem: 'is not a tar archive (docker save writes one)' };
      const size = parseInt(field(124, 136).trim() || '0', 8);
      const prefix = field(345, 500);
      const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
      if (name === 'manifest.json' || name === './manifest.json') {
        if (size > 16 * 1024 * 1024) return { problem: "has a manifest.json too large to be docker's" };
        const body = Buffer.alloc(size);
        readSync(fd, body, 0, size, pos + 512);
        try {
          return { count: parseManifest(body.toString('utf8')).length };
        } catch {
          return { problem: "has a manifest.json that is not docker's (a JSON list of images)" };
        }
      }
      if (!Number.isFinite(size)) break;
      pos += 512 + Math.ceil(size / 512) * 512;
    }
  } finally {
    closeSync(fd);
  }
  return { problem: 'is not a docker save archive (no manifest.json in it)' };
}

/** `unreadable`, asked once per path: every host usually names the same few files. */
function unreadableOnce(): (path: string) => string | undefined {
  const known = new Map<string, string | undefined>();
  return (path) => {
    if (!known.has(path)) known.set(path, unreadable(path));
    return known.get(path);
  };
}

/** Problems with the local files the inventory's SSH hosts need. */
function inventoryFiles(inventory: Inventory, src: PositionSource): Diagnostic[] {
  const out: Diagnostic[] = [];
  const whyUnreadable = unreadableOnce();
  const entries: Array<[Inventory['hosts'][number], Segment[]]> = [
    [inventory.master, ['master']],
    ...inventory.workers.map((w, i): [Inventory['hosts'][number], Segment[]] => [w, ['workers', i]]),
  ];
  for (const [h, path] of entries) {
    if (h.connection === 'local') continue;
    // The setting's own line: on the host when written there, else in defaults.
    const at = (key: string): Segment[] =>
      isWritten(src, [...path, key]) ? [...path, key] : ['defaults', key];
    if (h.identityFile !== undefined) {
      const why = whyUnreadable(h.identityFile);
      if (why) out.push(diagnosticAt(src, at('identityFile'), `identity file ${h.identityFile} ${why}`));
    }
    if (h.hostKeyChecking !== 'off') {
      const why = whyUnreadable(h.knownHosts);
      // accept-new makes the file when it records the first key; strict can only refuse without it.
      if (why && !(why === 'does not exist' && h.hostKeyChecking === 'accept-new')) {
        const hint =
          why === 'does not exist'
            ? ' (hostKeyChecking: strict needs every host key in it: add them with ssh-keyscan, or use accept-new)'
            : '';
        out.push(diagnosticAt(src, at('knownHosts'), `known_hosts file ${h.knownHosts} ${why}${hint}`));
      }
    }
  }
  return out;
}

/** Problems with the archives the playbook ships. */
function playbookFiles(playbook: Playbook, src: PositionSource): Diagnostic[] {
  const out: Diagnostic[] = [];
  const archive = (file: string, path: Segment[], exactlyOne: boolean) => {
    const why = unreadable(file);
    if (why) return out.push(diagnosticAt(src, path, `archive ${file} ${why}`));
    const r = dockerSaveImages(file);
    if ('problem' in r) return out.push(diagnosticAt(src, path, `archive ${file} ${r.problem}`));
    if (exactlyOne && r.count !== 1)
      out.push(
        diagnosticAt(src, path, `archive ${file} holds ${r.count} images; an image's archive holds one`),
      );
    return undefined;
  };
  if (playbook.registry.imageArchive)
    archive(playbook.registry.imageArchive, ['registry', 'imageArchive'], false);
  playbook.images.forEach((i, n) => {
    if (i.source && 'archive' in i.source)
      archive(i.source.archive, ['images', n, 'source', 'archive'], true);
  });
  return out;
}

/** Every problem with the local files a run of this playbook on this inventory reads, once each. */
export function localFileDiagnostics(
  playbook: Playbook,
  inventory: Inventory,
  sources: { playbook: PositionSource; inventory: PositionSource },
): Diagnostic[] {
  const all = [...inventoryFiles(inventory, sources.inventory), ...playbookFiles(playbook, sources.playbook)];
  const seen = new Set<string>();
  return all.filter((d) => {
    const k = `${d.file}:${d.line}:${d.col}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
