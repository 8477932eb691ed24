import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  findResumePoint, latestCheckpoint, listStepCheckpoints, readCheckpoint, saveCheckpoint, type TrainState,
} from '../../../src/core/train/checkpoint';
import { encodeSafetensors } from '../../../src/core/io/safetensors';
import { WriteError } from '../../../src/core/fs-atomic';
import { freeBytes, withTinyDisk } from '../../helpers/tmpfs';

function state(step: number): TrainState {
  return { step, epoch: 0, batchInEpoch: step, bestMetric: null, bestStep: null, epochsWithoutImprovement: 0, configHash: 'h' };
}

function data(step: number, n = 1): Parameters<typeof saveCheckpoint>[1] {
  return {
    state: state(step),
    params: { w: { shape: [n], data: new Float32Array(n).fill(step) } },
    optimizer: { 'adam_m.w': { shape: [n], data: new Float32Array(n).fill(0.5) } },
  };
}

function tmpRun(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-ckpt-'));
}

test('keeps the last K, writes best, and falls back past a damaged newest file', async () => {
  const dir = tmpRun();
  for (const step of [10, 20, 30, 40]) await saveCheckpoint(dir, data(step), { keepLast: 2, isBest: step === 20 });
  assert.deepEqual(listStepCheckpoints(dir).map((c) => c.step), [30, 40]);
  const best = readCheckpoint(path.join(dir, 'checkpoints', 'best.safetensors'));
  assert.equal(best.state.step, 20);
  assert.equal(best.params.w.data[0], 20);
  assert.equal(best.optimizer['adam_m.w'].data[0], 0.5);
  // Damage the newest: resume must use step 30, and say which file it passed over.
  const newest = listStepCheckpoints(dir).at(-1)!.file;
  fs.writeFileSync(newest, fs.readFileSync(newest).subarray(0, 20));
  const skipped: string[] = [];
  assert.equal(latestCheckpoint(dir, (s) => skipped.push(s.file))?.state.step, 30);
  assert.deepEqual(skipped, [newest]);
  // No temp files are left behind.
  assert.deepEqual(fs.readdirSync(path.join(dir, 'checkpoints')).filter((f) => f.endsWith('.tmp')), []);
});

test('a checkpoint whose length differs from what its header declares is unreadable, with the reason', async () => {
  const dir = tmpRun();
  const file = await saveCheckpoint(dir, data(2, 64), { keepLast: 3, isBest: false });
  const whole = fs.readFileSync(file);
  // Cut inside the data: every tensor's offsets still fit the header, only the length tells.
  fs.writeFileSync(file, whole.subarray(0, whole.length - 4));
  assert.throws(() => readCheckpoint(file), /truncated: \d+ bytes of the \d+ its header declares/);
  fs.writeFileSync(file, Buffer.concat([whole, Buffer.from('junk')]));
  assert.throws(() => readCheckpoint(file), /4 unexpected bytes after/);
  fs.writeFileSync(file, whole);
  assert.equal(readCheckpoint(file).state.step, 2);
  // A valid safetensors file that is not a checkpoint.
  fs.writeFileSync(file, encodeSafetensors({ x: { shape: [1], data: new Float32Array([1]) } }));
  assert.throws(() => readCheckpoint(file), /not a RECLF checkpoint/);
});

test('findResumePoint: newest readable, else best, else none with every reason', async () => {
  const dir = tmpRun();
  for (const step of [2, 4, 6]) await saveCheckpoint(dir, data(step), { keepLast: 3, isBest: step === 2 });
  const files = listStepCheckpoints(dir).map((c) => c.file);
  fs.truncateSync(files[2], 100);
  let p = findResumePoint(dir);
  assert.equal(p.checkpoint?.state.step, 4);
  assert.deepEqual(p.skipped.map((s) => path.basename(s.file)), ['step-00000006.safetensors']);
  assert.match(p.skipped[0].reason, /truncated/);
  // Every step file damaged: best.safetensors (step 2) is the last complete checkpoint.
  for (const f of files) fs.truncateSync(f, 100);
  p = findResumePoint(dir);
  assert.equal(p.checkpoint?.state.step, 2);
  assert.equal(path.basename(p.checkpoint!.file), 'best.safetensors');
  assert.equal(p.skipped.length, 3);
  // Nothing readable at all.
  fs.truncateSync(path.join(dir, 'checkpoints', 'best.safetensors'), 7);
  p = findResumePoint(dir);
  assert.equal(p.checkpoint, undefined);
  assert.equal(p.found, 4);
  assert.equal(p.skipped.length, 4);
  assert.equal(findResumePoint(tmpRun()).found, 0);
});

test('disk full: the write fails with ENOSPC, the temp file is removed, the previous checkpoint and best stay whole', async (t) => {
  await withTinyDisk(t, 2, async (mnt) => {
    const n = 40_000; // ~320 KB per checkpoint (parameters + one moment)
    await saveCheckpoint(mnt, data(2, n), { keepLast: 3, isBest: true });
    const bestBefore = fs.readFileSync(path.join(mnt, 'checkpoints', 'best.safetensors'));
    // Leave ~100 KB free: the next checkpoint cannot fit.
    fs.writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(Math.max(0, freeBytes(mnt) - 100_000)));
    await assert.rejects(saveCheckpoint(mnt, data(4, n), { keepLast: 3, isBest: true }), (e: unknown) => {
      assert.ok(e instanceof WriteError, String(e));
      assert.match((e as Error).message, /^cannot write \S+step-00000004\.safetensors: no space left on device \(ENOSPC\)$/);
      return true;
    });
    assert.deepEqual(listStepCheckpoints(mnt).map((c) => c.step), [2]);
    assert.deepEqual(fs.readdirSync(path.join(mnt, 'checkpoints')).filter((f) => f.endsWith('.tmp')), []);
    assert.equal(readCheckpoint(listStepCheckpoints(mnt)[0].file).state.step, 2);
    assert.ok(fs.readFileSync(path.join(mnt, 'checkpoints', 'best.safetensors')).equals(bestBefore));
    // Space back: the same save succeeds and replaces best.
    fs.rmSync(path.join(mnt, 'filler'));
    await saveCheckpoint(mnt, data(4, n), { keepLast: 3, isBest: true });
    assert.equal(readCheckpoint(path.join(mnt, 'checkpoints', 'best.safetensors')).state.step, 4);
  });
});
