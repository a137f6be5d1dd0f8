// Maps a field path (as ajv and the semantic rules name it) back to the YAML node it came from, so
// every diagnostic can point at a line and column. Aliases are followed one hop at a time along the
// path only, so this never expands an alias-heavy document.
import type { MapNode, Pair, YamlNode } from './yaml-nodes.js';

export type Segment = string | number;

export interface Position {
  line: number;
  col: number;
}

/** Line and column (1-based) of offsets in a text: each line's start, searched by halves. */
export class LineIndex {
  readonly #starts: number[] = [0];

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.#starts.push(i + 1);
  }

  position(offset: number): Position {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.#starts[lo]! + 1 };
  }
}

/** A parsed file: its one document's tree, with the line index, for positions. */
export interface PositionSource {
  file: string;
  root: YamlNode | null;
  lines: LineIndex;
}

/** `images.0.name` — the dotted form diagnostics print. */
export function dottedPath(path: readonly Segment[]): string {
  return path.map(String).join('.');
}

/** ajv's instancePath (a JSON Pointer) as path segments. */
export function pointerToPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** One alias hop; an alias to an alias is not valid YAML, so one hop is enough. */
function resolve(node: YamlNode | null | undefined): YamlNode | null {
  if (!node) return null;
  return node.kind === 'alias' ? (node.target ?? null) : node;
}

interface Found {
  /** The node at the deepest segment of the path that exists. */
  node: YamlNode | null;
  /** The key node when the last found segment was a map key. */
  keyNode: YamlNode | null;
  /** How many segments were found. */
  depth: number;
}

/**
 * The pairs of each large mapping by key (the first pair when a key repeats), built on its first
 * lookup: rules and diagnostics look paths up once per item, and scanning a mapping of n keys for
 * each would cost n² on a large one. A small mapping is scanned: cheaper than building an index.
 */
const keyIndexes = new WeakMap<MapNode, Map<string, Pair>>();
const SCAN_BELOW = 16;

function pairByKey(map: MapNode, key: string): Pair | undefined {
  if (map.pairs.length < SCAN_BELOW)
    return map.pairs.find((p) => p.key.kind === 'scalar' && p.key.text === key);
  let index = keyIndexes.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.pairs) {
      if (p.key.kind !== 'scalar' || p.key.text === undefined) continue;
      if (!index.has(p.key.text)) index.set(p.key.text, p);
    }
    keyIndexes.set(map, index);
  }
  return index.get(key);
}

function walk(src: PositionSource, path: readonly Segment[]): Found {
  let node = resolve(src.root);
  let keyNode: YamlNode | null = null;
  let depth = 0;
  for (const seg of path) {
    if (node?.kind === 'map') {
      const pair = pairByKey(node, String(seg));
      if (!pair) break;
      keyNode = pair.key;
      node = resolve(pair.value);
      if (node === null || (node.kind === 'scalar' && node.empty)) {
        // `key:` with no value: the key is the best place to point at.
        depth++;
        return { node: keyNode, keyNode, depth };
      }
    } else if (node?.kind === 'seq') {
      const item = node.items[Number(seg)];
      if (item === undefined) break;
      keyNode = null;
      node = resolve(item);
    } else {
      break;
    }
    depth++;
  }
  return { node, keyNode, depth };
}

/**
 * Where a path is in the file. `at: 'key'` points at the key of the last segment (for unknown keys);
 * `at: 'value'` points at its value. When the path does not exist in the file (a default filled
 * it in), the deepest existing ancestor is used.
 */
export function positionOf(
  src: PositionSource,
  path: readonly Segment[],
  at: 'key' | 'value' = 'value',
): Position {
  const found = walk(src, path);
  const complete = found.depth === path.length;
  const target = complete && at === 'key' && found.keyNode ? found.keyNode : found.node;
  if (!target) return { line: 1, col: 1 };
  return src.lines.position(target.start);
}

/** Whether the file itself spells out this path (as opposed to a default filling it in). */
export function isWritten(src: PositionSource, path: readonly Segment[]): boolean {
  return walk(src, path).depth === path.length;
}

/**
 * The keys the file spells out in the mapping at `path` (none when there is no mapping there):
 * `keysWritten(src, p).includes(k)` is `isWritten(src, [...p, k])`, with one walk for all keys.
 */
export function keysWritten(src: PositionSource, path: readonly Segment[]): string[] {
  const found = walk(src, path);
  if (found.depth !== path.length || found.node?.kind !== 'map') return [];
  const keys: string[] = [];
  for (const p of found.node.pairs)
    if (p.key.kind === 'scalar' && p.key.text !== undefined) keys.push(p.key.text);
  return keys;
}

/**
 * The last of `items` whose [start, end) holds `offset`, or -1. The items of a collection follow
 * each other in the file, so a binary search finds the last one that starts at or before the
 * offset (a scan per error would cost n² for many errors in a large collection).
 */
function itemAt<T>(items: readonly T[], offset: number, range: (item: T) => [number, number]): number {
  let lo = 0;
  let hi = items.length - 1;
  let last = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (range(items[mid]!)[0] <= offset) {
      last = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (last < 0) return -1;
  const [start, end] = range(items[last]!);
  return offset >= start && offset < end ? last : -1;
}

/** The path of the deepest node whose source range contains an offset (for YAML errors). */
export function pathAtOffset(src: PositionSource, offset: number): Segment[] {
  const out: Segment[] = [];
  let node = src.root;
  for (;;) {
    if (node?.kind === 'map') {
      const i = itemAt(node.pairs, offset, (p) => [p.key.start, Math.max(p.key.end, p.value.end)]);
      if (i < 0) return out;
      const pair = node.pairs[i]!;
      out.push(pair.key.kind === 'scalar' && pair.key.text !== undefined ? pair.key.text : '?');
      if (offset < pair.key.end) return out;
      node = pair.value;
    } else if (node?.kind === 'seq') {
      const i = itemAt(node.items, offset, (it) => [it.start, it.end]);
      if (i < 0) return out;
      out.push(i);
      node = node.items[i]!;
    } else {
      return out;
    }
  }
}
