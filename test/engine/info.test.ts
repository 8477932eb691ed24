import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { main } from '../../src/engine/main';
import type { DatasetSummary } from '../../src/core/data/dataset-summary';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => { stdout += String(chunk); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true; }) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

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

test('reclf info exits 2 with a clear message when too many records are bad', async () => {
  const dir = await dataset(3, [missingImage, badSplit]);
  const r = await run(['info', dir, '--json']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /reclf info: .*manifest\.jsonl: 2 of 5 records are invalid \(40%, more than the allowed 20%\)/);
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
  assert.match(r.stderr, /1 of 3 records are invalid/);
  assert.match(r.stderr, /line 2 \(s1\): image: img\/s1\.png: image header cannot be read/);
  const skip = await run(['info', dir, '--json', '--no-images']);
  assert.equal(skip.code, 0, skip.stderr);
  const s = JSON.parse(skip.stdout) as DatasetSummary;
  assert.equal(s.images, undefined);
  assert.equal(s.studies, 3);
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
