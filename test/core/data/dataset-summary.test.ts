import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { readDataset } from '../../../src/core/data/manifest';
import { writeDatasetMeta } from '../../../src/core/data/manifest-write';
import { lengthStats, readImageHeader, summarizeDataset } from '../../../src/core/data/dataset-summary';
import { decodeImageFile } from '../../../src/core/data/image-io';
import { buildDicom } from './dicom-writer';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const realCxr = path.resolve(repoRoot, '..', 'shared', 'data', 'real-cxr');

async function png(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 40, g: 40, b: 40 } } }).png().toBuffer();
}

/** Minimal DICOM Part 10 file (explicit VR little endian) carrying Rows/Columns and no pixels. */
function dicom(rows: number, columns: number): Buffer {
  const el = (group: number, element: number, vr: string, value: Buffer): Buffer => {
    const h = Buffer.alloc(8);
    h.writeUInt16LE(group, 0);
    h.writeUInt16LE(element, 2);
    h.write(vr, 4, 'latin1');
    h.writeUInt16LE(value.length, 6);
    return Buffer.concat([h, value]);
  };
  const us = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
  return Buffer.concat([
    Buffer.alloc(128), Buffer.from('DICM', 'latin1'),
    el(0x0002, 0x0010, 'UI', Buffer.from('1.2.840.10008.1.2.1\0', 'latin1')),
    el(0x0028, 0x0010, 'US', us(rows)),
    el(0x0028, 0x0011, 'US', us(columns)),
  ]);
}

async function tinyDataset(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-summary-'));
  const write = (rel: string, data: string | Buffer): void => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
  };
  const small = await png(8, 6);
  write('img/a.png', small);
  write('img/b.png', small);
  write('img/c.png', await png(16, 16));
  write('img/d.dcm', dicom(10, 12));
  write('img/e.png', small.subarray(0, 20)); // cut inside the IHDR chunk: no size in the header
  write('img/f.jpg', await sharp({ create: { width: 8, height: 6, channels: 3, background: '#333' } }).jpeg().toBuffer());
  write('img/g.png', 'not an image at all');
  write('reports/c.txt', 'Right upper lobe nodule.');
  write('masks/a.png', small);
  const records = [
    { id: 'a', image: 'img/a.png', split: 'train', report: 'No acute disease.', labels: { Edema: 1, Cardiomegaly: 0 }, mask: 'masks/a.png',
      boxes: [[1, 1, 2, 2, 'nodule'], [3, 3, 1, 1, 'nodule']] },
    { id: 'b', image: 'img/b.png', split: 'train', report: 'Small left pleural effusion.  Heart normal.', labels: { Edema: -1 },
      words: [{ text: 'effusion', role: 'finding' }, { text: 'left', role: 'location' }] },
    { id: 'c', image: 'img/c.png', split: 'valid', report_file: 'reports/c.txt', labels: { Edema: 1, Cardiomegaly: 1 } },
    { id: 'd', image: 'img/d.dcm', split: 'test', report: 'Clear.', labels: { Cardiomegaly: 0 }, boxes: [[0, 0, 4, 4, 'opacity']] },
    { id: 'e', image: 'img/e.png', split: 'train', report: 'Truncated file here.', labels: { Edema: 1 } },
    { id: 'f', image: 'img/f.jpg', split: 'test', report: 'Lungs are clear bilaterally today.' },
    { id: 'g', image: 'img/g.png', split: 'valid', report: 'Text file posing as image.' },
    { id: 'x', image: 'img/missing.png', split: 'train', report: 'Gone.' },
  ];
  write('manifest.jsonl', records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return dir;
}

