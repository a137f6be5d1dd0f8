// Inventory: from schema-valid data (defaults filled in) to the normalised model, plus the rules
// a schema cannot express (unique host names, ~ expansion, local hosts).
import { dirname, resolve } from 'node:path';
import type { Diagnostic } from '../core/errors.js';
import { expandLocalPath } from './grammar.js';
import type { HostKeyChecking, HostSpec, Inventory } from './model.js';
import {
  isWritten,
  keysWritten,
  positionOf,
  dottedPath,
  type PositionSource,
  type Segment,
} from './positions.js';

/** The inventory as the schema guarantees it, after its defaults were filled in. */
interface RawConnectionSettings {
  user?: string;
  port?: number;
  identityFile?: string;
  knownHosts?: string;
  hostKeyChecking?: HostKeyChecking;
  become?: 'sudo';
}

interface RawHost extends RawConnectionSettings {
  name: string;
  connection: 'ssh' | 'local';
  address?: string;
}

interface RawInventory {
  defaults: Required<Omit<RawConnectionSettings, 'identityFile' | 'become'>> & RawConnectionSettings;
  master: RawHost;
  workers: RawHost[];
}

export interface Normalised<T> {
  value: T;
  diagnostics: Diagnostic[];
}

export function diagnosticAt(
  src: PositionSource,
  path: Segment[],
  message: string,
  at: 'key' | 'value' = 'value',
): Diagnostic {
  const { line, col } = positionOf(src, path, at);
  return { file: src.file, line, col, path: dottedPath(path), message };
}

export function normaliseInventory(src: PositionSource, data: unknown): Normalised<Inventory> {
  const raw = data as RawInventory;
  const diagnostics: Diagnostic[] = [];
  const baseDir = dirname(resolve(src.file));
  const d = raw.defaults;

  // Most hosts share their files with the defaults: each distinct path is expanded once.
  const expanded = new Map<string, string>();
  const localPath = (value: string, path: Segment[]): string => {
    const known = expanded.get(value);
    if (known !== undefined) return known;
    const r = expandLocalPath(value, baseDir);
    if (r.ok) {
      expanded.set(value, r.path);
      return r.path;
    }
    diagnostics.push(diagnosticAt(src, path, r.message));
    return value;
  };

  // What defaults spells out is the same for every host: looked up once, not once per host.
  const writtenInDefaults = {
    user: isWritten(src, ['defaults', 'user']),
    port: isWritten(src, ['defaults', 'port']),
    identityFile: isWritten(src, ['defaults', 'identityFile']),
  };

  const host = (h: RawHost, role: HostSpec['role'], path: Segment[]): HostSpec => {
    // A setting written on the host wins; otherwise the defaults' (written or schema default).
    const from = <K extends keyof RawConnectionSettings>(key: K): Segment[] =>
      h[key] !== undefined ? [...path, key] : ['defaults', key];
    if (h.connection === 'local' && h.address !== undefined) {
      diagnostics.push(
        diagnosticAt(src, [...path, 'address'], 'a host with connection: local has no address (remove it)'),
      );
    }
    const identityFile = h.identityFile ?? d.identityFile;
    const become = h.become ?? d.become;
    const { line, col } = positionOf(src, path);
    const spec: HostSpec = {
      name: h.name,
      role,
      connection: h.connection,
      address: h.connection === 'local' ? 'localhost' : h.address!,
      port: h.port ?? d.port,
      user: h.user ?? d.user,
      knownHosts: localPath(h.knownHosts ?? d.knownHosts, from('knownHosts')),
      hostKeyChecking: h.hostKeyChecking ?? d.hostKeyChecking,
      source: { file: src.file, line, col },
    };
    if (identityFile !== undefined) spec.identityFile = localPath(identityFile, from('identityFile'));
    if (become !== undefined) spec.become = become;
    const onHost = keysWritten(src, path);
    const written = (key: keyof typeof writtenInDefaults) => onHost.includes(key) || writtenInDefaults[key];
    spec.explicit = { user: written('user'), port: written('port'), identityFile: written('identityFile') };
    return spec;
  };

  const master = host(raw.master, 'master', ['master']);
  const workers = raw.workers.map((w, i) => host(w, 'worker', ['workers', i]));

  const firstUse = new Map<string, Segment[]>();
  const entries: [HostSpec, Segment[]][] = [
    [master, ['master']],
    ...workers.map((w, i): [HostSpec, Segment[]] => [w, ['workers', i]]),
  ];
  for (const [h, path] of entries) {
    const earlier = firstUse.get(h.name);
    if (earlier) {
      const where = positionOf(src, [...earlier, 'name']);
      diagnostics.push(
        diagnosticAt(
          src,
          [...path, 'name'],
          `host name '${h.name}' is already used by ${dottedPath(earlier)} (line ${where.line})`,
        ),
      );
    } else {
      firstUse.set(h.name, path);
    }
  }
  return { value: { file: src.file, master, workers, hosts: [master, ...workers] }, diagnostics };
}
