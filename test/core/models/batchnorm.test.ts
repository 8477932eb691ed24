import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { BatchNorm, BatchNormGroup } from '../../../src/core/models/batchnorm';
import { ParamStore } from '../../../src/core/models/params';
import { Rng } from '../../../src/core/rng';

// tfjs registers variable names process-wide, so each test uses its own parameter names.

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `index ${i}: ${actual[i]} != ${expected[i]}`);
  }
}

test('batchnorm: torchvision names, running stats non-trainable', async () => {
  await tf.setBackend('cpu');
  const ps = new ParamStore(new Rng(1));
  new BatchNorm(ps, 'layer1.0.bn1', 3);
  assert.deepEqual(ps.names(), ['layer1.0.bn1.weight', 'layer1.0.bn1.bias', 'layer1.0.bn1.running_mean', 'layer1.0.bn1.running_var']);
  assert.deepEqual(ps.trainableNames(), ['layer1.0.bn1.weight', 'layer1.0.bn1.bias']);
  const ps2 = new ParamStore(new Rng(1));
  new BatchNorm(ps2, 'head.4', 3, { affine: false });
  assert.deepEqual(ps2.trainableNames(), []);
});

test('batchnorm: train uses batch stats, eval uses running stats, updates applied only on request', async () => {
  await tf.setBackend('cpu');
  const ps = new ParamStore(new Rng(1));
  const bn = new BatchNorm(ps, 'bn', 2);
  // Channel 0: [1, 3, 5, 7] -> mean 4, biased var 5, unbiased var 20/3.
  // Channel 1: [2, 2, 2, 2] -> mean 2, var 0.
  const x = tf.tensor2d([1, 2, 3, 2, 5, 2, 7, 2], [4, 2]);
  const y = bn.forward(x, true);
  const s = Math.sqrt(5 + 1e-5);
  close(y.dataSync(), [-3 / s, 0, -1 / s, 0, 1 / s, 0, 3 / s, 0]);
  // Nothing assigned yet: running stats are still the initial 0 / 1.
  close(bn.runningMean.dataSync(), [0, 0]);
  close(bn.runningVar.dataSync(), [1, 1]);
  assert.equal(bn.pendingCount, 1);
  bn.applyPendingUpdates();
  assert.equal(bn.pendingCount, 0);
  // running = 0.9 * running + 0.1 * batch (PyTorch momentum 0.1, unbiased variance).
  close(bn.runningMean.dataSync(), [0.4, 0.2]);
  close(bn.runningVar.dataSync(), [0.9 + 0.1 * (20 / 3), 0.9]);
  // Eval: (x - running_mean) / sqrt(running_var + eps).
  const rv0 = 0.9 + 0.1 * (20 / 3);
  const ye = bn.forward(tf.tensor2d([1, 2], [1, 2]), false);
  close(ye.dataSync(), [(1 - 0.4) / Math.sqrt(rv0 + 1e-5), (2 - 0.2) / Math.sqrt(0.9 + 1e-5)]);
  assert.equal(bn.pendingCount, 0, 'eval mode records nothing');
});

test('batchnorm: two recorded batches fold in sequentially; weight and bias apply', async () => {
  await tf.setBackend('cpu');
  const ps = new ParamStore(new Rng(1));
  const group = new BatchNormGroup();
  const bn = group.create(ps, 'bn_seq', 1);
  bn.weight!.assign(tf.tensor1d([2]));
  bn.bias!.assign(tf.tensor1d([0.5]));
  const y = bn.forward(tf.tensor2d([0, 2], [2, 1]), true); // mean 1, var 1, unbiased 2
  close(y.dataSync(), [-2 / Math.sqrt(1 + 1e-5) + 0.5, 2 / Math.sqrt(1 + 1e-5) + 0.5]);
  bn.forward(tf.tensor2d([10, 10], [2, 1]), true); // mean 10, unbiased var 0
  assert.equal(group.pendingCount(), 2);
  group.applyPendingUpdates();
  // mean: 0 -> 0.1 -> 0.9*0.1 + 1 = 1.09; var: 1 -> 0.9+0.2 = 1.1 -> 0.99
  close(bn.runningMean.dataSync(), [1.09]);
  close(bn.runningVar.dataSync(), [0.99]);
});

test('batchnorm: row mask restricts the statistics to real rows', async () => {
  await tf.setBackend('cpu');
  const ps = new ParamStore(new Rng(1));
  const bn = new BatchNorm(ps, 'bn_mask', 1);
  const y = bn.forward(tf.tensor2d([1, 3, 100], [3, 1]), true, tf.tensor1d([1, 1, 0]));
  const s = Math.sqrt(1 + 1e-5);
  close(y.dataSync().slice(0, 2), [-1 / s, 1 / s]);
  bn.applyPendingUpdates();
  close(bn.runningMean.dataSync(), [0.2]);
  close(bn.runningVar.dataSync(), [0.9 + 0.1 * 2]);
});

test('batchnorm: recording inside a gradient tape leaves the gradient intact', async () => {
  await tf.setBackend('cpu');
  const ps = new ParamStore(new Rng(1));
  const bn = new BatchNorm(ps, 'bn_tape', 1);
  const x = tf.tensor2d([1, 2, 4], [3, 1]);
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.forward(x, true), tf.tensor2d([1, 0, 0], [3, 1]))) as tf.Scalar);
  // d/dbias sum(w * yhat + b) over the selected row = 1; d/dweight = yhat_0.
  close(grads['bn_tape.bias'].dataSync(), [1]);
  const mean = 7 / 3;
  const v = ((1 - mean) ** 2 + (2 - mean) ** 2 + (4 - mean) ** 2) / 3;
  close(grads['bn_tape.weight'].dataSync(), [(1 - mean) / Math.sqrt(v + 1e-5)], 1e-4);
  assert.equal(bn.pendingCount, 1);
  bn.applyPendingUpdates();
  close(bn.runningMean.dataSync(), [0.1 * mean]);
});
