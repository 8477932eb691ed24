import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { bmm, conv2d, gelu, l2norm, layerNorm, linear, maskedSoftmax, matmul } from '../../../src/core/models/ops';
import { initBackend, probeBackends } from '../../../src/core/runtime/backend';
import { Rng } from '../../../src/core/rng';

type Arr = { shape: number[]; data: Float32Array };

function rand(seed: number, shape: number[], scale = 1): Arr {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal(0, scale);
  return { shape, data };
}
const T = (a: Arr) => tf.tensor(a.data, a.shape, 'float32');

/** f maps input tensors to an output tensor; loss = sum(f(..) * r) with fixed random r. */
type Fn = (...xs: tf.Tensor[]) => tf.Tensor;

function forward(f: Fn, inputs: Arr[]): Arr {
  return tf.tidy(() => {
    const y = f(...inputs.map(T));
    return { shape: y.shape, data: y.dataSync() as Float32Array };
  });
}

function analyticGrads(f: Fn, inputs: Arr[], r: Arr): Float32Array[] {
  return tf.tidy(() => {
    const g = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), T(r))))(inputs.map(T));
    return g.map((t) => t.dataSync() as Float32Array);
  });
}

function loss(f: Fn, inputs: Arr[], r: Arr): number {
  return tf.tidy(() => tf.sum(tf.mul(f(...inputs.map(T)), T(r))).dataSync()[0]);
}

/** Central differences on up to `maxCoords` coordinates of each input. */
function checkNumericGrads(name: string, f: Fn, inputs: Arr[], h = 1e-2, maxCoords = 24): void {
  const outShape = forward(f, inputs).shape;
  const r = rand(99, outShape);
  const ga = analyticGrads(f, inputs, r);
  inputs.forEach((inp, k) => {
    const n = inp.data.length;
    const step = Math.max(1, Math.floor(n / maxCoords));
    for (let i = 0; i < n; i += step) {
      const orig = inp.data[i];
      inp.data[i] = orig + h;
      const lp = loss(f, inputs, r);
      inp.data[i] = orig - h;
      const lm = loss(f, inputs, r);
      inp.data[i] = orig;
      const num = (lp - lm) / (2 * h);
      const err = Math.abs(ga[k][i] - num);
      assert.ok(err <= 1e-2 + 2e-2 * Math.abs(num), `${name}: d/dinput${k}[${i}] analytic ${ga[k][i]} vs numeric ${num}`);
    }
  });
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, what: string, atol = 1e-6): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= atol + rtol * Math.abs(b[i]), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

interface Case { name: string; f: Fn; ref: Fn; inputs: Arr[] }

const naiveGelu: Fn = (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));
const naiveLayerNorm: Fn = (x, g, b) => {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
};
const mask = { shape: [2, 1, 5], data: new Float32Array([1, 1, 1, 0, 0, 1, 1, 1, 1, 1]) };