test('lengthStats: min, mean, median (even and odd), nearest-rank p95, max', () => {
  assert.deepEqual(lengthStats([4, 1, 3, 2]), { min: 1, mean: 2.5, median: 2.5, p95: 4, max: 4 });
  assert.deepEqual(lengthStats([5, 1, 9]), { min: 1, mean: 5, median: 5, p95: 9, max: 9 });
  const twenty = Array.from({ length: 20 }, (_, i) => 20 - i);
  assert.deepEqual(lengthStats(twenty), { min: 1, mean: 10.5, median: 10.5, p95: 19, max: 20 });
  assert.deepEqual(lengthStats([]), { min: 0, mean: 0, median: 0, p95: 0, max: 0 });
});

test('readImageHeader: PNG, JPEG and DICOM sizes; unreadable headers throw', async () => {
  const dir = await tinyDataset();
  assert.deepEqual(await readImageHeader(path.join(dir, 'img/c.png')), { format: 'png', width: 16, height: 16 });
  assert.deepEqual(await readImageHeader(path.join(dir, 'img/f.jpg')), { format: 'jpeg', width: 8, height: 6 });
  assert.deepEqual(await readImageHeader(path.join(dir, 'img/d.dcm')), { format: 'dicom', width: 12, height: 10 });
  // DICOM recognised by its magic even without the .dcm extension.
  fs.copyFileSync(path.join(dir, 'img/d.dcm'), path.join(dir, 'img/d.bin'));
  assert.deepEqual(await readImageHeader(path.join(dir, 'img/d.bin')), { format: 'dicom', width: 12, height: 10 });
  await assert.rejects(readImageHeader(path.join(dir, 'img/e.png')), /image header cannot be read/);
  await assert.rejects(readImageHeader(path.join(dir, 'img/g.png')), /image header cannot be read/);
  fs.writeFileSync(path.join(dir, 'img/h.dcm'), dicom(10, 12).subarray(0, 140));
  await assert.rejects(readImageHeader(path.join(dir, 'img/h.dcm')), /DICOM header/);
});

test('readImageHeader reads DICOM as decoding does: a bare data set without the 128-byte preamble is accepted', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-summary-dcm-'));
  const bare = buildDicom({ rows: 10, cols: 12, implicit: true, pixels: new Array<number>(120).fill(1) });
  fs.writeFileSync(path.join(dir, 'bare.dcm'), bare);
  assert.deepEqual(await readImageHeader(path.join(dir, 'bare.dcm')), { format: 'dicom', width: 12, height: 10 });
  assert.equal((await decodeImageFile(path.join(dir, 'bare.dcm'))).width, 12, 'and decoding agrees');
  fs.writeFileSync(path.join(dir, 'bare.dicom'), bare);
  assert.deepEqual(await readImageHeader(path.join(dir, 'bare.dicom')), { format: 'dicom', width: 12, height: 10 });
});

test('a DICOM header dicom-parser fails on inside the data set gives its message, not [object Object]', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-summary-dcm-'));
  const p10 = Buffer.from(buildDicom({ rows: 10, cols: 12, pixels: new Array<number>(120).fill(1) }));
  const metaEnd = 132 + 12 + p10.readUInt32LE(140);
  // Cut inside the first data-set element: dicom-parser throws {exception, dataSet} here.
  fs.writeFileSync(path.join(dir, 'cut.dcm'), p10.subarray(0, metaEnd + 11));
  await assert.rejects(readImageHeader(path.join(dir, 'cut.dcm')), (e: Error) => {
    assert.equal(e.message, 'DICOM header cannot be read (attempt to read past end of buffer)');
    return true;
  });
});

