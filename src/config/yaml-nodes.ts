// The shape of a YAML file with the offset of every node, built from js-yaml's event stream: the
// values come from js-yaml's own constructor (yaml-source.ts); this tree only says where each
// value was written, for diagnostics, and which aliases point where.
import { EVENT_ID, SCALAR_STYLE, getScalarValue, type Event, type ScalarEvent } from 'js-yaml';

interface Base {
  /** Offset of the node's first character (a quoted scalar's opening quote). */
  start: number;
  /** Offset just past the node's last character (for a collection, its last item's end). */
  end: number;
  /** Nodes in the value once its aliases are expanded: 1 for a scalar. */
  size: number;
}

export interface ScalarNode extends Base {
  kind: 'scalar';
  /** `key:` with nothing after it: an implicit null with no text of its own. */
  empty: boolean;
  /** The decoded text, kept for mapping keys only (lookups by key). */
  text?: string;
}

export interface Pair {
  key: YamlNode;
  value: YamlNode;
}

export interface MapNode extends Base {
  kind: 'map';
  pairs: Pair[];
}

export interface SeqNode extends Base {
  kind: 'seq';
  items: YamlNode[];
}

export interface AliasNode extends Base {
  kind: 'alias';
  name: string;
  /** The last node before the alias that carries its anchor; none when there is no such anchor. */
  target?: YamlNode;
}

export type YamlNode = ScalarNode | MapNode | SeqNode | AliasNode;

export interface YamlDocument {
  /** The document's content: null for a document with none. */
  root: YamlNode | null;
}

export interface YamlTree {
  documents: YamlDocument[];
  /** Aliases whose anchor does not come before them, in document order. */
  unresolved: AliasNode[];
  /** Nodes that expanding every alias adds to the data (Infinity past any bound worth counting). */
  aliasNodes: number;
}

type Open = { node: MapNode | SeqNode; anchor?: string; key?: YamlNode } | { doc: YamlDocument };

const quoted = (e: ScalarEvent) =>
  e.style === SCALAR_STYLE.SINGLE_QUOTED || e.style === SCALAR_STYLE.DOUBLE_QUOTED;

/** The tree of every document in `events`, which js-yaml's parseEvents made from `source`. */
export function nodesFromEvents(events: readonly Event[], source: string): YamlTree {
  const documents: YamlDocument[] = [];
  const unresolved: AliasNode[] = [];
  const anchors = new Map<string, YamlNode>();
  const stack: Open[] = [];
  let aliasNodes = 0;

  const anchorName = (start: number, end: number) => (start >= 0 ? source.slice(start, end) : undefined);

  const attach = (node: YamlNode) => {
    const top = stack[stack.length - 1];
    if (!top) return;
    if ('doc' in top) {
      top.doc.root = node;
      return;
    }
    const parent = top.node;
    parent.size += node.size;
    if (node.end > parent.end) parent.end = node.end;
    if (parent.kind === 'seq') parent.items.push(node);
    else if (top.key === undefined) top.key = node;
    else {
      parent.pairs.push({ key: top.key, value: node });
      top.key = undefined;
    }
  };

  const isKeyNext = () => {
    const top = stack[stack.length - 1];
    return top !== undefined && 'node' in top && top.node.kind === 'map' && top.key === undefined;
  };

  for (const e of events) {
    switch (e.type) {
      case EVENT_ID.DOCUMENT: {
        const doc: YamlDocument = { root: null };
        documents.push(doc);
        stack.push({ doc });
        break;
      }
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const node: MapNode | SeqNode =
          e.type === EVENT_ID.MAPPING
            ? { kind: 'map', start: e.start, end: e.start, size: 1, pairs: [] }
            : { kind: 'seq', start: e.start, end: e.start, size: 1, items: [] };
        const anchor = anchorName(e.anchorStart, e.anchorEnd);
        stack.push(anchor === undefined ? { node } : { node, anchor });
        break;
      }
      case EVENT_ID.SCALAR: {
        const q = quoted(e) ? 1 : 0;
        const node: ScalarNode = {
          kind: 'scalar',
          start: e.valueStart - q,
          end: e.valueEnd + q,
          size: 1,
          empty: q === 0 && e.valueStart === e.valueEnd,
        };
        if (isKeyNext()) node.text = getScalarValue(source, e);
        const anchor = anchorName(e.anchorStart, e.anchorEnd);
        if (anchor !== undefined) anchors.set(anchor, node);
        attach(node);
        break;
      }
      case EVENT_ID.ALIAS: {
        const name = source.slice(e.anchorStart, e.anchorEnd);
        const target = anchors.get(name);
        // The alias's own text starts at its `*`.
        const node: AliasNode = { kind: 'alias', start: e.anchorStart - 1, end: e.anchorEnd, size: 1, name };
        if (target) {
          node.target = target;
          node.size = target.size;
          aliasNodes += target.size;
        } else {
          unresolved.push(node);
        }
        attach(node);
        break;
      }
      case EVENT_ID.POP: {
        const top = stack.pop();
        if (top && 'node' in top) {
          // An anchor names its node once the node is complete: an alias inside it cannot reach it.
          if (top.anchor !== undefined) anchors.set(top.anchor, top.node);
          attach(top.node);
        }
        break;
      }
    }
  }
  return { documents, unresolved, aliasNodes };
}
