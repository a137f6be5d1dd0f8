// Maps a field path (as ajv and the semantic rules name it) back to the YAML node it came from, so
// every diagnostic can point at a line and column. Aliases are followed one hop at a time along the
// path only, so this never expands an alias-heavy document.
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Alias,
  type Document,
  type LineCounter,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';

export type Segment = string | number;

export interface Position {
  line: number;
  col: number;
}

/** A parsed file: the YAML document with its line index, for positions. */
export interface PositionSource {
  file: string;
  doc: Document;
  lineCounter: LineCounter;
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

/** The implicit null of `key:` with nothing after it (it has no text of its own). */
function isEmptyScalar(node: Node): boolean {
  return isScalar(node) && node.value === null && node.range != null && node.range[0] === node.range[1];
}

/**
 * Every node of the document, parents before children and keys before values: the order of yaml's
 * visit(), which anchors and aliases follow. A plain recursion: visit() also builds each node's
 * ancestor path, which these checks do not need.
 */
export function eachNode(node: unknown, fn: (node: unknown) => void): void {
  fn(node);
  if (isMap(node)) {
    for (const pair of node.items) {
      eachNode(pair.key, fn);
      eachNode(pair.value, fn);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      if (isPair(item)) {
        // A single-pair mapping in a flow sequence ([a: 1]).
        eachNode(item.key, fn);
        eachNode(item.value, fn);
      } else {
        eachNode(item, fn);
      }
    }
  }
}

/**
 * What each alias of a document stands for, found in one pass on the first alias hop: the last
 * node before it that carries its anchor, yaml's own rule. Alias.resolve walks the whole document
 * for every call, n² when many paths go through aliases.
 */
const aliasTargets = new WeakMap<Document, Map<Alias, Node>>();

function resolve(doc: Document, node: unknown): unknown {
  // One alias hop; an alias to an alias is not valid YAML, so one hop is enough.
  if (!isAlias(node)) return node;
  let targets = aliasTargets.get(doc);
  if (!targets) {
    const found = new Map<Alias, Node>();
    const latest = new Map<string, Node>();
    eachNode(doc.contents, (n) => {
      if (isAlias(n)) {
        const target = latest.get(n.source);
        if (target) found.set(n, target);
      } else if ((isScalar(n) || isMap(n) || isSeq(n)) && n.anchor) {
        latest.set(n.anchor, n);
      }
    });
    aliasTargets.set(doc, found);
    targets = found;
  }
  return targets.get(node);
}

interface Found {
  /** The node at the deepest segment of the path that exists. */
  node: Node | null;
  /** The key node when the last found segment was a map key. */
  keyNode: Node | null;
  /** How many segments were found. */
  depth: number;
}

/**
 * The pairs of each large mapping by key (the first pair when a key repeats), built on its first
 * lookup: rules and diagnostics look paths up once per item, and scanning a mapping of n keys for
 * each would cost n² on a large one. A small mapping is scanned: cheaper than building an index.
 */
const keyIndexes = new WeakMap<YAMLMap, Map<string, Pair>>();
const SCAN_BELOW = 16;

function pairByKey(map: YAMLMap, key: string): Pair | undefined {
  if (map.items.length < SCAN_BELOW) {
    return map.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
  }
  let index = keyIndexes.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) {
      if (!isPair(p) || !isScalar(p.key)) continue;
      const k = String(p.key.value);
      if (!index.has(k)) index.set(k, p);
    }
    keyIndexes.set(map, index);
  }
  return index.get(key);
}

function walk(doc: Document, path: readonly Segment[]): Found {
  let node = resolve(doc, doc.contents) as Node | null;
  let keyNode: Node | null = null;
  let depth = 0;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = pairByKey(node, String(seg));
      if (!pair) break;
      keyNode = pair.key as Node;
      node = (resolve(doc, pair.value) as Node | null) ?? null;
      if (node === null || isEmptyScalar(node)) {
        // `key:` with no value: the key is the best place to point at.
        depth++;
        return { node: keyNode, keyNode, depth };
      }
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (item === undefined) break;
      keyNode = null;
      node = resolve(doc, item) as Node;
    } else {
      break;
    }
    depth++;
  }
  return { node, keyNode, depth };
}

function offsetToPosition(src: PositionSource, offset: number): Position {
  const { line, col } = src.lineCounter.linePos(offset);
  return { line, col };
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
  const found = walk(src.doc, path);
  const complete = found.depth === path.length;
  const target = complete && at === 'key' && found.keyNode ? found.keyNode : found.node;
  const offset = target?.range?.[0];
  if (offset === undefined) return { line: 1, col: 1 };
  return offsetToPosition(src, offset);
}

/** Whether the file itself spells out this path (as opposed to a default filling it in). */
export function isWritten(src: PositionSource, path: readonly Segment[]): boolean {
  return walk(src.doc, path).depth === path.length;
}

/**
 * The keys the file spells out in the mapping at `path` (none when there is no mapping there):
 * `keysWritten(src, p).includes(k)` is `isWritten(src, [...p, k])`, with one walk for all keys.
 */
export function keysWritten(src: PositionSource, path: readonly Segment[]): string[] {
  const found = walk(src.doc, path);
  if (found.depth !== path.length || !isMap(found.node)) return [];
  const keys: string[] = [];
  for (const p of found.node.items) if (isScalar(p.key)) keys.push(String(p.key.value));
  return keys;
}

/**
 * The first of `items` whose [start, end) holds `offset`, or -1. The items of a collection follow
 * each other in the file, so a binary search finds the last one that starts at or before the
 * offset (a scan per error would cost n² for many errors in a large collection); the ones just
 * before it are checked too, in case ranges overlap.
 */
function itemAt<T>(
  items: readonly T[],
  offset: number,
  range: (item: T) => [number, number] | undefined,
): number {
  const holds = (item: T) => {
    const r = range(item);
    return r !== undefined && offset >= r[0] && offset < r[1];
  };
  let lo = 0;
  let hi = items.length - 1;
  let last = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = range(items[mid]!);
    // Every node of a parsed document has a range; without one, order cannot be relied on.
    if (r === undefined) return items.findIndex(holds);
    if (r[0] <= offset) {
      last = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  let found = -1;
  for (let i = last; i >= 0 && holds(items[i]!); i--) found = i;
  return found;
}

/** The path of the deepest node whose source range contains an offset (for YAML syntax errors). */
export function pathAtOffset(src: PositionSource, offset: number): Segment[] {
  const out: Segment[] = [];
  let node: unknown = src.doc.contents;
  for (;;) {
    if (isMap(node)) {
      const i = itemAt(node.items, offset, (p) => {
        const end = (p.value as Node | null)?.range?.[2] ?? (p.key as Node | null)?.range?.[2];
        const start = (p.key as Node | null)?.range?.[0];
        return start !== undefined && end !== undefined ? [start, end] : undefined;
      });
      if (i < 0) return out;
      const pair = node.items[i]!;
      out.push(isScalar(pair.key) ? String(pair.key.value) : String(pair.key));
      const keyEnd = (pair.key as Node | null)?.range?.[2] ?? 0;
      if (offset < keyEnd) return out;
      node = pair.value;
    } else if (isSeq(node)) {
      const i = itemAt(node.items, offset, (it) => {
        const r = (it as Node | null)?.range;
        return r != null ? [r[0], r[2]] : undefined;
      });
      if (i < 0) return out;
      out.push(i);
      node = node.items[i];
    } else {
      return out;
    }
  }
}
