// The file-format reference (docs/reference.md), generated from the JSON Schemas' own descriptions so
// the manual and the validator cannot disagree. Pure: schemas in, Markdown out; the page is written
// by scripts/gen-reference.ts and checked by test/unit/docs/reference.test.ts.

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
  const walk = (node: Resolved, path: string, required: boolean, ownRow = true) => {
    if (path && ownRow) {
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
    // A field that is a word or a mapping (registry.storage: filesystem | {s3: ...}): the mapping's
    // fields are listed under the field itself.
    for (const alt of node.anyOf ?? node.oneOf ?? []) {
      const r = resolve(root, alt) as Resolved;
      if (r.properties) walk(r, path, false, false);
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
 * Escapes what Markdown would not show as written in running text: `<name>` reads as an HTML tag,
 * `*` can start emphasis and a backslash escapes the next character. Code spans are left as they are.
 */
export function inline(s: string): string {
  return s
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part
            .replace(/\\/g, '\\\\')
            .replace(/</g, '\\<')
            .replace(/\*/g, '\\*')
            .replace(/\s*\n\s*/g, ' '),
    )
    .join('')
    .trim();
}

function sentence(s: string): string {
  const t = inline(s);
  return t === '' || /[.!?:]$/.test(t) ? t : `${t}.`;
}

/** "Allowed: an image reference …", keeping the capitals of names such as IPv4. */
function allowedText(allowed: string): string {
  const a = /^[A-Z][a-z]/.test(allowed) ? allowed.charAt(0).toLowerCase() + allowed.slice(1) : allowed;
  return `Allowed: ${sentence(a)}`;
}

/**
 * One field as Markdown: its type and default, what it means, and what it accepts; led by its path
 * unless a heading already names it.
 */
export function fieldText(r: ReferenceRow, withPath = true): string {
  const given = r.default === 'required' || r.default === '' ? r.default : `default ${r.default}`;
  const facts = [r.type, given].filter(Boolean).join(', ');
  const body = [sentence(r.description), r.allowed ? allowedText(r.allowed) : ''].filter(Boolean).join(' ');
  return withPath ? `\`${r.path}\` (${facts})${body ? `: ${body}` : ''}` : `(${facts}) ${body}`.trim();
}

export interface SchemaDoc {
  /** The file the schema describes, e.g. site.yaml (the playbook). */
  title: string;
  /** The schema's path from the repository root. */
  schemaFile: string;
  schema: SchemaNode;
}

export const GENERATED_NOTE =
  '<!-- Generated from schemas/*.schema.json by `npx tsx scripts/gen-reference.ts`; do not edit by hand. -->';

/**
 * The whole reference page. Each top-level key of a file is a heading, so a reader can link to
 * it; the fields below it are a list, which keeps long descriptions readable where a table would
 * be padded to its widest cell. `linkPrefix` leads from the page to the repository root.
 */
export function renderReference(docs: readonly SchemaDoc[], linkPrefix = '../'): string {
  const parts: string[] = [
    '# File format reference',
    GENERATED_NOTE,
    'Every field of the two files, generated from the JSON Schemas that `regbook validate` and `regbook apply` ' +
      'check the files against. For the files by example, see [file-formats.md](file-formats.md).',
  ];
  for (const d of docs) {
    parts.push(`## ${d.title}`);
    parts.push(
      [
        d.schema.description ? sentence(d.schema.description) : '',
        `Schema: [${d.schemaFile}](${linkPrefix}${d.schemaFile}).`,
      ]
        .filter(Boolean)
        .join(' '),
    );
    let list: string[] = [];
    const flush = () => {
      if (list.length > 0) parts.push(list.join('\n'));
      list = [];
    };
    for (const r of referenceRows(d.schema)) {
      if (!/[.[]/.test(r.path)) {
        flush();
        parts.push(`### \`${r.path}\``);
        parts.push(fieldText(r, false));
      } else {
        list.push(`- ${fieldText(r)}`);
      }
    }
    flush();
  }
  return parts.join('\n\n') + '\n';
}
