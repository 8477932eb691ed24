// Limits before allocation (issue 14, item 2): image sizes from the header before decoding (PNG,
// JPEG, DICOM Rows/Columns), file sizes from stat before reading, deflated DICOM inflated with a
// cap, devices / FIFOs / folders never read. The huge images here are tiny files whose headers lie.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { decodeImage, decodeImageFile } from '../../../src/core/data/image-io';
import { decodeDicom } from '../../../src/core/data/dicom';
import { readImageHeader } from '../../../src/core/data/dataset-summary';
import { ImageLoader } from '../../../src/core/data/image-loader';
import { readDataset } from '../../../src/core/data/manifest';
import { DEFAULT_MAX_IMAGE_PIXELS, formatBytes, formatPixels, pixelLimitProblem } from '../../../src/core/data/input-guard';
import { DataError } from '../../../src/core/errors';
import { buildDicom } from './dicom-writer';
import { pngClaiming } from './png-claiming';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-limits-'));

/** A real 8x8 JPEG with its SOF0 frame header patched to claim width x height. */
async function jpegClaiming(width: number, height: number): Promise<Buffer> {
  const jpg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#444' } }).jpeg({ progressive: false }).toBuffer();
  for (let i = 2; i < jpg.length - 8; i++) {
    if (jpg[i] === 0xff && jpg[i + 1] === 0xc0) {
      jpg.writeUInt16BE(height, i + 5);
      jpg.writeUInt16BE(width, i + 7);
      return jpg;
    }
  }
  throw new Error('no SOF0 marker');
}

/** The Part 10 file `buildDicom` writes, with its data set deflated (transfer syntax 1.2.840.10008.1.2.1.99). */
function deflatedDicom(rows: number, cols: number): Buffer {
  const plain = Buffer.from(buildDicom({ rows, cols, pixels: new Array<number>(rows * cols).fill(7), transferSyntax: '1.2.840.10008.1.2.1.99' }));
  const metaLength = plain.readUInt32LE(132 + 8);
  const start = 132 + 12 + metaLength;
  return Buffer.concat([plain.subarray(0, start), zlib.deflateRawSync(plain.subarray(start))]);
}

test('pixelLimitProblem and the formatters', () => {
  assert.equal(DEFAULT_MAX_IMAGE_PIXELS, 4000 * 5000);
  assert.equal(pixelLimitProblem(4000, 5000, DEFAULT_MAX_IMAGE_PIXELS), undefined);
  assert.equal(pixelLimitProblem(16000, 16000, DEFAULT_MAX_IMAGE_PIXELS), 'image is 16000x16000 (256 MP), more than the 20 MP limit (data.maxImagePixels)');
  assert.equal(formatPixels(300_000), '0.3 MP');
  assert.equal(formatPixels(4096), '4096 pixels');
  assert.equal(formatBytes(512 * 1024 * 1024), '512 MiB');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(17), '17 bytes');
});

test('a small PNG or JPEG whose header claims 16000x16000 is refused from the header, before decoding', async () => {
  const png = path.join(dir, 'huge.png');
  fs.writeFileSync(png, pngClaiming(16000, 16000));
  assert.ok(fs.statSync(png).size < 2048);
  const jpg = path.join(dir, 'huge.jpg');
  fs.writeFileSync(jpg, await jpegClaiming(16000, 16000));
  for (const file of [png, jpg]) {
    const before = process.memoryUsage().rss;
    await assert.rejects(decodeImageFile(file), (e: Error) => e instanceof DataError && e.field === 'image'
      && e.message === `${file}: image is 16000x16000 (256 MP), more than the 20 MP limit (data.maxImagePixels)`);
    assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024, 'nothing near 256 MP was allocated');
    await assert.rejects(readImageHeader(file), /image is 16000x16000 \(256 MP\), more than the 20 MP limit/);
  }
  // The limit is configurable both ways: a 10x8 image passes the default and fails a limit of 50 pixels.
  const small = await sharp({ create: { width: 10, height: 8, channels: 3, background: '#888' } }).png().toBuffer();
  assert.equal((await decodeImage(small, 'small.png')).width, 10);
  await assert.rejects(decodeImage(small, 'small.png', { maxPixels: 50 }), /small\.png: image is 10x8 \(.*\), more than the .* limit/);
  assert.deepEqual(await readImageHeader(png, { maxPixels: 16000 * 16000 }), { format: 'png', width: 16000, height: 16000 });
});

test('DICOM Rows/Columns are checked before the pixel buffer is allocated, in decode and in info', async () => {
  const file = path.join(dir, 'huge.dcm');
  fs.writeFileSync(file, buildDicom({ rows: 16000, cols: 16000, pixels: [1, 2, 3, 4] }));
  await assert.rejects(decodeImageFile(file), (e: Error) => e instanceof DataError && e.field === 'Rows'
    && /image is 16000x16000 \(256 MP\), more than the 20 MP limit \(data\.maxImagePixels\) by its Rows\/Columns/.test(e.message));
  await assert.rejects(readImageHeader(file), /16000x16000/);
  // Within the limit the same file fails for its real problem, truncated pixel data.
  await assert.rejects(decodeDicom(fs.readFileSync(file), file, { maxPixels: 16000 * 16000 }), /truncated PixelData/);
});

