import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { DataError } from '../../../src/core/errors';
import {
  decodeImage, decodeImageFile, encodePng, normalize, padPlacement, resize, resizeAndPad, type GreyImage,
} from '../../../src/core/data/image-io';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const realDir = path.resolve(repoRoot, '..', 'shared', 'data', 'real-cxr');

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

function raw(data: Uint8Array | Uint16Array, width: number, height: number, channels: 1 | 2 | 3 | 4): Sharp {
  return sharp(data, { raw: { width, height, channels } });
}

async function rejectsData(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected DataError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

test('8-bit grey PNG decodes exactly', async () => {
  const png = await raw(new Uint8Array([0, 51, 102, 255, 1, 254]), 3, 2, 1).toColourspace('b-w').png().toBuffer();
  const img = await decodeImage(png, 'grey.png');
  assert.equal(img.width, 3);
  assert.equal(img.height, 2);
  close(img.data, [0, 51, 102, 255, 1, 254].map((v) => v / 255));
});

test('RGB and RGBA PNG use BT.601 luma, alpha ignored', async () => {
  const px = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
  const expected = [luma(255, 0, 0), luma(0, 255, 0), luma(0, 0, 255), luma(10, 20, 30)].map((v) => v / 255);
  const rgb = await raw(new Uint8Array(px), 2, 2, 3).png().toBuffer();
  close((await decodeImage(rgb)).data, expected, 1e-6);
  const rgbaPx = [255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 128, 10, 20, 30, 7];
  const rgba = await raw(new Uint8Array(rgbaPx), 2, 2, 4).png().toBuffer();
  close((await decodeImage(rgba)).data, expected, 1e-6);
});

test('grey + alpha PNG keeps the grey channel', async () => {
  const ga = await raw(new Uint8Array([0, 255, 50, 0, 100, 128, 200, 10]), 2, 2, 2).png().toBuffer();
  close((await decodeImage(ga)).data, [0, 50, 100, 200].map((v) => v / 255));
});

test('palette PNG expands through its palette', async () => {
  const px = [200, 0, 0, 0, 0, 200, 200, 0, 0, 0, 0, 200];
  const pal = await raw(new Uint8Array(px), 2, 2, 3).png({ palette: true, colours: 4, dither: 0 }).toBuffer();
  const meta = await sharp(pal).metadata();
  assert.equal(meta.isPalette, true);
  close((await decodeImage(pal)).data, [luma(200, 0, 0), luma(0, 0, 200), luma(200, 0, 0), luma(0, 0, 200)].map((v) => v / 255), 2 / 255);
});

test('16-bit grey PNG keeps 16-bit precision', async () => {
  const vals = [0, 1000, 40000, 65535];
  const png = await raw(new Uint16Array(vals), 2, 2, 1).toColourspace('grey16').png().toBuffer();
  assert.equal((await sharp(png).metadata()).depth, 'ushort');
  // 1000/65535 is not a multiple of 1/255: an 8-bit round trip would miss by > 1e-3.
  close((await decodeImage(png, 'g16.png')).data, vals.map((v) => v / 65535), 1e-6);
});

test('16-bit RGB PNG uses luma at 16 bits', async () => {
  const px = [65535, 0, 0, 1000, 2000, 3000];
  const png = await raw(new Uint16Array(px), 2, 1, 3).toColourspace('rgb16').png().toBuffer();
  close((await decodeImage(png)).data, [luma(65535, 0, 0) / 65535, luma(1000, 2000, 3000) / 65535], 1e-6);
});

test('grey and colour JPEG decode close to their source', async () => {
  const w = 16;
  const grey = new Uint8Array(w * w);
  for (let i = 0; i < grey.length; i++) grey[i] = (i % w) * 16;
  const jpg = await raw(grey, w, w, 1).toColourspace('b-w').jpeg({ quality: 100 }).toBuffer();
  const img = await decodeImage(jpg, 'g.jpg');
  for (let i = 0; i < grey.length; i++) assert.ok(Math.abs(img.data[i] - grey[i] / 255) < 3 / 255, `grey ${i}`);
  const rgb = new Uint8Array(w * w * 3);
  for (let i = 0; i < w * w; i++) rgb.set([(i % w) * 16, (i % w) * 16, (i % w) * 16], i * 3);
  const cjpg = await raw(rgb, w, w, 3).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
  const cimg = await decodeImage(cjpg, 'c.jpg');
  for (let i = 0; i < grey.length; i++) assert.ok(Math.abs(cimg.data[i] - grey[i] / 255) < 3 / 255, `colour ${i}`);
});

test('truncated PNG, random bytes and empty input are DataErrors naming the file', async () => {
  const png = await raw(new Uint8Array(64 * 64).fill(90), 64, 64, 1).png({ compressionLevel: 0 }).toBuffer();
  await rejectsData(decodeImage(png.subarray(0, png.length >> 1), 'half.png'), /^half\.png: cannot decode image/);
  const junk = new Uint8Array(500);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 97 + 13) & 0xff;
  await rejectsData(decodeImage(junk, 'junk.jpg'), /^junk\.jpg: cannot decode image/);
  await rejectsData(decodeImage(new Uint8Array(0), 'empty.png'), /^empty\.png: empty file/);
});

