import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cosineMatrix, globalInfoNCE, maskedLogSumExp, stopGradient, symmetricInfoNCE } from '../../../src/core/align/global-infonce';
import { IMG, TXT, close, closeArr, useCpu } from './fixture';
import { cos, diagCE, transpose } from './ref';

test('global InfoNCE: both directions, default weights 1/1 and ConVIRT 0.75/0.25', async () => {
  await useCpu();
  const s = IMG.map((v) => TXT.map((t) => cos(v, t) / 0.1));
  const i2t = diagCE(s);
  const t2i = diagCE(transpose(s));
  assert.notEqual(i2t.toFixed(5), t2i.toFixed(5)); // the fixture makes the directions differ
  const img = tf.tensor2d(IMG);
  const txt = tf.tensor2d(TXT);
  closeArr(cosineMatrix(img, txt).dataSync(), s.flat().map((x) => x * 0.1), 1e-5, 'cosine');
  close(globalInfoNCE(img, txt, 0.1).dataSync()[0], i2t + t2i, 1e-4, 'sum');
  close(globalInfoNCE(img, txt, 0.1, 0.75, 0.25).dataSync()[0], 0.75 * i2t + 0.25 * t2i, 1e-4, 'convirt');
  close(symmetricInfoNCE(tf.tensor2d(s), 1, 0).dataSync()[0], i2t, 1e-4, 'image->text only');
  close(symmetricInfoNCE(tf.tensor2d(s), 0, 1).dataSync()[0], t2i, 1e-4, 'text->image only');
});

test('stopGradient passes values and blocks gradients', async () => {
  await useCpu();
  const x = tf.tensor1d([1, 2, 3]);
  const g = tf.grad((v: tf.Tensor) => tf.sum(tf.add(tf.mul(stopGradient(v), v), v)))(x);
  // d/dv [sg(v) * v + v] = sg(v) + 1
  closeArr(g.dataSync(), [2, 3, 4], 1e-6, 'grad');
});

test('maskedLogSumExp ignores masked entries and stays finite on a fully masked row', async () => {
  await useCpu();
  const x = tf.tensor2d([[1, 2, 50], [3, 4, 5]]);
  const out = maskedLogSumExp(x, tf.tensor2d([[1, 1, 0], [0, 0, 0]])).dataSync();
  close(out[0], Math.log(Math.exp(1) + Math.exp(2)), 1e-5, 'lse');
  assert.ok(Number.isFinite(out[1]));
});
