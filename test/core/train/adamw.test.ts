import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdamW, clipByGlobalNorm } from '../../../src/core/train/adamw';

test('AdamW matches the hand-computed update for two steps, decoupled decay', async () => {
  await tf.setBackend('cpu');
  const p = tf.variable(tf.tensor1d([1, -2]), true, 'w.weight');
  const opt = new AdamW({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
  const lr = 0.01;
  // Reference in plain JS.
  let ref = [1, -2];
  let m = [0, 0];
  let v = [0, 0];
  const gs = [[0.5, -1], [0.2, 0.3]];
  for (let t = 1; t <= 2; t++) {
    const g = gs[t - 1];
    opt.apply([p], { 'w.weight': tf.tensor1d(g) }, lr);
    m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]);
    v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i] * g[i]);
    ref = ref.map((pi, i) => pi * (1 - lr * 0.1) - lr * (m[i] / (1 - 0.9 ** t)) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8));
  }
  const got = p.dataSync();
  ref.forEach((r, i) => assert.ok(Math.abs(got[i] - r) < 1e-6, `${got[i]} vs ${r}`));
  // No decay on biases.
  const b = tf.variable(tf.tensor1d([1]), true, 'w.bias');
  opt.apply([b], { 'w.bias': tf.tensor1d([0]) }, lr);
  assert.equal(b.dataSync()[0], 1);
});

test('state round-trips exactly', async () => {
  await tf.setBackend('cpu');
  const p = tf.variable(tf.tensor1d([1, 2]), true, 'a.weight');
  const q = tf.variable(tf.tensor1d([1, 2]), true, 'a.weight2');
  const o1 = new AdamW({ beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0 });
  o1.apply([p], { 'a.weight': tf.tensor1d([1, 1]) }, 0.1);
  const o2 = new AdamW({ beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0 });
  q.assign(p);
  const st = await o1.stateTensors();
  o2.loadState(o1.step, { 'adam_m.a.weight2': st['adam_m.a.weight'], 'adam_v.a.weight2': st['adam_v.a.weight'] }, [q]);
  o1.apply([p], { 'a.weight': tf.tensor1d([0.3, -0.2]) }, 0.1);
  o2.apply([q], { 'a.weight2': tf.tensor1d([0.3, -0.2]) }, 0.1);
  assert.deepEqual([...p.dataSync()], [...q.dataSync()]);
});

test('global-norm clipping scales all gradients by one factor', async () => {
  await tf.setBackend('cpu');
  const { grads, norm } = clipByGlobalNorm({ a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) }, 1);
  assert.ok(Math.abs(norm.dataSync()[0] - 5) < 1e-6);
  assert.ok(Math.abs(grads.a.dataSync()[0] - 0.6) < 1e-5);
  assert.ok(Math.abs(grads.b.dataSync()[1] - 0.8) < 1e-5);
});

test('global-norm clipping leaves gradients under the limit, or with a non-finite norm, unchanged', async () => {
  await tf.setBackend('cpu');
  const small = clipByGlobalNorm({ a: tf.tensor1d([0.3, 0]), b: tf.tensor1d([0, 0.4]) }, 1);
  assert.deepEqual([...small.grads.a.dataSync(), ...small.grads.b.dataSync()], [...tf.tensor1d([0.3, 0, 0, 0.4]).dataSync()]);
  const bad = clipByGlobalNorm({ a: tf.tensor1d([NaN, 2]) }, 1);
  assert.ok(Number.isNaN(bad.norm.dataSync()[0]));
  assert.equal(bad.grads.a.dataSync()[1], 2);
});