const CASES: Case[] = [
  { name: 'matmul', f: (a, b) => matmul(a as tf.Tensor2D, b as tf.Tensor2D), ref: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), inputs: [rand(1, [7, 5]), rand(2, [5, 3])] },
  { name: 'matmul tA', f: (a, b) => matmul(a as tf.Tensor2D, b as tf.Tensor2D, true), ref: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true), inputs: [rand(3, [5, 7]), rand(4, [5, 3])] },
  { name: 'matmul tB', f: (a, b) => matmul(a as tf.Tensor2D, b as tf.Tensor2D, false, true), ref: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, false, true), inputs: [rand(5, [7, 5]), rand(6, [3, 5])] },
  { name: 'matmul tA tB', f: (a, b) => matmul(a as tf.Tensor2D, b as tf.Tensor2D, true, true), ref: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, true), inputs: [rand(7, [5, 7]), rand(8, [3, 5])] },
  { name: 'linear 3-D', f: (x, w, b) => linear(x, w as tf.Tensor2D, b as tf.Tensor1D), ref: (x, w, b) => tf.add(tf.einsum('btk,kn->btn', x, w), b), inputs: [rand(9, [2, 3, 5]), rand(10, [5, 4]), rand(11, [4])] },
  { name: 'bmm', f: (a, b) => bmm(a as tf.Tensor3D, b as tf.Tensor3D), ref: (a, b) => tf.einsum('bmk,bkn->bmn', a, b), inputs: [rand(12, [3, 4, 5]), rand(13, [3, 5, 2])] },
  { name: 'bmm tB', f: (a, b) => bmm(a as tf.Tensor3D, b as tf.Tensor3D, false, true), ref: (a, b) => tf.einsum('bmk,bnk->bmn', a, b), inputs: [rand(14, [3, 4, 5]), rand(15, [3, 2, 5])] },
  { name: 'bmm tA', f: (a, b) => bmm(a as tf.Tensor3D, b as tf.Tensor3D, true, false), ref: (a, b) => tf.einsum('bkm,bkn->bmn', a, b), inputs: [rand(16, [3, 5, 4]), rand(17, [3, 5, 2])] },
  { name: 'bmm shared b', f: (a, b) => bmm(a as tf.Tensor3D, b as tf.Tensor3D), ref: (a, b) => tf.einsum('bmk,kn->bmn', a, tf.squeeze(b, [0])), inputs: [rand(18, [3, 4, 5]), rand(19, [1, 5, 2])] },
  { name: 'bmm shared a tA', f: (a, b) => bmm(a as tf.Tensor3D, b as tf.Tensor3D, true, false), ref: (a, b) => tf.einsum('km,bkn->bmn', tf.squeeze(a, [0]), b), inputs: [rand(36, [1, 5, 4]), rand(37, [3, 5, 2])] },
  { name: 'bmm shared a tB', f: (a, b) => bmm(a as tf.Tensor3D, b as tf.Tensor3D, false, true), ref: (a, b) => tf.einsum('mk,bnk->bmn', tf.squeeze(a, [0]), b), inputs: [rand(38, [1, 4, 5]), rand(39, [3, 2, 5])] },
  { name: 'conv same s1', f: (x, w) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), ref: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), inputs: [rand(20, [2, 5, 6, 3]), rand(21, [3, 3, 3, 4], 0.5)] },
  { name: 'conv same s2 odd', f: (x, w) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), ref: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), inputs: [rand(22, [2, 7, 5, 2]), rand(23, [3, 3, 2, 3], 0.5)] },
  { name: 'conv valid s2', f: (x, w) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'), ref: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'), inputs: [rand(24, [1, 8, 7, 2]), rand(25, [3, 3, 2, 2], 0.5)] },
  { name: 'conv pad3 k7 s2', f: (x, w) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 3), ref: (x, w) => tf.conv2d(tf.pad(x, [[0, 0], [3, 3], [3, 3], [0, 0]]) as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'), inputs: [rand(26, [1, 9, 9, 1]), rand(27, [7, 7, 1, 2], 0.3)] },
  { name: 'conv 1x1 s2', f: (x, w) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'), ref: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'), inputs: [rand(28, [2, 5, 5, 3]), rand(29, [1, 1, 3, 4], 0.5)] },
  { name: 'layerNorm', f: (x, g, b) => layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5), ref: naiveLayerNorm, inputs: [rand(30, [2, 3, 6], 2), rand(31, [6]), rand(32, [6])] },
  { name: 'gelu', f: (x) => gelu(x), ref: naiveGelu, inputs: [rand(33, [4, 7], 2)] },
  { name: 'maskedSoftmax', f: (x, m) => maskedSoftmax(x, m), ref: (x, m) => tf.softmax(tf.add(x, tf.mul(tf.sub(1, m), -1e9))), inputs: [rand(34, [2, 3, 5]), mask] },
  { name: 'l2norm', f: (x) => l2norm(x), ref: (x) => tf.div(x, tf.norm(x, 'euclidean', -1, true)), inputs: [rand(35, [3, 6])] },
];

const available = probeBackends().then((ps) => ps.filter((p) => p.name === 'cpu' || p.name === 'wasm').map((p) => ({ name: p.name, ok: p.available })));

for (const backend of ['cpu', 'wasm']) {
  test(`ops forward equals tf reference ops on ${backend}`, async (t) => {
    if (!(await available).find((b) => b.name === backend && b.ok)) { t.skip(`${backend} unavailable`); return; }
    await initBackend(backend);
    for (const c of CASES) {
      const got = forward(c.f, c.inputs);
      await initBackend('cpu');
      const want = forward(c.ref, c.inputs);
      await initBackend(backend);
      assert.deepEqual(got.shape, want.shape, c.name);
      assertClose(got.data, want.data, backend === 'cpu' ? 1e-5 : 1e-4, `${c.name} on ${backend}`, 1e-5);
    }
  });

  test(`ops gradients match central differences on ${backend}`, async (t) => {
    if (!(await available).find((b) => b.name === backend && b.ok)) { t.skip(`${backend} unavailable`); return; }
    await initBackend(backend);
    const before = tf.memory().numTensors;
    // maskedSoftmax's mask input is not differentiable in a useful way; check logits only.
    for (const c of CASES) {
      const f: Fn = c.name === 'maskedSoftmax' ? (x) => c.f(x, T(mask)) : c.f;
      const inputs = c.name === 'maskedSoftmax' ? c.inputs.slice(0, 1) : c.inputs;
      checkNumericGrads(`${c.name} on ${backend}`, f, inputs.map((a) => ({ shape: a.shape, data: a.data.slice() })));
    }
    assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
  });
}

test('wasm gradients equal cpu gradients (kernel overrides: transposed/batched matmul, conv backprop)', async (t) => {
  if (!(await available).find((b) => b.name === 'wasm' && b.ok)) { t.skip('wasm unavailable'); return; }
  for (const c of CASES) {
    const r = rand(7, forward(c.f, c.inputs).shape);
    await initBackend('cpu');
    const want = analyticGrads(c.f, c.inputs, r);
    await initBackend('wasm');
    const got = analyticGrads(c.f, c.inputs, r);
    await initBackend('cpu');
    got.forEach((g, k) => assertClose(g, want[k], 1e-4, `${c.name} grad ${k}`, 1e-4));
  }
});
