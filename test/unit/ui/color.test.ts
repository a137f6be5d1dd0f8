import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { colorPalette, paletteFor, plainPalette, useColor } from '../../../src/ui/color.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('useColor', () => {
  it('FORCE_COLOR turns colour on off a terminal, and FORCE_COLOR=0 (or false) off on one', () => {
    assert.equal(useColor(pipe, { FORCE_COLOR: '1' }), true);
    assert.equal(useColor(pipe, { FORCE_COLOR: '' }), true);
    assert.equal(useColor(tty, { FORCE_COLOR: '0' }), false);
    assert.equal(useColor(tty, { FORCE_COLOR: 'false' }), false);
  });

  it('NO_COLOR turns colour off, even on a terminal and even with FORCE_COLOR', () => {
    assert.equal(useColor(tty, { NO_COLOR: '1' }), false);
    assert.equal(useColor(tty, { NO_COLOR: '' }), false);
    assert.equal(useColor(pipe, { NO_COLOR: '1', FORCE_COLOR: '1' }), false);
  });

  it('otherwise a terminal gets colour unless TERM is dumb; a pipe gets none', () => {
    assert.equal(useColor(tty, { TERM: 'xterm-256color' }), true);
    assert.equal(useColor(tty, { TERM: 'dumb' }), false);
    assert.equal(useColor(pipe, { TERM: 'xterm-256color' }), false);
    assert.equal(useColor({}, {}), false);
  });

  it('paletteFor picks the colour palette or the plain one', () => {
    assert.equal(paletteFor(pipe, { FORCE_COLOR: '1' }), colorPalette);
    assert.equal(paletteFor(tty, { NO_COLOR: '1' }), plainPalette);
    assert.equal(colorPalette.changed('changed'), '\u001b[33mchanged\u001b[39m');
    assert.equal(colorPalette.failed('failed'), '\u001b[31mfailed\u001b[39m');
    assert.equal(colorPalette.ok('ok'), '\u001b[32mok\u001b[39m');
    assert.equal(plainPalette.failed('failed'), 'failed');
  });
});
