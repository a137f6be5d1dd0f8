// Colours of the terminal output: one palette, on or off. The conventions are Ansible's: green ok,
// yellow changed, red failed, cyan skipped, magenta unreachable.

type Paint = (s: string) => string;

export interface Palette {
  ok: Paint;
  changed: Paint;
  failed: Paint;
  skipped: Paint;
  unreachable: Paint;
  interrupted: Paint;
  dim: Paint;
  bold: Paint;
}

const sgr =
  (open: number, close: number): Paint =>
  (s) =>
    s === '' ? s : `\u001b[${open}m${s}\u001b[${close}m`;

export const colorPalette: Palette = {
  ok: sgr(32, 39),
  changed: sgr(33, 39),
  failed: sgr(31, 39),
  skipped: sgr(36, 39),
  unreachable: sgr(35, 39),
  interrupted: sgr(31, 39),
  dim: sgr(2, 22),
  bold: sgr(1, 22),
};

const same: Paint = (s) => s;
export const plainPalette: Palette = {
  ok: same,
  changed: same,
  failed: same,
  skipped: same,
  unreachable: same,
  interrupted: same,
  dim: same,
  bold: same,
};

/**
 * Whether to colour a stream, decided as listr2's colour library (colorette) decides it, so the
 * tree's own symbols and regbook's words agree: NO_COLOR (https://no-color.org) turns colour off,
 * FORCE_COLOR turns it on off a terminal, otherwise a terminal that is not `dumb` gets colour.
 */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if ('NO_COLOR' in env) return false;
  if ('FORCE_COLOR' in env) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function paletteFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Palette {
  return useColor(stream, env) ? colorPalette : plainPalette;
}
