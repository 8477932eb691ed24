import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { sumPieceWeightsIntoWords, sumPiecesIntoWords, wordSlotMask } from '../../../src/core/models/word-pooling';

test('word pooling: pieces summed into words by hand-worked example', async () => {
  await tf.setBackend('cpu');
  // Report 0: [CLS] small ##ish effusion [SEP] pad -> words: "smallish" (pieces 1,2), "effusion" (3)
  // Report 1: [CLS] no pneumo ##thorax [SEP] pad   -> words: "no" (1), "pneumothorax" (2,3)
  const tokens = tf.tensor3d(
    [
      [[9, 9], [1, 0], [2, 0], [0, 5], [9, 9], [9, 9]],
      [[9, 9], [0, 1], [3, 3], [4, 4], [9, 9], [9, 9]],
    ],
    [2, 6, 2],
  );
  const wordIndex = Int32Array.from([-1, 0, 0, 1, -1, -1, -1, 0, 1, 1, -1, -1]);
  const { words, mask } = sumPiecesIntoWords(tokens, wordIndex, 3);
  assert.deepEqual(words.shape, [2, 3, 2]);
  assert.deepEqual(Array.from(words.dataSync()), [3, 0, 0, 5, 0, 0, 0, 1, 7, 7, 0, 0]);
  assert.deepEqual(Array.from(mask.dataSync()), [1, 1, 0, 1, 1, 0]);

  const att = tf.tensor2d([[0.5, 0.1, 0.2, 0.15, 0.05, 0], [0.4, 0.3, 0.1, 0.1, 0.1, 0]]);
  const w = sumPieceWeightsIntoWords(att, wordIndex, 3);
  const got = Array.from(w.dataSync());
  const want = [0.3, 0.15, 0, 0.3, 0.2, 0];
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-6, `${i}: ${g} != ${want[i]}`));
});

test('word pooling: slots beyond maxWords are dropped, bad indices rejected', async () => {
  await tf.setBackend('cpu');
  const tokens = tf.tensor3d([[[1], [2], [4]]], [1, 3, 1]);
  const { words, mask } = sumPiecesIntoWords(tokens, Int32Array.from([0, 1, 2]), 2);
  assert.deepEqual(Array.from(words.dataSync()), [1, 2]);
  assert.deepEqual(Array.from(mask.dataSync()), [1, 1]);
  assert.throws(() => sumPiecesIntoWords(tokens, Int32Array.from([0, 1]), 2), /wordIndex has 2 entries/);
  assert.throws(() => sumPiecesIntoWords(tokens, Int32Array.from([0, -2, 1]), 2), /wordIndex\[1\] = -2/);
});

test("word slot mask: a report's words past maxWords do not mark the next report's slots", () => {
  // Report 0 has three words, report 1 one word; with maxWords 2, report 0's third word has no slot.
  const wordIndex = Int32Array.from([-1, 0, 1, 2, /**/ -1, 0, -1, -1]);
  assert.deepEqual(Array.from(wordSlotMask(wordIndex, 2, 4, 2)), [1, 1, 1, 0]);
  assert.throws(() => wordSlotMask(wordIndex, 2, 3, 2), /wordIndex has 8 entries/);
});

test('word pooling: gradient flows to the pieces of each word', async () => {
  await tf.setBackend('cpu');
  const tokens = tf.tensor3d([[[1], [2], [4]]], [1, 3, 1]);
  const g = tf.grad((t: tf.Tensor) => {
    const { words } = sumPiecesIntoWords(t as tf.Tensor3D, Int32Array.from([-1, 0, 1]), 2);
    return tf.sum(tf.mul(words, tf.tensor3d([[[10], [100]]])));
  })(tokens);
  assert.deepEqual(Array.from(g.dataSync()), [0, 10, 100]);
});
