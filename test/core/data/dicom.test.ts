import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { DataError } from '../../../src/core/errors';
import { decodeImage } from '../../../src/core/data/image-io';
import { looksLikeDicom } from '../../../src/core/data/dicom';
import { buildDicom } from './dicom-writer';

function close(actual: Float32Array, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `pixel ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

async function rejectsData(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected DataError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('detection: DICM magic at 128 or a .dcm name', () => {
  const dcm = buildDicom({ rows: 1, cols: 1, pixels: [0] });
  assert.equal(looksLikeDicom(dcm), true);
  assert.equal(looksLikeDicom(new Uint8Array(200)), false);
  assert.equal(looksLikeDicom(new Uint8Array(10), 'a/b/IMG.DCM'), true);
});

test('16-bit MONOCHROME2 without window is min-max scaled', async () => {
  const img = await decodeImage(buildDicom({ rows: 2, cols: 2, pixels: [0, 100, 200, 400] }), 'm2.dcm');
  assert.equal(img.width, 2);
  assert.equal(img.height, 2);
  close(img.data, [0, 0.25, 0.5, 1]);
});

test('MONOCHROME1 is inverted', async () => {
  const img = await decodeImage(buildDicom({ rows: 2, cols: 2, photometric: 'MONOCHROME1', pixels: [0, 100, 200, 400] }));
  close(img.data, [1, 0.75, 0.5, 0]);
});

test('rescale slope/intercept then the first of multi-valued window centre/width', async () => {
  // HU = 2 * stored - 1024; window c=0, w=101: lo = -50.5, hi = 49.5, y = (x + 0.5) / 100 + 0.5.
  const img = await decodeImage(buildDicom({
    rows: 1, cols: 4, pixels: [512, 487, 400, 600],
    rescaleSlope: '2', rescaleIntercept: '-1024', windowCenter: '0\\40', windowWidth: '101\\400',
  }));
  close(img.data, [0.505, 0.005, 0, 1], 1e-5);
});

test('rows x cols layout is row-major', async () => {
  const img = await decodeImage(buildDicom({ rows: 2, cols: 3, pixels: [0, 1, 2, 3, 4, 5] }));
  assert.equal(img.width, 3);
  assert.equal(img.height, 2);
  close(img.data, [0, 0.2, 0.4, 0.6, 0.8, 1]);
});

test('signed 16-bit pixels (PixelRepresentation 1)', async () => {
  const img = await decodeImage(buildDicom({ rows: 1, cols: 4, pixelRepresentation: 1, pixels: [-1000, 0, 1000, 3000] }));
  close(img.data, [0, 0.25, 0.5, 1]);
});

test('BitsStored 12: high bits are masked, signed values sign-extended at bit 11', async () => {
  const unsigned = await decodeImage(buildDicom({ rows: 1, cols: 3, bitsStored: 12, pixels: [0xf000, 0xf000 | 100, 200] }));
  close(unsigned.data, [0, 0.5, 1]);
  // 0xfff = -1 and 0x800 = -2048 in 12-bit two's complement.
  const signed = await decodeImage(buildDicom({
    rows: 1, cols: 3, bitsStored: 12, pixelRepresentation: 1, pixels: [0x800, 0xfff, 2047],
  }));
  close(signed.data, [0, 2047 / 4095, 1], 1e-6);
});

test('8-bit pixels with a window', async () => {
  const img = await decodeImage(buildDicom({
    rows: 2, cols: 2, bitsAllocated: 8, pixels: [0, 64, 128, 255], windowCenter: '128', windowWidth: '256',
  }));
  close(img.data, [0, (64 - 127.5) / 255 + 0.5, (128 - 127.5) / 255 + 0.5, 1], 1e-6);
});

test('a bare implicit-VR data set named .dcm is read with the default syntax', async () => {
  const img = await decodeImage(buildDicom({ rows: 1, cols: 2, implicit: true, pixels: [10, 20] }), 'bare.dcm');
  close(img.data, [0, 1]);
});

test('baseline JPEG (1.2.840.10008.1.2.4.50) frames are decoded', async () => {
  const w = 16;
  const h = 8;
  const grey = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) grey[y * w + x] = x * 16;
  const jpeg = await sharp(grey, { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').jpeg({ quality: 100 }).toBuffer();
  const img = await decodeImage(buildDicom({
    rows: h, cols: w, bitsAllocated: 8, fragments: [jpeg], transferSyntax: '1.2.840.10008.1.2.4.50',
    windowCenter: '128', windowWidth: '256',
  }), 'jpeg.dcm');
  assert.equal(img.width, w);
  for (let x = 0; x < w; x++) {
    const expected = (x * 16 - 127.5) / 255 + 0.5;
    assert.ok(Math.abs(img.data[3 * w + x] - expected) < 0.03, `x=${x}: ${img.data[3 * w + x]} vs ${expected}`);
  }
});

test('compressed transfer syntaxes are refused by name', async () => {
  const bytes = buildDicom({ rows: 1, cols: 1, pixels: [0], transferSyntax: '1.2.840.10008.1.2.4.90' });
  await rejectsData(decodeImage(bytes, 'j2k.dcm'), /j2k\.dcm: compressed DICOM transfer syntax 1\.2\.840\.10008\.1\.2\.4\.90 .*not supported/);
});

test('a DICOM without PixelData is a DataError', async () => {
  await rejectsData(decodeImage(buildDicom({ rows: 2, cols: 2 }), 'empty.dcm'), /empty\.dcm: .*no PixelData/);
});

test('truncated pixel data is a DataError naming the file', async () => {
  const full = buildDicom({ rows: 16, cols: 16, pixels: new Array<number>(256).fill(7) });
  await rejectsData(decodeImage(full.subarray(0, full.length - 100), 'cut.dcm'), /cut\.dcm: .*(truncated|past end|buffer)/i);
});

test('missing Rows is a DataError naming the field', async () => {
  const bytes = buildDicom({ rows: 0, cols: 2, pixels: [1, 2] });
  await rejectsData(decodeImage(bytes, 'norows.dcm'), /norows\.dcm: .*Rows/);
});

test('random bytes named .dcm are a DataError, not a crash', async () => {
  const junk = new Uint8Array(300);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
  await rejectsData(decodeImage(junk, 'junk.dcm'), /junk\.dcm/);
});

test('PixelData shorter than Rows x Columns is a DataError with the byte counts', async () => {
  const bytes = buildDicom({ rows: 16, cols: 16, pixels: [1, 2, 3, 4] });
  await rejectsData(decodeImage(bytes, 'short.dcm'), /short\.dcm: truncated PixelData: 8 bytes present, 512 needed/);
});
