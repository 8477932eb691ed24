import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runMain } from '../helpers/run-main';
import type { DatasetSummary } from '../../src/core/data/dataset-summary';
import { buildDicom } from '../core/data/dicom-writer';
import { pngClaiming } from '../core/data/png-claiming';

const run = runMain;

/** n good PNG studies (train/valid/test round-robin) followed by the given raw bad lines. */
async function dataset(n: number, badLines: string[] = []): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-info-'));
  fs.mkdirSync(path.join(dir, 'img'));
  const img = await sharp({ create: { width: 10, height: 8, channels: 3, background: '#222' } }).png().toBuffer();
  const splits = ['train', 'valid', 'test'];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    fs.writeFileSync(path.join(dir, 'img', `s${i}.png`), img);
    lines.push(JSON.stringify({ id: `s${i}`, image: `img/s${i}.png`, split: splits[i % 3], report: 'Heart size normal. No effusion.', labels: { Effusion: i % 2 } }));
  }
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), [...lines, ...badLines].join('\n') + '\n');
  return dir;
}

const missingImage = JSON.stringify({ id: 'gone', image: 'img/gone.png', split: 'train', report: 'x' });
const badSplit = JSON.stringify({ id: 'bad', image: 'img/s0.png', split: 'dev', report: 'x' });

