import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRate } from '../../../src/core/train/schedule';

test('linear warmup then cosine to the floor', () => {
  const cfg = { lr: 1, warmupSteps: 4, totalSteps: 14, minLrRatio: 0.1 };
  assert.deepEqual([0, 1, 2, 3].map((s) => learningRate(s, cfg)), [0.25, 0.5, 0.75, 1]);
  // Halfway through the 10 decay steps: floor + (1 - floor) * 0.5 = 0.55.
  assert.ok(Math.abs(learningRate(9, cfg) - 0.55) < 1e-12);
  assert.ok(Math.abs(learningRate(14, cfg) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRate(100, cfg) - 0.1) < 1e-12);
});
