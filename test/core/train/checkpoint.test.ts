import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { latestCheckpoint, listStepCheckpoints, readCheckpoint, saveCheckpoint, type TrainState } from '../../../src/core/train/checkpoint';

function state(step: number): TrainState {
  return { step, epoch: 0, batchInEpoch: step, bestMetric: null, bestStep: null, epochsWithoutImprovement: 0, configHash: 'h' };
}

test('keeps the last K, writes best, and falls back past a damaged newest file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-ckpt-'));
  for (const step of [10, 20, 30, 40]) {
    saveCheckpoint(dir, {
      state: state(step),
      params: { w: { shape: [1], data: new Float32Array([step]) } },
      optimizer: { 'adam_m.w': { shape: [1], data: new Float32Array([0.5]) } },
    }, { keepLast: 2, isBest: step === 20 });
  }
  assert.deepEqual(listStepCheckpoints(dir).map((c) => c.step), [30, 40]);
  const best = readCheckpoint(path.join(dir, 'checkpoints', 'best.safetensors'));
  assert.equal(best.state.step, 20);
  assert.equal(best.params.w.data[0], 20);
  assert.equal(best.optimizer['adam_m.w'].data[0], 0.5);
  // Damage the newest: resume must use step 30.
  const newest = listStepCheckpoints(dir).at(-1)!.file;
  fs.writeFileSync(newest, fs.readFileSync(newest).subarray(0, 20));
  assert.equal(latestCheckpoint(dir)?.state.step, 30);
  // No temp files are left behind.
  assert.deepEqual(fs.readdirSync(path.join(dir, 'checkpoints')).filter((f) => f.endsWith('.tmp')), []);
});
