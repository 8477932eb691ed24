// Row selection by a host index list as a one-hot matmul instead of tf.gather: gather's gradient
// needs UnsortedSegmentSum, which the wasm backend does not register.
import * as tf from '@tensorflow/tfjs-core';
import { matmul } from '../models/ops';

/** Row indices: a host list, or an int32 tensor computed on the device (no read-back). */
export type RowIndex = ArrayLike<number> | tf.Tensor1D;

/** x[idx[p], ...] for each p, as [idx.length, ...x.shape.slice(1)]; differentiable on every backend. */
export function selectRows<T extends tf.Tensor>(x: T, idx: RowIndex): T {
  const rows = x.shape[0];
  const rest = x.shape.slice(1);
  const width = rest.reduce((a, b) => a * b, 1);
  let onehot: tf.Tensor2D;
  let count: number;
  if (idx instanceof tf.Tensor) {
    count = idx.shape[0];
    onehot = tf.oneHot(tf.cast(idx, 'int32') as tf.Tensor1D, rows, 1, 0, 'float32') as tf.Tensor2D;
  } else {
    count = idx.length;
    const hot = new Float32Array(count * rows);
    for (let p = 0; p < count; p++) hot[p * rows + idx[p]] = 1;
    onehot = tf.tensor2d(hot, [count, rows]);
  }
  // x is the left operand (as x^T): the wasm backend caches a right operand's packed weights by
  // tensor id, and x often shares its id with an encoder output already used in another shape.
  const pickedT = matmul(x.reshape([rows, width]) as tf.Tensor2D, onehot, true, true);
  return tf.transpose(pickedT).reshape([count, ...rest]) as T;
}
