// The file-format reference in README.md, generated from the JSON Schemas' own descriptions so the
// manual and the validator cannot disagree. Pure: schemas in, Markdown out; the README block is
// rewritten by scripts/gen-reference.ts and checked by test/unit/docs/reference.test.ts.

/** The subset of JSON Schema the regbook schemas use. */
export interface SchemaNode {
  description?: string;
  type?: string | string[];
  $ref?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  additionalProperties?: boolean | SchemaNode;
  propertyNames?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  $defs?: Record<string, SchemaNode>;
  title?: string;
}

export interface ReferenceRow {
  /** Dotted path; `[]` marks a list item, `<NAME>` a key the user chooses. */
  path: string;
  type: string;
  /** The default, or `required`, or empty. */
  default: string;
  /** Allowed values: enum members, a range, or the format's description. */
  allowed: string;
  description: string;
}

export const BLOCK_START = '<!-- reference:start -->';
export const BLOCK_END = '<!-- reference:end -->';

function resolve(root: SchemaNode, node: SchemaNode): SchemaNode {
  if (!node.$ref) return node;
  const m = /^#\/\$defs\/(.+)$/.exec(node.$ref);
  const target = m ? root.$defs?.[m[1]!] : undefined;
  if (!target) throw new Error(`unresolvable $ref ${node.$ref}`);
  // The property's own keywords (description, default) win over the definition's.
  const { $ref: _ref, ...own } = node;
  void _ref;
  return { ...resolve(root, target), ...own, ...{ formatDescription: target.description } };
}

type Resolved = SchemaNode & { formatDescription?: string };

function code(v: unknown): string {
  return '`' + (typeof v === 'string' ? v : JSON.stringify(v)) + '`';
}

function typeOf(root: SchemaNode, node: Resolved): string {
  const alts = node.anyOf ?? node.oneOf;
  if (alts) return [...new Set(alts.map((a) => typeOf(root, resolve(root, a))))].join(' or ');
  if (node.const !== undefined) return typeof node.const === 'number' ? 'integer' : typeof node.const;
  const t = node.type;
  if (t === 'array') return node.items ? `list of ${typeOf(root, resolve(root, node.items))}` : 'list';
  if (t === 'object' && node.additionalProperties && typeof node.additionalProperties === 'object')
    return 'map';
  if (Array.isArray(t)) return t.join(' or ');
  return t ?? 'any';
}

function allowedOf(root: SchemaNode, node: Resolved): string {
  const alts = node.anyOf ?? node.oneOf;
  if (alts) {
    return alts
      .map((a) => {
        const r = resolve(root, a) as Resolved;
        if (r.enum) return r.enum.map(code).join(', ');
        return allowedOf(root, r);
      })
      .filter(Boolean)
      .join('; or ');
  }
  if (node.const !== undefined) return code(node.const);
  if (node.type === 'array' && node.items) {
    const item = allowedOf(root, resolve(root, node.items));
    return item ? `a list of: ${item}` : '';
  }
  if (node.enum) return node.enum.map(code).join(', ');
  if (node.formatDescription) return node.formatDescription;
  if (node.minimum !== undefined && node.maximum !== undefined) return `${node.minimum} to ${node.maximum}`;
  if (node.minimum !== undefined) return `at least ${node.minimum}`;
  return '';
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1).replace(/\.$/, '');
}

function defaultOf(node: Resolved, required: boolean): string {
  if (required) return 'required';
  if (node.default === undefined) return '';
  return code(node.default);
}

/** Every field of a schema, depth first in the schema's own order. */
export function referenceRows(root: SchemaNode): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  const walk = (node: Resolved, path: string, required: boolean) => {
    if (path) {
      rows.push({
        path,
        type: typeOf(root, node),
        default: defaultOf(node, required),
        allowed: allowedOf(root, node),
        description: node.description ?? '',
      });
    }
    if (node.properties) {
      const req = new Set(node.required ?? []);
      for (const [key, child] of Object.entries(node.properties)) {
        walk(resolve(root, child), path ? `${path}.${key}` : key, req.has(key));
      }
    }
    if (node.type === 'object' && typeof node.additionalProperties === 'object') {
      const names = node.propertyNames ? (resolve(root, node.propertyNames) as Resolved) : undefined;
      const value = resolve(root, node.additionalProperties) as Resolved;
      rows.push({
        path: `${path}.<NAME>`,
        type: typeOf(root, value),
        default: '',
        allowed: value.formatDescription ?? allowedOf(root, value),
        description:
          (value.description ?? '') +
          (names?.formatDescription ? ` NAME: ${lowerFirst(names.formatDescription)}.` : ''),
      });
    }
    if (node.type === 'array' && node.items) {
      const item = resolve(root, node.items) as Resolved;
      if (item.properties) walk({ ...item, description: undefined } as Resolved, `${path}[]`, false);
    }
  };
  const top = resolve(root, root);
  // The top level is the file itself: it has no row of its own.
  walk({ ...top, description: undefined } as Resolved, '', false);
  return rows.filter((r) => r.path !== '' && !(r.path.endsWith('[]') && r.description === ''));
}

/**
 * Escapes what Markdown would not show as written in a table cell: pipes end the cell, `<name>`
 * reads as an HTML tag and `*` can start emphasis. Code spans are left as they are.
 */
export function cell(s: string): string {
  return s
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part
            .replace(/\\/g, '\\\\')
            .replace(/\|/g, '\\|')
            .replace(/</g, '\\<')
            .replace(/\*/g, '\\*')
            .replace(/\n/g, ' '),
    )
    .join('')
    .trim();
}

/** A Markdown table laid out the way prettier lays it out, so the README stays prettier-clean. */
export function markdownTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows].map((r) => r.map(cell));
  const widths = header.map((_, i) => Math.max(3, ...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(all[0]!),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...all.slice(1).map(line),
  ].join('\n');
}

export interface SchemaDoc {
  /** The file the schema describes, e.g. site.yaml (the playbook). */
  title: string;
  schemaFile: string;
  schema: SchemaNode;
}

export function renderReference(docs: readonly SchemaDoc[]): string {
  const parts: string[] = [
    '<!-- Generated from schemas/*.schema.json by `node --import tsx scripts/gen-reference.ts --write`; do not edit by hand. -->',
  ];
  for (const d of docs) {
    parts.push(`#### ${d.title}`);
    const intro = [d.schema.description, `Schema: [${d.schemaFile}](${d.schemaFile}).`].filter(Boolean);
    parts.push(intro.join(' '));
    parts.push(
      markdownTable(
        ['field', 'type', 'default', 'allowed values', 'description'],
        referenceRows(d.schema).map((r) => [code(r.path), r.type, r.default, r.allowed, r.description]),
      ),
    );
  }
  return parts.join('\n\n');
}

/** The text between the markers, without the surrounding newlines. */
export function extractBlock(readme: string): string {
  const a = readme.indexOf(BLOCK_START);
  const b = readme.indexOf(BLOCK_END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${BLOCK_START} … ${BLOCK_END} markers`);
  return readme.slice(a + BLOCK_START.length, b).trim();
}

/** README.md with the block between the markers replaced by `block` (and nothing else touched). */
export function replaceBlock(readme: string, block: string): string {
  const a = readme.indexOf(BLOCK_START);
  const b = readme.indexOf(BLOCK_END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${BLOCK_START} … ${BLOCK_END} markers`);
  return `${readme.slice(0, a + BLOCK_START.length)}\n\n${block}\n\n${readme.slice(b)}`;
}
