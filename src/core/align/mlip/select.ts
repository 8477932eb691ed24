// Row selection by a host index list as a one-hot matmul instead of tf.gather: gather's gradient
// needs UnsortedSegmentSum, which the wasm backend does not register.
import * as tf from '@tensorflow/tfjs-core';
import { matmul } from '../../models/ops';

/** x[idx[p], ...] for each p, as [idx.length, ...x.shape.slice(1)]; differentiable on every backend. */
export function selectRows<T extends tf.Tensor>(x: T, idx: ArrayLike<number>): T {
  const rows = x.shape[0];
  const rest = x.shape.slice(1);
  const width = rest.reduce((a, b) => a * b, 1);
  const onehot = new Float32Array(idx.length * rows);
  for (let p = 0; p < idx.length; p++) onehot[p * rows + idx[p]] = 1;
  // x is the left operand (as x^T): the wasm backend caches a right operand's packed weights by
  // tensor id, and x often shares its id with an encoder output already used in another shape.
  const pickedT = matmul(x.reshape([rows, width]) as tf.Tensor2D, tf.tensor2d(onehot, [idx.length, rows]), true, true);
  return tf.transpose(pickedT).reshape([idx.length, ...rest]) as T;
}