test('a deflated DICOM decodes, and may not inflate past the byte limit', async () => {
  const bytes = deflatedDicom(64, 48);
  const img = await decodeDicom(bytes, 'deflated.dcm');
  assert.equal(img.width, 48);
  assert.equal(img.height, 64);
  const bomb = deflatedDicom(1000, 1000); // 2 MB of pixels in a few KiB
  assert.ok(bomb.length < 64 * 1024);
  await assert.rejects(decodeDicom(bomb, 'bomb.dcm', { maxBytes: 1024 * 1024 }), (e: Error) => e.message === 'bomb.dcm: deflated data set inflates to more than 1 MiB (data.maxImageBytes)');
});

/** deflatedDicom's data set (`pixels` samples) followed by `zeros` (whole MiB) zero bytes, all deflated; `before` goes first in the data set. */
function deflatedBomb(rows: number, cols: number, zeros: number, pixels = rows * cols, before = Buffer.alloc(0)): Buffer {
  const plain = Buffer.from(buildDicom({ rows, cols, pixels: new Array<number>(pixels).fill(7), transferSyntax: '1.2.840.10008.1.2.1.99' }));
  const start = 132 + 12 + plain.readUInt32LE(132 + 8);
  // Whole MiB of zeros as one full-flushed block repeated (no back-references cross it): cheap to build.
  const flush = { finishFlush: zlib.constants.Z_FULL_FLUSH };
  const parts = [zlib.deflateRawSync(Buffer.concat([before, plain.subarray(start)]), flush)];
  const block = zlib.deflateRawSync(Buffer.alloc(1 << 20), flush);
  for (let n = 0; n < zeros; n += 1 << 20) parts.push(block);
  parts.push(Buffer.from([0x03, 0x00])); // an empty final block
  return Buffer.concat([plain.subarray(0, start), ...parts]);
}

