// Reads one YAML input file into plain data plus the document it came from (for positions).
// Everything that makes a file unreadable becomes a Diagnostic: bytes that are not UTF-8, YAML
// syntax errors, tabs as indentation, duplicate keys, unknown tags, several documents, an empty
// file, and alias expansion beyond a small bound (a "billion laughs" file fails in milliseconds).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type YAMLError,
} from 'yaml';
import type { Diagnostic } from '../core/errors.js';
import { dottedPath, eachNode, pathAtOffset, positionOf, type PositionSource } from './positions.js';

/**
 * The largest playbook or inventory read: far above any real one (a thousand hosts take ~100 KiB),
 * and small enough that validating it stays quick (bench/validate-size.ts times it).
 */
export const MAX_INPUT_BYTES = 1024 * 1024;

/** No real playbook needs more alias expansions than this; a YAML bomb needs far more. */
export const MAX_ALIAS_COUNT = 100;

export interface YamlSource extends PositionSource {
  /** The document as plain JSON-like data. */
  data: unknown;
}

export type ReadResult = { ok: true; source: YamlSource } | { ok: false; diagnostics: Diagnostic[] };

function fileDiagnostic(file: string, message: string, line = 1, col = 1): Diagnostic {
  return { file, line, col, path: '', message };
}

/** Byte offset of the first byte that is not part of valid UTF-8, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return -1;
  } catch {
    // Fall through to find where: the decoder does not say.
  }
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    // Continuation count and the allowed range of the second byte (excludes overlong forms,
    // UTF-16 surrogates and code points above U+10FFFF), per RFC 3629.
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += n + 1;
  }
  return -1;
}

/** Line and column (1-based, in characters) of a byte offset in valid UTF-8 text before it. */
function bytePosition(bytes: Uint8Array, offset: number): { line: number; col: number } {
  const before = new TextDecoder('utf-8').decode(bytes.subarray(0, offset));
  const lines = before.split('\n');
  return { line: lines.length, col: [...lines[lines.length - 1]!].length + 1 };
}

function yamlErrorDiagnostic(src: PositionSource, err: YAMLError): Diagnostic {
  const { line, col } = src.lineCounter.linePos(err.pos[0]);
  return {
    file: src.file,
    line,
    col,
    path: dottedPath(pathAtOffset(src, err.pos[0])),
    message: plainYamlMessage(err),
  };
}

function plainYamlMessage(err: YAMLError): string {
  switch (err.code) {
    case 'TAB_AS_INDENT':
      return 'tab used for indentation (YAML indents with spaces only)';
    case 'MULTIPLE_DOCS':
      return 'more than one YAML document (remove the extra ---)';
    case 'TAG_RESOLVE_FAILED':
      return `unsupported tag (${err.message.replace(/^Unresolved tag: /, '')}); plain YAML values only`;
    default:
      return `YAML syntax error: ${err.message.split('\n')[0]}`;
  }
}

const DUPLICATE_KEY_MESSAGE = 'duplicate key (each key may appear once in a mapping)';

/**
 * Offsets of the keys that repeat an earlier key of the same mapping, by yaml's own rule for
 * `uniqueKeys` (scalar keys with the same value: `1` and `1.0`, `~` and `null` are the same key;
 * keys that are collections or aliases never are), with a set per mapping instead of yaml's scan
 * of the pairs before each key.
 */
function duplicateKeyOffsets(doc: Document): number[] {
  const out: number[] = [];
  eachNode(doc.contents, (node) => {
    if (!isMap(node) || node.items.length < 2) return;
    const seen = new Set<unknown>();
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue;
      const value: unknown = pair.key.value;
      // yaml compares with ===, under which NaN is never equal to itself; a Set's rule is not.
      if (typeof value === 'number' && Number.isNaN(value)) continue;
      if (seen.has(value)) out.push(pair.key.range?.[0] ?? 0);
      else seen.add(value);
    }
  });
  return out;
}

/**
 * Every alias whose anchor does not come before it, in one pass in document order (the order in
 * which yaml resolves an alias to the last anchor of its name before it). Resolving each alias
 * with Alias.resolve would walk the whole document once per alias.
 */
