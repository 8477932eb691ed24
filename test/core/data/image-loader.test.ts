import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodePng } from '../../../src/core/data/image-io';
import {
  ImageLoader, benchDecode, prefetch, resolveWorkerScript, type LoadJob,
} from '../../../src/core/data/image-loader';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-loader-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A w x h PNG whose pixels are all `level`/255 except a bright pixel at (1, 1) to make augmentation visible. */
async function writePng(name: string, w: number, h: number, level: number): Promise<string> {
  const data = new Uint8Array(w * h).fill(level);
  data[w + 1] = 255;
  const file = path.join(dir, name);
  fs.writeFileSync(file, await encodePng({ width: w, height: h, data }));
  return file;
}

const SIZE = 16;

test('worker script resolves next to the bundle or the TypeScript source', () => {
  assert.deepEqual(resolveWorkerScript('/opt/reclf/dist/engine/reclf.cjs'), {
    file: path.join('/opt/reclf/dist/engine', 'decode-worker.cjs'), typescript: false,
  });
  assert.deepEqual(resolveWorkerScript('/opt/reclf/dist/engine/train-worker.cjs'), {
    file: path.join('/opt/reclf/dist/engine', 'decode-worker.cjs'), typescript: false,
  });
  assert.deepEqual(resolveWorkerScript('/w/src/core/data/image-loader.ts'), {
    file: path.join('/w/src/core/data', 'decode-worker.ts'), typescript: true,
  });
});

test('pool keeps order, flags corrupt and missing files, and normalises to [-1,1]', async () => {
  const levels = [0, 51, 102, 153, 204];
  const files: string[] = [];
  for (const [i, l] of levels.entries()) files.push(await writePng(`img${i}.png`, 32, 16, l));
  const corrupt = path.join(dir, 'corrupt.png');
  fs.writeFileSync(corrupt, fs.readFileSync(files[0]).subarray(0, 40));
  const missing = path.join(dir, 'missing.png');
  const jobs: LoadJob[] = [
    ...files.slice(0, 2).map((p, i) => ({ path: p, seed: i, augment: false })),
    { path: corrupt, seed: 9, augment: false },
    ...files.slice(2).map((p, i) => ({ path: p, seed: i, augment: false })),
    { path: missing, seed: 10, augment: false },
  ];
  const loader = new ImageLoader({ size: SIZE, workers: 2 });
  try {
    const r = await loader.load(jobs);
    assert.deepEqual(r.ok, [true, true, false, true, true, true, false]);
    assert.equal(r.data.length, jobs.length * SIZE * SIZE);
    assert.match(r.errors[2] ?? '', /corrupt\.png: cannot decode image/);
    assert.match(r.errors[6] ?? '', /missing\.png: cannot read image file/);
    assert.equal(r.errors[0], undefined);
    const order = [0, 1, -1, 2, 3, 4, -1];
    for (const [slot, li] of order.entries()) {
      const plane = r.data.subarray(slot * SIZE * SIZE, (slot + 1) * SIZE * SIZE);
      if (li < 0) {
        assert.ok(plane.every((v) => v === 0), `failed slot ${slot} left at 0`);
        continue;
      }
      // 32x16 -> 16x8 placed at rows 4..11; padding is black = -1 after normalisation.
      const expected = (levels[li] / 255) * 2 - 1;
      assert.ok(Math.abs(plane[0] - -1) < 1e-6, `slot ${slot} pad`);
      assert.ok(Math.abs(plane[8 * SIZE + 10] - expected) < 1e-5, `slot ${slot} centre ${plane[8 * SIZE + 10]} vs ${expected}`);
    }
  } finally {
    await loader.close();
  }
});

test('workers and the calling thread give identical augmented batches; concurrent loads stay separate', async () => {
  const files: string[] = [];
  for (let i = 0; i < 6; i++) files.push(await writePng(`aug${i}.png`, 20, 20, 40 * i));
  const jobs = files.map((p, i) => ({ path: p, seed: 1000 + i, augment: true }));
  const inline = new ImageLoader({ size: SIZE, workers: 0 });
  const pool = new ImageLoader({ size: SIZE, workers: 2 });
  try {
    const a = await inline.load(jobs);
    const [b, c] = await Promise.all([pool.load(jobs), pool.load(jobs.slice().reverse())]);
    assert.deepEqual(a.ok, new Array(6).fill(true));
    assert.deepEqual(b.data, a.data);
    const plane = SIZE * SIZE;
    for (let i = 0; i < 6; i++) {
      assert.deepEqual(c.data.subarray(i * plane, (i + 1) * plane), a.data.subarray((5 - i) * plane, (6 - i) * plane));
    }
    const plain = await inline.load(jobs.map((j) => ({ ...j, augment: false })));
    assert.notDeepEqual(plain.data, a.data);
    const reseeded = await pool.load(jobs.map((j) => ({ ...j, seed: j.seed + 1 })));
    assert.notDeepEqual(reseeded.data, a.data);
  } finally {
    await Promise.all([inline.close(), pool.close()]);
  }
});

test('a closed loader refuses work', async () => {
  const loader = new ImageLoader({ size: SIZE, workers: 1 });
  await loader.close();
  await assert.rejects(loader.load([{ path: 'x.png', seed: 0, augment: false }]), /closed/);
});

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('prefetch preserves order and never has more than depth calls in flight', async () => {
  let inflight = 0;
  let peak = 0;
  const started: number[] = [];
  const produce = async (i: number): Promise<number> => {
    started.push(i);
    inflight++;
    peak = Math.max(peak, inflight);
    await tick(((i * 7) % 5) + 1);
    inflight--;
    return i * 10;
  };
  const got: number[] = [];
  for await (const v of prefetch(produce, 12, 3)) {
    got.push(v);
    await tick(2);
  }
  assert.deepEqual(got, Array.from({ length: 12 }, (_, i) => i * 10));
  assert.equal(peak, 3);
  assert.deepEqual(started, Array.from({ length: 12 }, (_, i) => i));
});

test('prefetch raises a failure at its own item, after the earlier ones', async () => {
  const produce = async (i: number): Promise<number> => {
    if (i === 3) throw new Error('batch 3 broke');
    await tick(5);
    return i;
  };
  const got: number[] = [];
  await assert.rejects(async () => {
    for await (const v of prefetch(produce, 6, 4)) got.push(v);
  }, /batch 3 broke/);
  assert.deepEqual(got, [0, 1, 2]);
  const none: number[] = [];
  for await (const v of prefetch(produce, 0, 2)) none.push(v);
  assert.deepEqual(none, []);
});

test('benchDecode reports throughput and failures', async () => {
  const files = [await writePng('b0.png', 64, 48, 10), await writePng('b1.png', 48, 64, 20), path.join(dir, 'nope.png')];
  const r = await benchDecode(files, 32, { workers: 1, batch: 2 });
  assert.equal(r.images, 3);
  assert.equal(r.failed, 1);
  assert.equal(r.size, 32);
  assert.ok(r.seconds > 0 && r.imagesPerSecond > 0);
});
