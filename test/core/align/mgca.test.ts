import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { clipWordWeights, clipWordWeightsOnDevice, createMgca, mgcaWordWeights, mgcaTokenLoss, prototypeLoss, quantile } from '../../../src/core/align/mgca';
import { ParamStore } from '../../../src/core/models/params';
import { Rng } from '../../../src/core/rng';
import { CLS, MASK, REGIONS, WORDS, close, closeArr, tinyInputs, useCpu } from './fixture';
import { dot, l2n, logSumExp, softmax, type Mat, type Vec } from './ref';

test('quantile interpolates linearly like torch.quantile', () => {
  close(quantile([0.3, 0.6], 0.1), 0.33, 1e-12);
  close(quantile([0.2, 0.5, 0.3], 0.9), 0.46, 1e-12);
  close(quantile([7], 0.9), 7, 1e-12);
});

test('[CLS] word weights: clipped to the 10th-90th percentile of real words, renormalised, padding 0', () => {
  const w = clipWordWeights(CLS.flat(), MASK.flat(), 2, 3);
  // report 0: real [0.3, 0.6] -> clip to [0.33, 0.57] -> / 0.9
  // report 1: [0.2, 0.5, 0.3] -> q10 = 0.22, q90 = 0.46 -> [0.22, 0.46, 0.3] / 0.98
  closeArr(w, [0.33 / 0.9, 0.57 / 0.9, 0, 0.22 / 0.98, 0.46 / 0.98, 0.3 / 0.98], 1e-6, 'weights');
  const flat = clipWordWeights([0, 0, 0], [1, 1, 0], 1, 3);
  closeArr(flat, [0.5, 0.5, 0], 1e-7, 'all-zero attention falls back to uniform');
  closeArr(clipWordWeights([0.4, 0.9, 0.1], [1, 0, 0], 1, 3), [1, 0, 0], 1e-7, 'single real word');
});

test('[CLS] word weights on the device equal the host reference (ties, zeros, padding, one word, empty rows)', async () => {
  await useCpu();
  const rng = new Rng(5);
  const b = 7;
  const n = 9;
  const cls = Array.from({ length: b * n }, () => Math.round(rng.next() * 8) / 8); // many ties
  const mask = Array.from({ length: b * n }, (_, k) => (k % n < [9, 5, 1, 0, 2, 9, 4][Math.floor(k / n)] ? 1 : 0));
  for (let i = 0; i < n; i++) cls[5 * n + i] = 0; // all-zero attention: uniform fallback
  const host = clipWordWeights(cls, mask, b, n, 0.1, 0.9);
  const device = tf.tidy(() => clipWordWeightsOnDevice(tf.tensor2d(cls, [b, n]), tf.tensor2d(mask, [b, n]), 0.1, 0.9).dataSync());
  closeArr(device, Array.from(host), 1e-6, 'device vs host');
});

test('MGCA word weights pass no gradient to the [CLS] attention', async () => {
  await useCpu();
  const cls = tf.variable(tf.tensor2d(CLS));
  const g = tf.grad((x: tf.Tensor) => {
    void x;
    return tf.sum(tf.mul(createMgcaWeights(cls as unknown as tf.Tensor2D), tf.tensor2d(CLS)));
  })(cls);
  assert.deepEqual(Array.from(g.dataSync()), new Array(g.size).fill(0));
});

function createMgcaWeights(cls: tf.Tensor2D): tf.Tensor2D {
  return mgcaWordWeights({ wordMask: tf.tensor2d(MASK), clsAttention: cls }, 0.1, 0.9);
}

/** One side of MGCA's token loss for one sample, with explicit loops. */
function refSide(q: Mat, k: Mat, qMask: Vec, kMask: Vec | null, weights: Vec, tau: number): number {
  const ctx = q.map((qa) => {
    const att = softmax(k.map((kj) => dot(qa, kj) / tau), kMask ?? undefined);
    return l2n(k[0].map((_, d) => att.reduce((s, aj, j) => s + aj * k[j][d], 0)));
  });
  const sim = q.map((qa) => ctx.map((cc) => dot(qa, cc) / tau));
  let loss = 0;
  for (let a = 0; a < q.length; a++) {
    if (!qMask[a]) continue;
    const ce1 = logSumExp(sim[a], qMask) - sim[a][a];
    const ce2 = logSumExp(sim.map((row) => row[a]), qMask) - sim[a][a];
    loss += (weights[a] * (ce1 + ce2)) / 2;
  }
  return loss;
}

test('token-level loss (word and patch sides) matches a hand loop', async () => {
  await useCpu();
  const weights = [[0.2, 0.8, 0], [0.5, 0.25, 0.25]];
  const { word, patch } = mgcaTokenLoss(tinyInputs(), tf.tensor2d(weights), 0.1);
  let refWord = 0;
  let refPatch = 0;
  for (let b = 0; b < 2; b++) {
    const e = WORDS[b].map(l2n);
    const v = REGIONS[b].map(l2n);
    refWord += refSide(e, v, MASK[b], null, weights[b], 0.1) / 2;
    refPatch += refSide(v, e, [1, 1], MASK[b], [0.5, 0.5], 0.1) / 2;
  }
  close(word.dataSync()[0], refWord, 1e-4, 'word');
  close(patch.dataSync()[0], refPatch, 1e-4, 'patch');
});

test('prototype loss: finite, trains the prototypes, not the Sinkhorn codes', async () => {
  await useCpu();
  const x = tinyInputs();
  const protos = tf.variable(tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0.5, 0.5]]));
  const { value, grads } = tf.variableGrads(() => prototypeLoss(x.imageGlobal, x.textGlobal, protos, 0.05, 3, 0.2), [protos]);
  assert.ok(Number.isFinite(value.dataSync()[0]) && value.dataSync()[0] > 0);
  const g = Array.from(grads[protos.name].dataSync());
  assert.ok(g.every(Number.isFinite) && g.some((v) => Math.abs(v) > 1e-6));
});

test('MGCA explanation: importance = clipped [CLS] weights; uniform without clsAttention', async () => {
  await useCpu();
  const m = createMgca({ params: new ParamStore(new Rng(2)), dim: 3, config: { prototypes: 4 } });
  const e = m.explain(tinyInputs());
  closeArr(e.importance.dataSync(), Array.from(clipWordWeights(CLS.flat(), MASK.flat(), 2, 3)), 1e-6, 'importance');
  const noCls = { ...tinyInputs(), clsAttention: undefined };
  closeArr(m.explain(noCls).importance.dataSync(), [0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3], 1e-6, 'uniform');
  const out = m.loss(tinyInputs(), { training: true, step: 0 });
  close(out.loss.dataSync()[0], out.terms.global.dataSync()[0] + out.terms.local.dataSync()[0] + out.terms.proto.dataSync()[0], 1e-5, 'terms sum');
});
