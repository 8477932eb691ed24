import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readAll, readAllAndDispose, readOne, readScalar } from '../../../src/core/runtime/host-read';

test('readAll returns each tensor (any rank, int32 cast to float) in order, and leaks nothing', async () => {
  await tf.setBackend('cpu');
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  const b = tf.scalar(7);
  const c = tf.tensor1d([5, -6, 8], 'int32');
  const before = tf.memory().numTensors;
  const [x, y, z] = await readAll([a, b, c]);
  assert.deepEqual(Array.from(x), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(y), [7]);
  assert.deepEqual(Array.from(z), [5, -6, 8]);
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  assert.deepEqual(await readAll([]), []);
  assert.deepEqual(Array.from(await readOne(c)), [5, -6, 8]);
  assert.equal(await readScalar(b), 7);
  tf.dispose([a, b, c]);
});

test('readAllAndDispose reads, then releases the tensors', async () => {
  await tf.setBackend('cpu');
  const before = tf.memory().numTensors;
  const [x] = await readAllAndDispose([tf.tensor1d([1, 2]), tf.scalar(3)]);
  assert.deepEqual(Array.from(x), [1, 2]);
  assert.equal(tf.memory().numTensors, before);
});