test('a deflate bomb is capped by what its declared Rows x Columns need, not by data.maxImageBytes', async () => {
  // 40 MiB of zeros after a 32x24 image: within the 512 MiB file limit, far past what 32x24 needs.
  const bomb = deflatedBomb(32, 24, 40 << 20);
  assert.ok(bomb.length < 256 * 1024);
  const file = path.join(dir, 'deflate-bomb.dcm');
  fs.writeFileSync(file, bomb);
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const refusal = /deflate-bomb\.dcm: deflated data set inflates to more than 8\.0 MiB, the most its 24x32 pixels of 1 x 16 bits and 8 MiB of other elements can take$/;
  await assert.rejects(decodeImageFile(file), (e: Error) => e instanceof DataError && refusal.test(e.message));
  await assert.rejects(readImageHeader(file), /DICOM header cannot be read \(deflated data set inflates to more than 8\.0 MiB, the most its 24x32 pixels/);
  assert.ok(process.memoryUsage().rss - before < 48 * 1024 * 1024, 'the 40 MiB were not inflated');
  assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
  // Rows x Columns over data.maxImagePixels is refused before the pixel data is inflated.
  const huge = deflatedBomb(16000, 16000, 40 << 20, 4);
  await assert.rejects(decodeDicom(huge, 'huge.dcm', { maxBytes: 32 << 20 }), (e: Error) => e instanceof DataError && e.field === 'Rows'
    && e.message === 'huge.dcm: image is 16000x16000 (256 MP), more than the 20 MP limit (data.maxImagePixels) by its Rows/Columns');
  // No Rows/Columns to go by: the cap is what data.maxImagePixels allows at 3 samples of 16 bits.
  await assert.rejects(decodeDicom(deflatedBomb(0, 24, 16 << 20, 4), 'norows.dcm', { maxPixels: 1000 }),
    (e: Error) => e.message === 'norows.dcm: deflated data set inflates to more than 8.0 MiB, the most the 1000 pixels limit (data.maxImagePixels) allows (no Rows/Columns before its pixel data)');
});

test('a deflated DICOM whose header is long (64 KiB of incompressible bytes before Rows) still decodes within its cap', async () => {
  const noise = Buffer.alloc(64 * 1024);
  for (let i = 0, x = 11; i < noise.length; i++) { x = (x * 1103515245 + 12345) >>> 0; noise[i] = x >>> 24; }
  // (0009,1000) OB: a private element of 64 KiB first in the data set.
  const element = Buffer.concat([Buffer.from([0x09, 0x00, 0x00, 0x10]), Buffer.from('OB'), Buffer.alloc(2), Buffer.alloc(4)]);
  element.writeUInt32LE(noise.length, 8);
  const bytes = deflatedBomb(64, 48, 0, 64 * 48, Buffer.concat([element, noise]));
  const img = await decodeDicom(bytes, 'long-header.dcm');
  assert.deepEqual([img.width, img.height], [48, 64]);
  const plain = await decodeDicom(deflatedDicom(64, 48), 'deflated.dcm');
  assert.deepEqual(img.data, plain.data);
});

test('image files: only regular files within the byte limit are read (no /dev/zero, FIFO or folder)', async () => {
  const png = path.join(dir, 'ok.png');
  fs.writeFileSync(png, await sharp({ create: { width: 10, height: 8, channels: 3, background: '#888' } }).png().toBuffer());
  await assert.rejects(decodeImageFile(png, { maxBytes: 10 }), (e: Error) => e instanceof DataError
    && /ok\.png: the image file is \d+ bytes, more than the 10 bytes limit \(data\.maxImageBytes\)/.test(e.message));
  await assert.rejects(readImageHeader(png, { maxBytes: 10 }), /more than the 10 bytes limit/);
  if (fs.existsSync('/dev/zero')) {
    await assert.rejects(decodeImageFile('/dev/zero'), /\/dev\/zero: the image is a character device, not a regular file/);
    await assert.rejects(readImageHeader('/dev/zero'), /the image is a character device/);
  }
  await assert.rejects(decodeImageFile(dir), /the image is a folder, not a regular file/);
  const fifo = path.join(dir, 'pipe.png');
  if (spawnSync('mkfifo', [fifo]).status === 0) {
    await assert.rejects(decodeImageFile(fifo), /the image is a FIFO \(named pipe\), not a regular file/);
    await assert.rejects(readImageHeader(fifo), /FIFO/);
  }
});

test('ImageLoader applies its limits on the calling thread and in decode workers', async () => {
  const png = path.join(dir, 'loader.png');
  fs.writeFileSync(png, await sharp({ create: { width: 10, height: 8, channels: 3, background: '#888' } }).png().toBuffer());
  for (const workers of [0, 1]) {
    const loader = new ImageLoader({ size: 8, workers, limits: { maxPixels: 50 } });
    try {
      const r = await loader.load([{ path: png, seed: 0, augment: false }]);
      assert.deepEqual(r.ok, [false]);
      assert.match(r.errors[0] ?? '', /loader\.png: image is 10x8 .*more than the .* limit \(data\.maxImagePixels\)/, `workers ${workers}`);
    } finally {
      await loader.close();
    }
  }
  const loader = new ImageLoader({ size: 8, workers: 0 });
  const huge = path.join(dir, 'huge-loader.png');
  fs.writeFileSync(huge, pngClaiming(16000, 16000));
  try {
    const r = await loader.load([{ path: png, seed: 0, augment: false }, { path: huge, seed: 1, augment: false }]);
    assert.deepEqual(r.ok, [true, false]);
    assert.match(r.errors[1] ?? '', /16000x16000/);
  } finally {
    await loader.close();
  }
});

test('readDataset: report and image byte limits, inline and from files, with the record and field named', () => {
  const ds = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-limits-ds-'));
  fs.mkdirSync(path.join(ds, 'img'));
  fs.mkdirSync(path.join(ds, 'rep'));
  const lines: object[] = [];
  for (let i = 0; i < 10; i++) {
    fs.writeFileSync(path.join(ds, 'img', `${i}.png`), 'png');
    lines.push({ id: `s${i}`, image: `img/${i}.png`, split: 'train', report: 'Clear lungs.' });
  }
  fs.writeFileSync(path.join(ds, 'rep', 'long.txt'), 'Effusion. '.repeat(20));
  fs.writeFileSync(path.join(ds, 'img', 'big.png'), Buffer.alloc(4096));
  lines.push({ id: 'longrf', image: 'img/0.png', split: 'train', report_file: 'rep/long.txt' });
  lines.push({ id: 'longinline', image: 'img/0.png', split: 'train', report: 'Effusion. '.repeat(20) });
  lines.push({ id: 'bigimg', image: 'img/big.png', split: 'train', report: 'Clear lungs.' });
  fs.writeFileSync(path.join(ds, 'manifest.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n'));
  const r = readDataset(ds, { maxInvalidShare: 0.5, limits: { maxReportBytes: 100, maxImageBytes: 1024 } });
  assert.deepEqual(r.invalid, [
    { line: 11, id: 'longrf', field: 'report_file', reason: 'rep/long.txt is 200 bytes, more than the 100 bytes limit (data.maxReportBytes)' },
    { line: 12, id: 'longinline', field: 'report', reason: 'report text is 200 bytes, more than the 100 bytes limit (data.maxReportBytes)' },
    { line: 13, id: 'bigimg', field: 'image', reason: 'img/big.png is 4 KiB, more than the 1 KiB limit (data.maxImageBytes)' },
  ]);
  // The defaults (1 MiB reports, 512 MiB images) accept all of them.
  assert.deepEqual(readDataset(ds).invalid, []);
});
