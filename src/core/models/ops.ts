// Differentiable building blocks shared by every encoder and alignment method. Signatures are
// fixed; implementations may be swapped for formulations that stay on a backend's fast path
// (see src/core/runtime). All tensors NHWC for images; weights stored in TF layout.
//
// Matmul and conv forms that are slow on wasm (transposed / batched matmul, conv input and
// filter gradients) are fixed once at kernel level in src/core/runtime/wasm-kernels.ts, so the
// tf ops here and their autodiff gradients reach the fast paths on every backend. What remains
// here is cutting the kernel count: layerNorm and gelu get closed-form gradients (autodiff through
// tf.moments / tf.pow emits several times more kernels, each a full pass over the activations).
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradient functions and its register_all_gradients module is
// ESM-only (not loadable from the CJS engine bundle); tfjs's node bundle registers all of them
// into the same tfjs-core registry.
import '@tensorflow/tfjs';

/** a @ b for 2-D tensors, with optional transposes. */
export function matmul(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
  return tf.matMul(a, b, transposeA, transposeB);
}

/** x[..., in] @ w[in, out] + b[out]. */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const shape = x.shape;
  const inDim = shape[shape.length - 1];
  const x2 = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  const y = b ? tf.add(tf.matMul(x2, w), b) : tf.matMul(x2, w);
  return x.rank === 2 ? y : tf.reshape(y, [...shape.slice(0, -1), w.shape[1]]);
}

/** Batched matmul a[B,M,K] @ b[B,K,N] (or with transposes of the last two axes). */
export function bmm(a: tf.Tensor3D, b: tf.Tensor3D, transposeA = false, transposeB = false): tf.Tensor3D {
  const [ba] = a.shape;
  const [bb] = b.shape;
  if (ba === bb) return tf.matMul(a, b, transposeA, transposeB);
  // A batch of 1 broadcasts. tfjs's BatchMatMul gradient does not reduce broadcast batch axes
  // (it returns a [B,...] gradient for a [1,...] input and the tape rejects it), so the shared
  // operand is folded into one 2-D product instead, which is also the faster form.
  if (bb === 1) {
    const a2 = transposeA ? tf.transpose(a, [0, 2, 1]) : a;
    const m = a2.shape[1] as number;
    const k = a2.shape[2] as number;
    const b2 = tf.reshape(b, [b.shape[1], b.shape[2]]) as tf.Tensor2D;
    const y = tf.matMul(tf.reshape(a2, [ba * m, k]) as tf.Tensor2D, b2, false, transposeB);
    return tf.reshape(y, [ba, m, y.shape[1] as number]);
  }
  if (ba === 1) {
    const a2 = tf.reshape(a, [a.shape[1], a.shape[2]]) as tf.Tensor2D;
    const b2 = transposeB ? b : tf.transpose(b, [0, 2, 1]); // [B, N, K]
    const n = b2.shape[1] as number;
    const k = b2.shape[2] as number;
    // (a @ b_i)^T = b_i^T @ a^T: stack the b_i^T rows, one product, then restore [B, M, N].
    const y = tf.matMul(tf.reshape(b2, [bb * n, k]) as tf.Tensor2D, a2, false, !transposeA); // [B*N, M]
    return tf.transpose(tf.reshape(y, [bb, n, y.shape[1] as number]), [0, 2, 1]);
  }
  throw new Error(`bmm: batch sizes ${ba} and ${bb} do not broadcast`);
}

/** 2-D convolution, x [B,H,W,Cin], w [kh,kw,Cin,Cout], 'same' padding = (k-1)/2 for odd k. */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, stride = 1, pad: number | 'same' | 'valid' = 'same'): tf.Tensor4D {
  if (typeof pad === 'number') {
    // Explicit symmetric padding as a conv attribute: one kernel instead of pad + conv, and the
    // gradient needs no slice of a padded tensor.
    return tf.conv2d(x, w, stride, [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
  }
  return tf.conv2d(x, w, stride, pad);
}

/** Sums `t` over every axis but the last (gradients of per-feature parameters). */
function sumToLast(t: tf.Tensor): tf.Tensor1D {
  const last = t.shape[t.shape.length - 1];
  return tf.sum(tf.reshape(t, [-1, last]), 0) as tf.Tensor1D;
}

/** Layer normalisation over the last axis. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-12): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, g, bt] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const { mean, variance } = tf.moments(xi, -1, true);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(tf.sub(xi, mean), rstd);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), bt),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, gm] = saved;
        const dxhat = tf.mul(dy, gm);
        // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        const m1 = tf.mean(dxhat, -1, true);
        const m2 = tf.mean(tf.mul(dxhat, xh), -1, true);
        const dx = tf.mul(tf.sub(tf.sub(dxhat, m1), tf.mul(xh, m2)), rs);
        return [dx, sumToLast(tf.mul(dy, xh)), sumToLast(dy)];
      },
    };
  });
  return f(x, gamma, beta);
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** GELU (tanh approximation, as BERT implementations commonly use). */
export function gelu(x: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xi = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const x2 = tf.square(xi);
    const t = tf.tanh(tf.mul(tf.mul(xi, tf.add(tf.mul(x2, GELU_A), 1)), GELU_C));
    save([xi, x2, t]);
    return {
      value: tf.mul(tf.mul(xi, 0.5), tf.add(t, 1)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, xsq, th] = saved;
        // d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)
        const sech2 = tf.sub(1, tf.square(th));
        const inner = tf.mul(tf.add(tf.mul(xsq, 3 * GELU_A), 1), GELU_C);
        const d = tf.add(tf.mul(tf.add(th, 1), 0.5), tf.mul(tf.mul(tf.mul(xs, 0.5), sech2), inner));
        return [tf.mul(dy, d)];
      },
    };
  });
  return f(x);
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
  return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), eps)));
}

/**
 * `fn(...inputs)` computed on the device as a constant of the gradient tape: no gradient flows
 * back into `inputs`, and the ops inside (sorts, comparisons, index arithmetic, which have no
 * gradient) are not recorded. Host control data that used to be read back mid-tape (MGCA's
 * clipped word weights, MLIP's negative draws) is computed this way instead.
 */
export function noGrad<T extends tf.Tensor>(fn: (...inputs: tf.Tensor[]) => T, ...inputs: tf.Tensor[]): T {
  const wrapped = tf.customGrad((...args: unknown[]) => {
    const xs = args.slice(0, inputs.length) as tf.Tensor[];
    return { value: fn(...xs), gradFunc: () => xs.map((x) => tf.zerosLike(x)) };
  });
  return (wrapped as (...xs: tf.Tensor[]) => T)(...inputs);
}
