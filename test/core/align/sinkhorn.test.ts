import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { sinkhorn } from '../../../src/core/align/sinkhorn';
import { closeArr, useCpu } from './fixture';

/** MGCA's sinkhorn on Q = exp(scores / eps)^T, written out for a 2x2 case. */
function refSinkhorn(scores: number[][], eps: number, iters: number): number[][] {
  const k = scores[0].length;
  const b = scores.length;
  let q = Array.from({ length: k }, (_, p) => Array.from({ length: b }, (_, s) => Math.exp(scores[s][p] / eps)));
  const total = q.flat().reduce((a, x) => a + x, 0);
  q = q.map((row) => row.map((x) => x / total));
  for (let it = 0; it < iters; it++) {
    for (let p = 0; p < k; p++) {
      const u = q[p].reduce((a, x) => a + x, 0);
      for (let s = 0; s < b; s++) q[p][s] *= 1 / k / u;
    }
    for (let s = 0; s < b; s++) {
      const c = q.reduce((a, row) => a + row[s], 0);
      for (let p = 0; p < k; p++) q[p][s] *= 1 / b / c;
    }
  }
  return Array.from({ length: b }, (_, s) => {
    const c = q.reduce((a, row) => a + row[s], 0);
    return q.map((row) => row[s] / c);
  });
}

test('Sinkhorn matches the worked 2x2 example and becomes doubly stochastic', async () => {
  await useCpu();
  const scores = [[0.9, 0.7], [0.8, 0.2]];
  const got = sinkhorn(tf.tensor2d(scores), 0.05, 3).arraySync() as number[][];
  const ref = refSinkhorn(scores, 0.05, 3);
  closeArr(got.flat(), ref.flat(), 1e-4, 'codes');
  // both samples prefer prototype 0 in the raw scores; equipartition gives prototype 1 to the
  // sample that prefers prototype 0 less strongly (sample 0: 0.9 vs 0.7, sample 1: 0.8 vs 0.2)
  assert.ok(got[0][1] > got[0][0] && got[1][0] > got[1][1]);
  const many = sinkhorn(tf.tensor2d(scores), 0.05, 50).arraySync() as number[][];
  closeArr(many.map((r) => r[0] + r[1]), [1, 1], 1e-6, 'rows');
  closeArr([many[0][0] + many[1][0], many[0][1] + many[1][1]], [1, 1], 5e-3, 'columns');
  const few = sinkhorn(tf.tensor2d(scores), 0.05, 3).arraySync() as number[][];
  assert.ok(Math.abs(many[0][0] + many[1][0] - 1) < Math.abs(few[0][0] + few[1][0] - 1), 'more iterations balance the prototypes better');
});

test('Sinkhorn codes carry no gradient and stay finite over the whole cosine range', async () => {
  await useCpu();
  const g = tf.grad((s: tf.Tensor) => tf.sum(tf.mul(sinkhorn(s as tf.Tensor2D, 0.05, 3), tf.tensor2d([[1, 2], [3, 4]]))))(tf.tensor2d([[1, 0], [0, 1]]));
  closeArr(g.dataSync(), [0, 0, 0, 0], 0, 'grad');
  const big = sinkhorn(tf.tensor2d([[1, -1], [-1, 1], [0.9, 0.95]]), 0.05, 3).dataSync();
  assert.ok(Array.from(big).every(Number.isFinite));
});