test('reclf info --json prints the summary object', async () => {
  const dir = await dataset(9, [missingImage]);
  const r = await run(['info', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as DatasetSummary;
  assert.equal(s.totalLines, 10);
  assert.equal(s.studies, 9);
  assert.deepEqual(s.splits, { train: 3, valid: 3, test: 3 });
  assert.deepEqual(s.images?.sizes, [{ width: 10, height: 8, count: 9 }]);
  assert.deepEqual(s.reports.words, { min: 5, mean: 5, median: 5, p95: 5, max: 5 });
  assert.equal(s.labels[0].label, 'Effusion');
  assert.equal(s.labels[0].splits.all.positive, 4);
  assert.deepEqual(s.invalid, [{ line: 10, id: 'gone', field: 'image', reason: 'file not found: img/gone.png' }]);
});

test('reclf info prints a table with every invalid record', async () => {
  const dir = await dataset(12, [missingImage, badSplit, '{oops']);
  const r = await run(['info', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /12 usable studies of 15 records \(3 invalid\)/);
  assert.match(r.stdout, /train\s+4/);
  assert.match(r.stdout, /10x8\s+12/);
  assert.match(r.stdout, /Effusion\s+6\/6\/0\/0 50\.0%/);
  assert.match(r.stdout, /words\s+5\s+5\s+5\s+5\s+5/);
  assert.match(r.stdout, /line 13 \(gone\): image: file not found: img\/gone\.png/);
  assert.match(r.stdout, /line 14 \(bad\): split: must be one of "train", "valid", "test", got "dev"/);
  assert.match(r.stdout, /line 15: not valid JSON/);
});

test('reclf info checks everything in one pass, prints it, then exits 2 when too many records are bad', async () => {
  const dir = await dataset(3, [missingImage, badSplit]);
  fs.writeFileSync(path.join(dir, 'img', 's2.png'), 'not a png');
  const r = await run(['info', dir, '--json']);
  assert.equal(r.code, 2);
  // The manifest's bad rows are over the threshold, and the image headers were still read: all three problems at once.
  const all = JSON.parse(r.stdout) as DatasetSummary;
  assert.deepEqual(all.invalid.map((x) => x.line), [3, 4, 5]);
  assert.match(all.invalid[0].reason, /img\/s2\.png: image header cannot be read/);
  fs.copyFileSync(path.join(dir, 'img', 's0.png'), path.join(dir, 'img', 's2.png'));
  assert.match(r.stderr, /reclf info: .*manifest\.jsonl: 3 of 5 records are invalid \(60%, more than the allowed 20%\)/);
  assert.match(r.stderr, /invalid: line 4 \(gone\): image: file not found/);
  const relaxed = await run(['info', dir, '--json', '--max-invalid-share', '0.5']);
  assert.equal(relaxed.code, 0, relaxed.stderr);
  assert.equal((JSON.parse(relaxed.stdout) as DatasetSummary).studies, 3);
});

test('reclf info counts unreadable image headers against the threshold; --no-images skips them', async () => {
  const dir = await dataset(3);
  fs.writeFileSync(path.join(dir, 'img', 's1.png'), 'not a png');
  const r = await run(['info', dir, '--json']);
  assert.equal(r.code, 2);
  assert.equal((JSON.parse(r.stdout) as DatasetSummary).studies, 2, 'the summary is printed before the verdict');
  assert.match(r.stderr, /1 of 3 records are invalid/);
  assert.match(r.stderr, /line 2 \(s1\): image: img\/s1\.png: image header cannot be read/);
  const skip = await run(['info', dir, '--json', '--no-images']);
  assert.equal(skip.code, 0, skip.stderr);
  const s = JSON.parse(skip.stdout) as DatasetSummary;
  assert.equal(s.images, undefined);
  assert.equal(s.studies, 3);
});

test('reclf info --decode finds a truncated image whose header reads fine', async () => {
  const dir = await dataset(6);
  const noise = Buffer.from(Array.from({ length: 64 * 64 }, (_, i) => (i * 7919) % 251));
  const png = await sharp(noise, { raw: { width: 64, height: 64, channels: 1 } }).png({ compressionLevel: 0 }).toBuffer();
  // Keep the signature, IHDR (the header) and part of the pixel data.
  fs.writeFileSync(path.join(dir, 'img', 's4.png'), png.subarray(0, Math.floor(png.length / 2)));
  const headers = await run(['info', dir, '--json']);
  assert.equal(headers.code, 0, headers.stderr);
  assert.equal((JSON.parse(headers.stdout) as DatasetSummary).invalid.length, 0, 'the header alone looks valid');
  const decoded = await run(['info', dir, '--json', '--decode', '--max-invalid-share', '0.5']);
  assert.equal(decoded.code, 0, decoded.stderr);
  const s = JSON.parse(decoded.stdout) as DatasetSummary;
  assert.deepEqual(s.invalid.map((x) => [x.line, x.field]), [[5, 'image']]);
  assert.equal(s.studies, 5);
});

test('reclf info: usage mistakes and a missing dataset exit 2 without a stack', async () => {
  const none = await run(['info']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /expected one DATASET folder/);
  const missing = await run(['info', path.join(os.tmpdir(), 'reclf-no-such-dataset-xyz')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /dataset folder not found/);
  assert.doesNotMatch(missing.stderr, /\n\s+at /);
  const share = await run(['info', '.', '--max-invalid-share', '2']);
  assert.equal(share.code, 2);
  assert.match(share.stderr, /between 0 and 1/);
  const help = await run(['info', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--max-invalid-share SHARE/);
  assert.match(help.stdout, /--no-images/);
});

test('reclf info reads a DICOM without the 128-byte preamble, as train and explain decode it', async () => {
  const dir = await dataset(6);
  fs.writeFileSync(path.join(dir, 'img', 'bare.dcm'), buildDicom({ rows: 10, cols: 12, implicit: true, pixels: new Array<number>(120).fill(5) }));
  fs.appendFileSync(path.join(dir, 'manifest.jsonl'), JSON.stringify({ id: 'bare', image: 'img/bare.dcm', split: 'train', report: 'Clear lungs.' }) + '\n');
  const r = await run(['info', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as DatasetSummary;
  assert.deepEqual(s.invalid, []);
  assert.equal(s.images?.formats.dicom, 1);
  assert.deepEqual(s.images?.sizes.find((b) => b.width === 12), { width: 12, height: 10, count: 1 });
});

test('reclf info refuses files that symlinks take out of the dataset, headers over the pixel limit and zero-width reports', async () => {
  const dir = await dataset(12);
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-info-outside-'));
  fs.copyFileSync(path.join(dir, 'img', 's0.png'), path.join(outside, 'secret.png'));
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'Secretword report.');
  fs.symlinkSync(path.join(outside, 'secret.png'), path.join(dir, 'img', 'out.png'));
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'out.txt'));
  // A PNG whose header claims 16000x16000 in about a hundred bytes.
  fs.writeFileSync(path.join(dir, 'img', 'huge.png'), pngClaiming(16000, 16000));
  const extra = [
    { id: 'outimg', image: 'img/out.png', split: 'train', report: 'Clear lungs.' },
    { id: 'outrf', image: 'img/s0.png', split: 'train', report_file: 'out.txt' },
    { id: 'huge', image: 'img/huge.png', split: 'train', report: 'Clear lungs.' },
    { id: 'zw', image: 'img/s0.png', split: 'train', report: '\u200b\u200b' },
  ];
  fs.appendFileSync(path.join(dir, 'manifest.jsonl'), extra.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const r = await run(['info', dir, '--json', '--max-invalid-share', '0.5']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as DatasetSummary;
  assert.deepEqual(s.invalid.map((i) => [i.line, i.id, i.field]), [[13, 'outimg', 'image'], [14, 'outrf', 'report_file'], [15, 'huge', 'image'], [16, 'zw', 'report']]);
  assert.match(s.invalid[0].reason, /img\/out\.png resolves to .*secret\.png, outside the dataset folder/);
  assert.match(s.invalid[1].reason, /out\.txt resolves to .*secret\.txt, outside the dataset folder/);
  assert.equal(s.invalid[2].reason, 'img/huge.png: image is 16000x16000 (256 MP), more than the 20 MP limit (data.maxImagePixels)');
  assert.match(s.invalid[3].reason, /report text has no words/);
  assert.doesNotMatch(r.stdout, /Secretword/);
  assert.equal(s.images?.sizes.some((b) => b.width === 16000), false);
  // The limit is a flag: raised, the header is accepted (nothing is decoded by info).
  const raised = await run(['info', dir, '--json', '--max-invalid-share', '0.5', '--max-image-pixels', '300000000']);
  assert.equal(raised.code, 0, raised.stderr);
  assert.ok((JSON.parse(raised.stdout) as DatasetSummary).images?.sizes.some((b) => b.width === 16000));
  const bad = await run(['info', dir, '--max-report-bytes', '0']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--max-report-bytes must be a positive integer, got 0/);
});
