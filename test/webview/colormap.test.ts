import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contrastRatio, paletteColor, paletteLut, parseCssColor, wordColors, luminance } from '../../webview/colormap';

test('palettes hit their matplotlib end points and rise monotonically in luminance', () => {
  assert.deepEqual(paletteColor('viridis', 0), [0x44, 0x01, 0x54]);
  assert.deepEqual(paletteColor('viridis', 1), [0xfd, 0xe7, 0x25]);
  assert.deepEqual(paletteColor('cividis', 0), [0x00, 0x22, 0x4e]);
  assert.deepEqual(paletteColor('cividis', 1), [0xfe, 0xe8, 0x38]);
  for (const name of ['viridis', 'cividis'] as const) {
    const lut = paletteLut(name);
    assert.equal(lut.length, 768);
    let prev = -1;
    for (let i = 0; i < 256; i += 5) {
      const l = luminance([lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2]]);
      assert.ok(l >= prev - 1e-3, `${name} luminance drops at ${i}`);
      prev = l;
    }
  }
});

test('paletteColor clamps and maps NaN to the low end', () => {
  assert.deepEqual(paletteColor('viridis', -3), paletteColor('viridis', 0));
  assert.deepEqual(paletteColor('viridis', 7), paletteColor('viridis', 1));
  assert.deepEqual(paletteColor('viridis', Number.NaN), paletteColor('viridis', 0));
});

test('parseCssColor reads computed-style forms', () => {
  assert.deepEqual(parseCssColor('rgb(24, 24, 24)'), [24, 24, 24]);
  assert.deepEqual(parseCssColor(' rgba(1, 2, 3, 0.5)'), [1, 2, 3]);
  assert.deepEqual(parseCssColor('#1f1f1f'), [31, 31, 31]);
  assert.equal(parseCssColor(''), undefined);
});

test('word colours keep text readable (>= 4.5:1) on light, dark and black themes', () => {
  for (const bg of [[255, 255, 255], [248, 248, 248], [24, 24, 24], [0, 0, 0]] as const) {
    for (const name of ['viridis', 'cividis'] as const) {
      for (let t = 0; t <= 1.0001; t += 0.05) {
        const c = wordColors(name, t, [...bg]);
        const fg = parseCssColor(c.fg)!;
        assert.ok(contrastRatio(fg, c.composite) >= 4.5, `${name} t=${t.toFixed(2)} on ${bg}: ${contrastRatio(fg, c.composite).toFixed(2)}`);
      }
    }
  }
  // Dark text on a bright high-importance tint, light text on the dark low end over black.
  assert.equal(wordColors('viridis', 1, [24, 24, 24]).fg, 'rgb(0, 0, 0)');
  assert.equal(wordColors('viridis', 0, [0, 0, 0]).fg, 'rgb(255, 255, 255)');
});