function unresolvedAliases(doc: Document): { source: string; offset: number }[] {
  const anchors = new Set<string>();
  const out: { source: string; offset: number }[] = [];
  eachNode(doc.contents, (node) => {
    if (isAlias(node)) {
      if (!anchors.has(node.source)) out.push({ source: node.source, offset: node.range?.[0] ?? 0 });
    } else if ((isScalar(node) || isMap(node) || isSeq(node)) && node.anchor) {
      anchors.add(node.anchor);
    }
  });
  return out;
}

/** Parses YAML text; `file` is used only in diagnostics. */
export function parseYamlText(file: string, text: string): ReadResult {
  const lineCounter = new LineCounter();
  // uniqueKeys is off because yaml checks each key against every earlier key of its mapping, n²
  // on a mapping of many keys; duplicateKeyOffsets applies the same rule in one pass.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, strict: true, prettyErrors: false });
  const src: PositionSource = { file, doc, lineCounter };
  const problems = [...doc.errors, ...doc.warnings].map((e) => yamlErrorDiagnostic(src, e));
  for (const offset of duplicateKeyOffsets(doc)) {
    const { line, col } = lineCounter.linePos(offset);
    problems.push({
      file,
      line,
      col,
      path: dottedPath(pathAtOffset(src, offset)),
      message: DUPLICATE_KEY_MESSAGE,
    });
  }
  if (problems.length > 0) return { ok: false, diagnostics: problems };
  if (doc.contents === null) {
    return {
      ok: false,
      diagnostics: [fileDiagnostic(file, 'the file is empty (expected a mapping of settings)')],
    };
  }
  // An alias is spelt *name: without a * in the text there is none to check.
  const unresolved = text.includes('*')
    ? unresolvedAliases(doc).map(({ source, offset }): Diagnostic => {
        const { line, col } = lineCounter.linePos(offset);
        return { file, line, col, path: '', message: `alias *${source} has no anchor &${source} before it` };
      })
    : [];
  if (unresolved.length > 0) return { ok: false, diagnostics: unresolved };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const where = positionOf(src, []);
    const message = /alias count/i.test(String(err))
      ? `aliases expand too much (more than ${MAX_ALIAS_COUNT} copies); refusing a possible YAML bomb`
      : `cannot read the YAML: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, diagnostics: [fileDiagnostic(file, message, where.line, where.col)] };
  }
  return { ok: true, source: { ...src, data } };
}

/** Reads and parses a YAML file; never throws for bad content, only returns diagnostics. */
export function readYamlFile(file: string): ReadResult {
  let bytes: Buffer;
  try {
    bytes = readBounded(file, MAX_INPUT_BYTES);
  } catch (err) {
    if (err instanceof TooLarge) {
      return {
        ok: false,
        diagnostics: [
          fileDiagnostic(
            file,
            `the file is ${err.size === undefined ? 'larger than 1 MiB' : `${sizeText(err.size)} (${err.size} bytes)`}; ` +
              `the limit is 1 MiB (${MAX_INPUT_BYTES} bytes), so it was not parsed`,
          ),
        ],
      };
    }
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(err);
    return { ok: false, diagnostics: [fileDiagnostic(file, `cannot read the file: ${why}`)] };
  }
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const { line, col } = bytePosition(bytes, bad);
    const hex = bytes[bad]!.toString(16).padStart(2, '0');
    return {
      ok: false,
      diagnostics: [fileDiagnostic(file, `not UTF-8 text (byte 0x${hex} at offset ${bad})`, line, col)],
    };
  }
  // TextDecoder drops a leading byte order mark.
  return parseYamlText(file, new TextDecoder('utf-8').decode(bytes));
}

class TooLarge extends Error {
  constructor(readonly size: number | undefined) {
    super('input too large');
  }
}

function sizeText(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * The file's bytes, refused (TooLarge) beyond `limit` before anything is parsed. The size is
 * checked while reading, not only with stat, so a pipe or a file that grows cannot slip past it.
 */
function readBounded(file: string, limit: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (st.isFile() && st.size > limit) throw new TooLarge(st.size);
    const buf = Buffer.alloc(limit + 1);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, total, buf.length - total, null);
      if (n === 0) break;
      total += n;
      if (total > limit) throw new TooLarge(st.isFile() ? Math.max(st.size, total) : undefined);
    }
    return buf.subarray(0, total);
  } finally {
    closeSync(fd);
  }
}
