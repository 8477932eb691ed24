import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { balanceRelation, learnedRelation } from '../../../src/core/align/srm';
import { closeArr, useCpu } from './fixture';
import { cos, softmax, vecMat, type Mat } from './ref';

/** Sinkhorn written out: columns then rows scaled to sum 1 over the allowed entries, `rounds` times. */
function refBalance(r: Mat, allowed: Mat, rounds: number): Mat {
  let m = r.map((row, i) => row.map((v, j) => v * allowed[i][j]));
  const n = m.length;
  for (let t = 0; t < rounds; t++) {
    const col = Array.from({ length: n }, (_, j) => m.reduce((s, row) => s + row[j], 0));
    m = m.map((row) => row.map((v, j) => (col[j] > 1e-9 ? v / col[j] : v / 1e-9)));
    m = m.map((row) => {
      const s = row.reduce((a, b) => a + b, 0);
      return row.map((v) => (s > 1e-9 ? v / s : v / 1e-9));
    });
  }
  return m;
}

// Three real words and one padded slot; every row peaks on word 2, a hub.
const ROWS: Mat = [
  [0, 0.2, 0.7, 0.1],
  [0.1, 0, 0.8, 0.1],
  [0.5, 0.4, 0, 0.1],
  [0.25, 0.25, 0.25, 0.25],
];
const ALLOWED: Mat = [
  [0, 1, 1, 0],
  [1, 0, 1, 0],
  [1, 1, 0, 0],
  [0, 0, 0, 0],
];

test('balanceRelation: Sinkhorn rounds over the allowed pairs, written out', async () => {
  await useCpu();
  for (const rounds of [1, 3]) {
    const got = balanceRelation(tf.tensor3d([ROWS]), tf.tensor3d([ALLOWED]), rounds).arraySync()[0];
    const want = refBalance(ROWS, ALLOWED, rounds);
    for (let i = 0; i < 4; i++) closeArr(got[i], want[i], 1e-6, `row ${i} after ${rounds} rounds`);
  }
});

test('balanceRelation: rows sum to 1, a hub column is brought down to one row\'s worth, padding stays zero', async () => {
  await useCpu();
  const got = balanceRelation(tf.tensor3d([ROWS]), tf.tensor3d([ALLOWED]), 30).arraySync()[0];
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(got[i].reduce((a, b) => a + b, 0) - 1) < 1e-6, `row ${i} sums to 1`);
  const colSums = [0, 1, 2].map((j) => got.reduce((s, row) => s + row[j], 0));
  // Before balancing word 2 took 1.5 of the three rows' mass; balanced, every column holds about 1.
  for (const [j, s] of colSums.entries()) assert.ok(Math.abs(s - 1) < 1e-3, `column ${j} sums to ${s}`);
  assert.ok(got.every((row, i) => row.every((v, j) => ALLOWED[i][j] || v === 0)), 'disallowed pairs stay zero');
  // A word with no allowed partner (one-word report) keeps an all-zero row.
  const lone = balanceRelation(tf.tensor3d([[[0.5, 0.5], [0.5, 0.5]]]), tf.tensor3d([[[0, 0], [0, 0]]]), 3).arraySync()[0];
  assert.deepEqual(lone, [[0, 0], [0, 0]]);
});

/** A learned relation written out: softmax over the other real words of gamma * cos(x Wq, x Wk) - slope * |i - j|. */
function refLocalRelation(x: Mat, wq: Mat, wk: Mat, real: number, gamma: number, slope: number): Mat {
  const q = x.map((row) => vecMat(row, wq));
  const k = x.map((row) => vecMat(row, wk));
  return x.map((_, i) => (i < real
    ? softmax(x.map((__, j) => gamma * cos(q[i], k[j]) - slope * Math.abs(i - j)), x.map((__, j) => (j !== i && j < real ? 1 : 0)))
    : x.map(() => 0)));
}

test('learnedRelation with srmLocality: cosine logits minus slope * |i - j|, over the other real words, written out', async () => {
  await useCpu();
  const x: Mat = [[1, 0.2, -0.3], [0.4, 1, 0.1], [-0.5, 0.3, 1], [0.9, -0.2, 0.4], [0.3, 0.3, 0.3]];
  const wq: Mat = [[0.5, -0.2, 0.1], [0.3, 0.8, -0.4], [-0.1, 0.2, 0.7]];
  const wk: Mat = [[0.2, 0.4, -0.3], [-0.6, 0.1, 0.5], [0.3, -0.2, 0.9]];
  const mask = tf.tensor2d([[1, 1, 1, 1, 0]]);
  for (const slope of [0, 0.7]) {
    const got = learnedRelation(tf.tensor3d([x]), mask, { wq: tf.tensor2d(wq), wk: tf.tensor2d(wk) }, true, 5, 0, slope).arraySync()[0];
    const want = refLocalRelation(x, wq, wk, 4, 5, slope);
    for (let i = 0; i < 4; i++) closeArr(got[i], want[i], 1e-5, `row ${i} at slope ${slope}`);
  }
});

test('learnedRelation with srmLocality: between words of equal content, the nearer takes exp(slope) times the weight per word of distance', async () => {
  await useCpu();
  const same = Array.from({ length: 6 }, () => [0.3, -0.1, 0.8]);
  const eye: Mat = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const row0 = learnedRelation(tf.tensor3d([same]), tf.ones([1, 6]) as tf.Tensor2D, { wq: tf.tensor2d(eye), wk: tf.tensor2d(eye) }, true, 10, 0, 1.5).arraySync()[0][0];
  assert.equal(row0[0], 0);
  for (let j = 1; j < 5; j++) assert.ok(Math.abs(row0[j] / row0[j + 1] - Math.exp(1.5)) < 1e-3, `word ${j} against word ${j + 1}: ratio ${row0[j] / row0[j + 1]}`);
});