test('decodeImageFile reads files and names a missing one', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-imgio-'));
  try {
    const file = path.join(dir, 'a.png');
    fs.writeFileSync(file, await encodePng({ width: 2, height: 1, data: new Float32Array([0, 1]) }));
    close((await decodeImageFile(file)).data, [0, 1]);
    const missing = path.join(dir, 'nope.png');
    await rejectsData(decodeImageFile(missing), new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('encodePng round-trips bytes and clamps floats', async () => {
  const bytes = await encodePng({ width: 3, height: 1, data: new Uint8Array([0, 128, 255]) });
  assert.equal((await sharp(bytes).metadata()).channels, 1);
  close((await decodeImage(bytes)).data, [0, 128 / 255, 1]);
  const floats = await encodePng({ width: 3, height: 1, data: new Float32Array([-0.5, 0.5, 2]) });
  close((await decodeImage(floats)).data, [0, 128 / 255, 1]);
});

function constant(width: number, height: number, v: number): GreyImage {
  return { width, height, data: new Float32Array(width * height).fill(v) };
}

test('resizeAndPad: wide image padded top and bottom symmetrically', () => {
  const img: GreyImage = { width: 4, height: 2, data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };
  const out = resizeAndPad(img, 4);
  assert.equal(out.width, 4);
  assert.equal(out.height, 4);
  close(out.data, [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0]);
});

test('resizeAndPad: tall image padded left and right', () => {
  const img: GreyImage = { width: 2, height: 4, data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };
  close(resizeAndPad(img, 4).data, [0, 1, 2, 0, 0, 3, 4, 0, 0, 5, 6, 0, 0, 7, 8, 0]);
});

test('bilinear enlargement with aligned pixel centres', () => {
  // Source x for output o: (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped 0, .25, .75, 1.
  const img: GreyImage = { width: 2, height: 1, data: Float32Array.from([0, 1]) };
  const out = resize(img, 4, 2);
  close(out.data, [0, 0.25, 0.75, 1, 0, 0.25, 0.75, 1]);
  const padded = resizeAndPad(img, 4);
  close(padded.data, [0, 0, 0, 0, 0, 0.25, 0.75, 1, 0, 0.25, 0.75, 1, 0, 0, 0, 0]);
});

test('non-integer geometry: 300x200 -> 128 places 128x85 at top 21', () => {
  const p = padPlacement(300, 200, 128);
  assert.deepEqual(p, { width: 128, height: 85, left: 0, top: 21 });
  const out = resizeAndPad(constant(300, 200, 0.7), 128);
  for (let y = 0; y < 128; y++) {
    const inside = y >= 21 && y < 106;
    for (const x of [0, 64, 127]) {
      const v = out.data[y * 128 + x];
      assert.ok(Math.abs(v - (inside ? 0.7 : 0)) < 1e-5, `row ${y} col ${x}: ${v}`);
    }
  }
});

test('strong shrink averages instead of aliasing', () => {
  // One-pixel stripes, 30x reduction: point sampling would give 0s and 1s; area gives 0.5.
  const w = 600;
  const h = 300;
  const img: GreyImage = { width: w, height: h, data: new Float32Array(w * h) };
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data[y * w + x] = x % 2;
  const out = resizeAndPad(img, 20);
  assert.deepEqual(padPlacement(w, h, 20), { width: 20, height: 10, left: 0, top: 5 });
  for (let y = 5; y < 15; y++) {
    for (let x = 0; x < 20; x++) assert.ok(Math.abs(out.data[y * 20 + x] - 0.5) < 1e-4, `(${x},${y}) = ${out.data[y * 20 + x]}`);
  }
});

test('normalize maps [0,1] to [-1,1] by default and honours mean/std', () => {
  const img: GreyImage = { width: 3, height: 1, data: Float32Array.from([0, 0.5, 1]) };
  close(normalize(img).data, [-1, 0, 1]);
  close(normalize(img, { mean: 0.25, std: 0.25 }).data, [-1, 1, 3]);
  close(img.data, [0, 0.5, 1]);
});

function listImages(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listImages(p));
    else if (/\.(png|jpe?g|dcm)$/i.test(e.name)) out.push(p);
  }
  return out.sort();
}

const realImages = listImages(realDir);

test('every real CXR fixture decodes to a sane grey image', { skip: realImages.length === 0 ? 'real-cxr fixtures absent' : false }, async () => {
  for (const file of realImages) {
    const img = await decodeImageFile(file);
    assert.ok(img.width > 0 && img.height > 0, file);
    assert.equal(img.data.length, img.width * img.height, file);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < img.data.length; i += 7) {
      const v = img.data[i];
      assert.ok(v >= 0 && v <= 1, `${file}: value ${v}`);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assert.ok(hi - lo > 0.1, `${file}: nearly constant image`);
    const small = resizeAndPad(img, 64);
    assert.equal(small.data.length, 64 * 64);
  }
});
