// Turns ajv's errors into diagnostics in plain words, each pointing at the right node: an unknown
// key at that key, a bad value at the value, a missing key at the mapping that lacks it.
import type { ErrorObject } from 'ajv';
import type { Diagnostic } from '../core/errors.js';
import { dottedPath, pointerToPath, positionOf, type PositionSource, type Segment } from './positions.js';

/** What a value of each patterned $defs entry must look like, completing "must be …". */
const FORMAT_WORDS: Record<string, string> = {
  hostName:
    'a host name: lowercase letters, digits and -, at most 63 characters, not starting or ending with -',
  user: 'a user name: letters, digits, _ . -, at most 32 characters',
  localPath: 'a file path without NUL or line breaks',
  remotePath: 'an absolute path (starting with /) without NUL or line breaks',
  sshAddress: 'an IP address or a DNS name',
  registryAddress:
    'host[:port] such as master:5000 (a DNS name, an IPv4 address or an [IPv6] address, port 1-65535)',
  containerName: 'a container name: letters, digits, _ . -, starting with a letter or digit',
  imageName:
    'an image name such as app:0.1: lowercase letters and digits separated by . _ - and /, then an optional :tag',
  imageReference: 'an image reference such as registry:2 or docker.io/library/app:0.1',
  subjectAltName: 'DNS:<host name>, DNS:*.<domain> or IP:<IPv4 or IPv6 address>',
  registryEnvName: 'a registry setting name: REGISTRY_ then capital letters, digits and _',
  registryEnvValue: 'text without NUL bytes',
  envReference:
    'a reference to an environment variable such as ${env:NAME} (secrets are never written in the file)',
  htpasswdUser: 'a user name: letters, digits, _ . @ -, at most 64 characters',
  commonName: 'printable text of 1 to 64 characters',
  s3Endpoint: 'a URL such as https://s3.example.com or http://10.0.0.5:7480 (scheme, host, optional port)',
  s3Bucket:
    'a bucket name: 3 to 63 lowercase letters, digits, . and -, starting and ending with a letter or digit',
  s3Region: 'a region name such as us-east-1: letters, digits, . _ -',
};

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping (key: value lines)',
  array: 'a list',
  string: 'text',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  null: 'empty',
};

function typeWords(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  return types.map((t) => TYPE_WORDS[String(t)] ?? String(t)).join(' or ');
}

/** Paths whose values are never echoed in a message. */
function isSecretPath(path: readonly Segment[]): boolean {
  return path.some((s) => /password|secretkey|accesskey/i.test(String(s)));
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    // Control characters (a stray NUL or newline) are shown escaped, not printed.
    const escaped = [...shown]
      .map((c) => {
        const code = c.charCodeAt(0);
        return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : c;
      })
      .join('');
    return `'${escaped}'`;
  }
  return String(value);
}

function got(path: readonly Segment[], value: unknown): string {
  return isSecretPath(path) ? '' : ` (got ${describeValue(value)})`;
}

/** The $defs entry an error came from, e.g. `imageName` for `#/$defs/imageName/pattern`. */
function defName(schemaPath: string): string | undefined {
  return /\$defs\/([^/]+)\/[^/]+$/.exec(schemaPath)?.[1];
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function unknownKeyMessage(key: string, known: string[]): string {
  const close = known
    .map((k) => ({ k, d: levenshtein(key.toLowerCase(), k.toLowerCase()) }))
    .filter(({ d }) => d <= 2)
    .sort((x, y) => x.d - y.d)[0];
  if (close) return `unknown key '${key}' (did you mean '${close.k}'?)`;
  return known.length > 0 ? `unknown key '${key}' (known keys: ${known.join(', ')})` : `unknown key '${key}'`;
}

interface Schemaish {
  properties?: Record<string, unknown>;
  minimum?: number;
  maximum?: number;
  anyOf?: Schemaish[];
  enum?: unknown[];
  type?: unknown;
}

function anyOfMessage(parentSchema: Schemaish): string {
  const options: string[] = [];
  for (const branch of parentSchema.anyOf ?? []) {
    if (branch.enum) options.push(...branch.enum.map(String));
    else if (branch.type === 'array') options.push('a list of host names');
    else if (branch.type) options.push(typeWords(branch.type));
  }
  if (options.length <= 1) return `must be ${options.join('')}`;
  return `must be ${options.slice(0, -1).join(', ')} or ${options[options.length - 1]}`;
}

function messageFor(e: ErrorObject, path: readonly Segment[]): string {
  const parent = (e.parentSchema ?? {}) as Schemaish;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
      return `must be ${typeWords(p.type)}, not ${isSecretPath(path) ? 'this' : describeValue(e.data)}`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map(String).join(', ')}${got(path, e.data)}`;
    case 'const':
      return `must be ${String(p.allowedValue)}${got(path, e.data)}`;
    case 'pattern': {
      const words = FORMAT_WORDS[defName(e.schemaPath) ?? ''];
      return `must be ${words ?? 'in the expected format'}${got(path, e.data)}`;
    }
    case 'minimum':
    case 'maximum':
      if (parent.minimum !== undefined && parent.maximum !== undefined) {
        return `must be between ${parent.minimum} and ${parent.maximum}${got(path, e.data)}`;
      }
      return `must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(p.limit)}${got(path, e.data)}`;
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters long`;
    case 'minItems':
      return `must list at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`;
    case 'maxItems':
      return `must list at most ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`;
    case 'uniqueItems':
      // ajv names the two equal items i and j, in no promised order.
      return `repeats item ${Math.min(Number(p.i), Number(p.j))}${got(path, Array.isArray(e.data) ? e.data[Number(p.i)] : undefined)}`;
    case 'minProperties':
    case 'maxProperties': {
      const keys = Object.keys(parent.properties ?? {});
      return `must set exactly one of ${keys.join(', ')}`;
    }
    case 'anyOf':
      return `${anyOfMessage(parent)}${got(path, e.data)}`;
    default:
      return e.message ?? `is not valid (${e.keyword})`;
  }
}

