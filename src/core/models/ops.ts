// Differentiable building blocks shared by every encoder and alignment method. Signatures are
// fixed; implementations may be swapped for formulations that stay on a backend's fast path
// (see src/core/runtime). All tensors NHWC for images; weights stored in TF layout.
import * as tf from '@tensorflow/tfjs-core';

/** a @ b for 2-D tensors, with optional transposes. */
export function matmul(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
  return tf.matMul(a, b, transposeA, transposeB);
}

/** x[..., in] @ w[in, out] + b[out]. */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const shape = x.shape;
  const inDim = shape[shape.length - 1];
  const x2 = x.reshape([-1, inDim]) as tf.Tensor2D;
  let y: tf.Tensor = matmul(x2, w);
  if (b) y = tf.add(y, b);
  return y.reshape([...shape.slice(0, -1), w.shape[1]]);
}

/** Batched matmul a[B,M,K] @ b[B,K,N] (or with transposes of the last two axes). */
export function bmm(a: tf.Tensor3D, b: tf.Tensor3D, transposeA = false, transposeB = false): tf.Tensor3D {
  return tf.matMul(a, b, transposeA, transposeB);
}

/** 2-D convolution, x [B,H,W,Cin], w [kh,kw,Cin,Cout], 'same' padding = (k-1)/2 for odd k. */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride = 1, pad: number | 'same' | 'valid' = 'same'): tf.Tensor4D {
  if (typeof pad === 'number') {
    const padded = pad > 0 ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
    return tf.conv2d(padded, w, stride, 'valid');
  }
  return tf.conv2d(x, w, stride, pad);
}

/** Layer normalisation over the last axis. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-12): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
}

/** GELU (tanh approximation, as BERT implementations commonly use). */
export function gelu(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(c, tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));
}

/**
 * Softmax over the last axis where mask==0 positions get -1e9 before the softmax (never -Infinity:
 * fully masked rows must stay finite). mask broadcasts against logits.
 */
export function maskedSoftmax(logits: tf.Tensor, mask?: tf.Tensor): tf.Tensor {
  if (!mask) return tf.softmax(logits);
  const neg = tf.mul(tf.sub(1, mask), -1e9);
  return tf.softmax(tf.add(logits, neg));
}

/** L2-normalise along the last axis. */
export function l2norm(x: tf.Tensor, eps = 1e-8): tf.Tensor {
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), -1, true), eps)));
}
