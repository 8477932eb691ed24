import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { embeddingLookup, multiHeadAttention } from '../../../src/core/models/layers';
import { probeBackend } from '../../../src/core/runtime/backend';

function embeddingGrad(): { value: number[]; grad: number[] } {
  const table = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
  const ids = tf.tensor2d([[1, 3, 1]], [1, 3], 'int32');
  const weights = tf.tensor3d([[[1, 10], [100, 1000], [2, 20]]]);
  const f = (t: tf.Tensor): tf.Scalar => tf.sum(tf.mul(embeddingLookup(t as tf.Tensor2D, ids), weights));
  return { value: Array.from(f(table).dataSync()), grad: Array.from(tf.grad(f)(table).dataSync()) };
}

// Row 1 is looked up twice (weights [1,10] and [2,20]): its gradient is their sum.
const EXPECTED_GRAD = [0, 0, 3, 30, 0, 0, 100, 1000];
const EXPECTED_VALUE = [1 * 3 + 10 * 4 + 100 * 7 + 1000 * 8 + 2 * 3 + 20 * 4];

test('embedding lookup: values and scatter-add gradient on cpu', async () => {
  await tf.setBackend('cpu');
  const r = embeddingGrad();
  assert.deepEqual(r.value, EXPECTED_VALUE);
  assert.deepEqual(r.grad, EXPECTED_GRAD);
});

test('embedding lookup: gradient also works on wasm (no UnsortedSegmentSum kernel there)', async (t) => {
  const probe = await probeBackend('wasm');
  if (!probe.available) {
    t.skip(`wasm backend unavailable: ${probe.reason}`);
    return;
  }
  try {
    assert.equal(tf.getBackend(), 'wasm');
    const r = embeddingGrad();
    assert.deepEqual(r.value, EXPECTED_VALUE);
    assert.deepEqual(r.grad, EXPECTED_GRAD);
  } finally {
    await tf.setBackend('cpu');
  }
});

test('multi-head attention: hand-checked masked attention', async () => {
  await tf.setBackend('cpu');
  // One head, d = 1: q = k = [1, 1, 1]; the last key is masked, so attention is 1/2, 1/2, 0.
  const q = tf.tensor3d([[[1], [1], [1]]]);
  const v = tf.tensor3d([[[2], [4], [100]]]);
  const { out, probs } = multiHeadAttention(q, q, v, 1, tf.tensor2d([[1, 1, 0]]));
  assert.deepEqual(probs.shape, [1, 1, 3, 3]);
  const p = Array.from(probs.dataSync());
  p.forEach((x, i) => assert.ok(Math.abs(x - [0.5, 0.5, 0][i % 3]) < 1e-6));
  Array.from(out.dataSync()).forEach((x) => assert.ok(Math.abs(x - 3) < 1e-5));
  // Two heads split the feature axis: head 0 sees dims [0], head 1 sees dims [1].
  const q2 = tf.tensor3d([[[0, 5], [0, 0]]]);
  const k2 = tf.tensor3d([[[0, 1], [0, 0]]]);
  const v2 = tf.tensor3d([[[1, 1], [3, 3]]]);
  const r2 = multiHeadAttention(q2, k2, v2, 2);
  const o = r2.out.arraySync() as number[][][];
  assert.ok(Math.abs(o[0][0][0] - 2) < 1e-6, 'head 0 has equal scores -> mean of values');
  const w = Math.exp(5) / (Math.exp(5) + 1);
  assert.ok(Math.abs(o[0][0][1] - (w * 1 + (1 - w) * 3)) < 1e-5, 'head 1 prefers key 0');
});