/**
 * Errors inside an anyOf: when the value matched a branch's type and failed deeper down (a bad
 * name inside a list), those deeper errors are what the user needs; otherwise one summary line.
 */
function collapseAnyOf(errors: ErrorObject[]): ErrorObject[] {
  const drop = new Set<ErrorObject>();
  for (const group of errors.filter((e) => e.keyword === 'anyOf')) {
    const sameLevel = errors.filter(
      (e) => e.schemaPath.startsWith(`${group.schemaPath}/`) && e.instancePath === group.instancePath,
    );
    // Deeper errors may come through a $ref, so they are found by instance path, not schema path.
    const deeper = errors.some((e) => e.instancePath.startsWith(`${group.instancePath}/`));
    for (const m of sameLevel) drop.add(m);
    if (deeper) drop.add(group);
  }
  return errors.filter((e) => !drop.has(e));
}

export function diagnosticsFromAjv(src: PositionSource, errors: ErrorObject[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const add = (path: Segment[], at: 'key' | 'value', message: string, where: Segment[] = path) => {
    const { line, col } = positionOf(src, where, at);
    out.push({ file: src.file, line, col, path: dottedPath(path), message });
  };
  const remaining = collapseAnyOf(errors).filter((e) => e.keyword !== 'if');
  // The errors propertyNames wraps (e.g. a pattern) carry the key as their data; report them once,
  // at the key.
  const nameErrors = new Set<ErrorObject>();
  for (const e of remaining) {
    if (e.keyword !== 'propertyNames') continue;
    const key = String((e.params as { propertyName: string }).propertyName);
    const inner = remaining.find(
      (x) => x !== e && x.instancePath === e.instancePath && x.data === key && !nameErrors.has(x),
    );
    if (inner) nameErrors.add(inner);
    const path = [...pointerToPath(e.instancePath), key];
    const words = inner ? messageFor(inner, path).replace(/ \(got .*\)$/, '') : 'is not an allowed key';
    add(path, 'key', `key '${key}' ${words}`);
  }
  for (const e of remaining) {
    if (e.keyword === 'propertyNames' || nameErrors.has(e)) continue;
    const base = pointerToPath(e.instancePath);
    if (e.keyword === 'additionalProperties') {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const known = Object.keys((e.parentSchema as Schemaish | undefined)?.properties ?? {});
      add([...base, key], 'key', unknownKeyMessage(key, known));
    } else if (e.keyword === 'required') {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      const unlessLocal = e.schemaPath.endsWith('/else/required')
        ? ' (every host needs one unless connection: local)'
        : '';
      add([...base, key], 'value', `required key is missing${unlessLocal}`, base);
    } else if (e.keyword === 'uniqueItems') {
      const { i, j } = e.params as { i: number; j: number };
      add([...base, Math.max(i, j)], 'value', messageFor(e, base));
    } else {
      add(base, 'value', messageFor(e, base));
    }
  }
  return sortDiagnostics(out);
}

/** One file's diagnostics in file order; identical diagnostics once. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return [...list]
    .sort((a, b) => a.line - b.line || a.col - b.col || a.path.localeCompare(b.path))
    .filter((d) => {
      const key = `${d.file}:${d.line}:${d.col}:${d.path}:${d.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}