test('summarizeDataset: exact counts, prevalence, sizes, lengths; unreadable headers become invalid records', async () => {
  const dir = await tinyDataset();
  const ds = readDataset(dir, { maxInvalidShare: 1 });
  assert.equal(ds.studies.length, 7);
  const s = await summarizeDataset(ds);
  assert.equal(s.dir, ds.dir);
  assert.equal(s.totalLines, 8);
  assert.equal(s.studies, 5);
  assert.deepEqual(s.splits, { train: 2, valid: 1, test: 2 });
  assert.deepEqual(s.invalid.map((r) => [r.line, r.id, r.field]), [[5, 'e', 'image'], [7, 'g', 'image'], [8, 'x', 'image']]);
  assert.match(s.invalid[0].reason, /^img\/e\.png: image header cannot be read/);

  assert.deepEqual(s.images, {
    read: 5,
    formats: { png: 3, dicom: 1, jpeg: 1 },
    sizes: [{ width: 8, height: 6, count: 3 }, { width: 16, height: 16, count: 1 }, { width: 12, height: 10, count: 1 }],
  });

  const z = { positive: 0, negative: 0, uncertain: 0 };
  assert.deepEqual(s.labels, [
    { label: 'Cardiomegaly', splits: {
      all: { ...z, positive: 1, negative: 2, missing: 2, positiveShare: 1 / 5 },
      train: { ...z, negative: 1, missing: 1, positiveShare: 0 },
      valid: { ...z, positive: 1, missing: 0, positiveShare: 1 },
      test: { ...z, negative: 1, missing: 1, positiveShare: 0 },
    } },
    { label: 'Edema', splits: {
      all: { ...z, positive: 2, uncertain: 1, missing: 2, positiveShare: 2 / 5 },
      train: { ...z, positive: 1, uncertain: 1, missing: 0, positiveShare: 1 / 2 },
      valid: { ...z, positive: 1, missing: 0, positiveShare: 1 },
      test: { ...z, missing: 2, positiveShare: 0 },
    } },
  ]);

  // Usable reports: a 3 words/17 chars, b 6/43, c 4/24, d 1/6, f 5/34.
  assert.deepEqual(s.reports.words, { min: 1, mean: 19 / 5, median: 4, p95: 6, max: 6 });
  assert.deepEqual(s.reports.chars, { min: 6, mean: 124 / 5, median: 24, p95: 43, max: 43 });
  assert.deepEqual(s.boxes, { studies: 2, total: 3 });
  assert.deepEqual(s.masks, { studies: 1 });
  assert.deepEqual(s.words, { studies: 1, total: 2 });
});

test('summarizeDataset with imageStats off reads no headers and keeps every loaded study', async () => {
  const dir = await tinyDataset();
  const s = await summarizeDataset(readDataset(dir, { maxInvalidShare: 1 }), { imageStats: false });
  assert.equal(s.images, undefined);
  assert.equal(s.studies, 7);
  assert.deepEqual(s.splits, { train: 3, valid: 2, test: 2 }); // e (train) and g (valid) now count
  assert.deepEqual(s.invalid.map((r) => r.id), ['x']);
});

test('summarizeDataset on real IU X-ray PNGs (linked, not copied)', { skip: fs.existsSync(path.join(realCxr, 'iu-xray', 'pairs.csv')) ? false : `absent: ${path.join(realCxr, 'iu-xray', 'pairs.csv')}` }, async () => {
  const src = path.join(realCxr, 'iu-xray');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-summary-real-'));
  fs.mkdirSync(path.join(dir, 'images'));
  const rows = fs.readFileSync(path.join(src, 'pairs.csv'), 'utf8').trim().split('\n').slice(1).map((l) => {
    const [study, image, view, ...rest] = l.split(',');
    return { study, image, view, report: rest.join(',') };
  });
  const records = rows.map((r) => {
    fs.symlinkSync(path.join(src, r.image), path.join(dir, r.image));
    return { id: path.basename(r.image, '.png'), image: r.image, view: r.view, split: 'train', report: r.report };
  });
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), records.map((r) => JSON.stringify(r)).join('\n'));
  // Links that lead out of the dataset are read only from a declared root (as reclf import writes).
  assert.throws(() => readDataset(dir), /resolves to .*outside the dataset folder/);
  writeDatasetMeta(dir, [src]);
  const s = await summarizeDataset(readDataset(dir));
  assert.equal(s.studies, rows.length);
  assert.deepEqual(s.invalid, []);
  assert.deepEqual(s.images?.sizes, [{ width: 512, height: 512, count: rows.length }]);
  assert.ok(s.reports.words.min > 10, 'real reports are several sentences long');
});
