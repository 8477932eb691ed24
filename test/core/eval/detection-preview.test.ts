import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { writePreviewThumbnails } from '../../../src/core/eval/detection-preview';

test('writePreviewThumbnails: PNGs of at most 256 px a side, same aspect, recorded relative to RUN/eval', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-thumbs-'));
  const big = path.join(dir, 'big.png');
  const small = path.join(dir, 'small.jpg');
  await sharp(Buffer.alloc(1024 * 512, 100), { raw: { width: 1024, height: 512, channels: 1 } }).png().toFile(big);
  await sharp(Buffer.alloc(64 * 48, 100), { raw: { width: 64, height: 48, channels: 1 } }).jpeg().toFile(small);
  const base = { truth: [[0, 0, 10, 10]] as [number, number, number, number][], predicted: [] };
  const out = await writePreviewThumbnails(path.join(dir, 'run'), {
    task: 'detection', fraction: 1, seed: 0,
    images: [{ id: 'a', path: big, width: 1024, height: 512, ...base }, { id: 'b', path: small, width: 64, height: 48, ...base }],
  });
  assert.deepEqual(out.images.map((i) => i.thumbnail), ['detection-preview/0.png', 'detection-preview/1.png']);
  const meta = await Promise.all(out.images.map((i) => sharp(path.join(dir, 'run', 'eval', i.thumbnail!)).metadata()));
  assert.deepEqual(meta.map((m) => [m.width, m.height]), [[256, 128], [64, 48]]);
  assert.deepEqual(out.images[0].truth, base.truth, 'boxes stay in stored-image pixels');
});
