// Reads one YAML input file into plain data plus the document it came from (for positions).
// Everything that makes a file unreadable becomes a Diagnostic: bytes that are not UTF-8, YAML
// syntax errors, tabs as indentation, duplicate keys, unknown tags, several documents, an empty
// file, and alias expansion beyond a small bound (a "billion laughs" file fails in milliseconds).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { constructFromEvents, parseEvents, YAMLException, type Event } from 'js-yaml';
import type { Diagnostic } from '../core/errors.js';
import { dottedPath, LineIndex, pathAtOffset, type PositionSource } from './positions.js';
import { nodesFromEvents, type YamlNode } from './yaml-nodes.js';

/**
 * The largest playbook or inventory read: far above any real one (a thousand hosts take ~100 KiB),
 * and small enough that validating it stays quick (bench/validate-size.ts times it).
 */
export const MAX_INPUT_BYTES = 1024 * 1024;

/** No real playbook's aliases add more values than this once expanded; a YAML bomb adds far more. */
export const MAX_ALIAS_NODES = 10_000;

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

/** A js-yaml error in plain words, at its offset. */
function yamlErrorDiagnostic(
  file: string,
  lines: LineIndex,
  root: YamlNode | null,
  err: YAMLException,
): Diagnostic {
  const offset = err.mark?.position ?? 0;
  const { line, col } = lines.position(offset);
  return {
    file,
    line,
    col,
    path: dottedPath(pathAtOffset({ file, root, lines }, offset)),
    message: plainYamlMessage(err.reason),
  };
}

function plainYamlMessage(reason: string): string {
  if (/tab characters/.test(reason)) return 'tab used for indentation (YAML indents with spaces only)';
  if (/duplicated mapping key/.test(reason)) return 'duplicate key (each key may appear once in a mapping)';
  const tag = /unknown \w+ tag !<(.*)>/.exec(reason);
  if (tag) {
    const name = tag[1]!.replace(/^tag:yaml\.org,2002:/, '!!');
    return `unsupported tag (${name}); plain YAML values only`;
  }
  return `YAML syntax error: ${reason}`;
}

/** Where the `---` that starts the document holding `offset` is (its content's start without one). */
function documentMarkerBefore(text: string, offset: number): number {
  for (let i = text.lastIndexOf('---', offset); i >= 0; i = text.lastIndexOf('---', i - 1)) {
    if (i === 0 || text[i - 1] === '\n') return i;
  }
  return offset;
}

/** Parses YAML text; `file` is used only in diagnostics. */
export function parseYamlText(file: string, text: string): ReadResult {
  const lines = new LineIndex(text);
  // One parse into events with the offset of every node: js-yaml's constructor makes the data from
  // them, and nodesFromEvents the tree that says where each value was written.
  let events: Event[];
  try {
    events = parseEvents(text, { filename: file });
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    return { ok: false, diagnostics: [yamlErrorDiagnostic(file, lines, null, err)] };
  }
  const tree = nodesFromEvents(events, text);
  if (tree.documents.length > 1) {
    const second = tree.documents[1]!.root;
    const { line, col } = lines.position(documentMarkerBefore(text, second?.start ?? text.length));
    return {
      ok: false,
      diagnostics: [fileDiagnostic(file, 'more than one YAML document (remove the extra ---)', line, col)],
    };
  }
  const root = tree.documents[0]?.root ?? null;
  if (root === null || (root.kind === 'scalar' && root.empty)) {
    return {
      ok: false,
      diagnostics: [fileDiagnostic(file, 'the file is empty (expected a mapping of settings)')],
    };
  }
  if (tree.unresolved.length > 0) {
    return {
      ok: false,
      diagnostics: tree.unresolved.map(({ name, start }): Diagnostic => {
        const { line, col } = lines.position(start);
        return { file, line, col, path: '', message: `alias *${name} has no anchor &${name} before it` };
      }),
    };
  }
  // js-yaml shares one object among an anchor's aliases; the schema check and the rules would still
  // walk every copy, so a file whose aliases multiply its data is refused before anything walks it.
  if (tree.aliasNodes > MAX_ALIAS_NODES) {
    return {
      ok: false,
      diagnostics: [
        fileDiagnostic(
          file,
          `aliases expand too much (to more than ${MAX_ALIAS_NODES} values); refusing a possible YAML bomb`,
        ),
      ],
    };
  }
  let data: unknown;
  try {
    [data] = constructFromEvents(events, { source: text, filename: file });
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    return { ok: false, diagnostics: [yamlErrorDiagnostic(file, lines, root, err)] };
  }
  return { ok: true, source: { file, root, lines, data } };
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
