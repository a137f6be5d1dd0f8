/** One problem in an input file, pointing at the node that is wrong. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** Dotted field path, e.g. `images.0.name` (empty for the document itself). */
  path: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.path || '(document)'}: ${d.message}`;
}

/** Bad input (usage, YAML, schema, semantic rules): exit 1, nothing was contacted. */
export class InputError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'InputError';
  }
}

/** A usage problem that is not about a file position (missing option, unknown host in --limit). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT = {
  ok: 0,
  badInput: 1,
  taskFailed: 2,
  changesPending: 3,
  unreachable: 4,
} as const;
