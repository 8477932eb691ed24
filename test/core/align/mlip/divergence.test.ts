import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { dropoutMask, emaUpdate, residualProject, stochasticView } from '../../../../src/core/align/mlip/divergence';
import { closeArr, useCpu } from '../fixture';

const X = [[1, 2], [-1, 0.5]];
const W = [[0.1, -0.2], [0.3, 0.4]];

test('residual projection x + xW on hand numbers', async () => {
  await useCpu();
  // row 0: [1,2] + [1*0.1+2*0.3, 1*-0.2+2*0.4] = [1.7, 2.6]; row 1: [-1,0.5] + [-0.1+0.15, 0.2+0.2] = [-0.95, 0.9]
  closeArr(residualProject(tf.tensor2d(X), tf.tensor2d(W)).dataSync(), [1.7, 2.6, -0.95, 0.9], 1e-6, 'xW');
});

test('dropout mask: seeded per step, inverted scaling, about the requested rate', () => {
  const a = dropoutMask(50, 40, 0.25, 7);
  assert.deepEqual(a, dropoutMask(50, 40, 0.25, 7));
  assert.notDeepEqual(a, dropoutMask(50, 40, 0.25, 8));
  const values = new Set(Array.from(a));
  assert.deepEqual([...values].sort(), [0, 1 / 0.75].map(Math.fround).sort());
  const dropped = Array.from(a).filter((v) => v === 0).length / a.length;
  assert.ok(Math.abs(dropped - 0.25) < 0.04, `dropped share ${dropped}`);
});

test('stochastic view: mask applied before the projection in training, none in evaluation', async () => {
  await useCpu();
  const x = tf.tensor2d(X);
  const w = tf.tensor2d(W);
  closeArr(stochasticView(x, w, 0.5, 3, false).dataSync(), [1.7, 2.6, -0.95, 0.9], 1e-6, 'eval');
  const mask = dropoutMask(2, 2, 0.5, 3);
  const xm = X.map((row, i) => row.map((v, j) => v * mask[i * 2 + j]));
  const expected = xm.flatMap((row) => [row[0] + row[0] * W[0][0] + row[1] * W[1][0], row[1] + row[0] * W[0][1] + row[1] * W[1][1]]);
  closeArr(stochasticView(x, w, 0.5, 3, true).dataSync(), expected, 1e-6, 'train');
});

test('EMA update: target <- m target + (1 - m) source', async () => {
  await useCpu();
  const target = tf.variable(tf.tensor1d([1, -2]), false, 'test.mlip.ema_target');
  emaUpdate(target, tf.tensor1d([3, 2]), 0.9);
  closeArr(target.dataSync(), [1.2, -1.6], 1e-6, 'ema');
  target.dispose();
});
