import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/runtime/backend';
import { wasmKernelsRegistered } from '../../../src/core/runtime/wasm-kernels';
// Registers TF.js's gradient functions (as every model does).
import '../../../src/core/models/ops';

// Reductions over leading axes run as ones @ X on wasm; every other reduction takes the stock
// kernel. Both must equal the cpu backend's reference values.
test('wasm Sum/Mean over leading axes (matmul form) and other axes (stock) match cpu', async () => {
  await initBackend('wasm');
  assert.ok(wasmKernelsRegistered());
  const shape = [70, 3, 5];
  const values = Float32Array.from({ length: 70 * 15 }, (_, i) => Math.sin(i * 0.37) * 3 + (i % 7));
  const cases: [string, (x: tf.Tensor) => tf.Tensor][] = [
    ['sum axis 0', (x) => tf.sum(x, 0)],
    ['sum axes [0,1] keepDims', (x) => tf.sum(x, [0, 1], true)],
    ['sum axis -1 (stock)', (x) => tf.sum(x, -1)],
    ['sum all (stock)', (x) => tf.sum(x)],
    ['mean axis 0', (x) => tf.mean(x, 0)],
    ['mean axes [1,0] keepDims', (x) => tf.mean(x, [1, 0], true)],
    ['mean axis 1 (stock)', (x) => tf.mean(x, 1)],
  ];
  const results: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, f] of cases) {
    const y = f(tf.tensor(values, shape));
    results[name] = { shape: y.shape, data: y.dataSync() as Float32Array };
  }
  await initBackend('cpu');
  for (const [name, f] of cases) {
    const y = f(tf.tensor(values, shape));
    assert.deepEqual(results[name].shape, y.shape, name);
    const ref = y.dataSync();
    ref.forEach((r, i) => assert.ok(Math.abs(r - results[name].data[i]) <= 1e-4 * Math.max(1, Math.abs(r)), `${name}[${i}]: ${results[name].data[i]} vs ${r}`));
  }
  // Gradients through the override (bias-gradient shape) match too.
  await initBackend('wasm');
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.sum(x, 0), tf.reshape(tf.range(0, 15), [3, 5]))))(tf.tensor(values, shape)).dataSync();
  assert.equal(g[0], 0);
  assert.equal(g[14], 14);
  assert.equal(g[15 * 69 + 7], 7);
});
