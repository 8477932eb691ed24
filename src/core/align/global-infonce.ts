// Global (instance-level) contrastive alignment shared by every method (METHODS.md section 2),
// plus the small tensor helpers the local losses share.
import * as tf from '@tensorflow/tfjs-core';
import { l2norm, matmul } from '../models/ops';

/** Cosine similarity of every image embedding with every report embedding [B_img, B_txt]. */
export function cosineMatrix(imageGlobal: tf.Tensor2D, textGlobal: tf.Tensor2D): tf.Tensor2D {
  return matmul(l2norm(imageGlobal) as tf.Tensor2D, l2norm(textGlobal) as tf.Tensor2D, false, true);
}

/**
 * Mean over rows of -log softmax(logits)[i, i]: cross-entropy with the matched pair on the
 * diagonal as the target (square logits, in-batch negatives).
 */
export function diagonalCrossEntropy(logits: tf.Tensor2D): tf.Scalar {
  const b = logits.shape[0];
  const logp = tf.logSoftmax(logits);
  return tf.neg(tf.div(tf.sum(tf.mul(logp, tf.eye(b))), b)) as tf.Scalar;
}

/**
 * Two-direction InfoNCE on square logits S [B_img, B_txt]: wImageToText * CE(S) + wTextToImage * CE(S^T).
 * Weights 1 / 1 are GLoRIA's and MGCA's sum; ConVIRT uses 0.75 / 0.25.
 */
export function symmetricInfoNCE(logits: tf.Tensor2D, wImageToText = 1, wTextToImage = 1): tf.Scalar {
  const i2t = diagonalCrossEntropy(logits);
  const t2i = diagonalCrossEntropy(tf.transpose(logits) as tf.Tensor2D);
  return tf.add(tf.mul(i2t, wImageToText), tf.mul(t2i, wTextToImage)) as tf.Scalar;
}

/** Global InfoNCE on cosine similarity / tau. */
export function globalInfoNCE(
  imageGlobal: tf.Tensor2D,
  textGlobal: tf.Tensor2D,
  tau: number,
  wImageToText = 1,
  wTextToImage = 1,
): tf.Scalar {
  return symmetricInfoNCE(tf.div(cosineMatrix(imageGlobal, textGlobal), tau) as tf.Tensor2D, wImageToText, wTextToImage);
}

/**
 * Identity in the forward pass, zero gradient in the backward pass (torch's `.detach()` /
 * `torch.no_grad()`): Sinkhorn codes and MGCA's fixed word weights must not be trained through.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((input: tf.Tensor) => ({
    value: tf.clone(input),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as Parameters<typeof tf.customGrad>[0]);
  return f(x) as T;
}

/**
 * log sum_i mask_i exp(x_i) over the last axis. Masked entries get -1e9 (never -Infinity), so a
 * row with no real entry stays finite (about -1e9) instead of NaN.
 */
export function maskedLogSumExp(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  return tf.logSumExp(tf.add(x, tf.mul(tf.sub(1, mask), -1e9)), -1);
}

/** Sum over the last axis of x * mask, divided by the number of real entries (at least 1). */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  return tf.div(tf.sum(tf.mul(x, mask), -1), tf.maximum(tf.sum(mask, -1), 1));
}

/** Uniform weights over the real entries of each row (zeros for a fully masked row). */
export function uniformOverMask(mask: tf.Tensor2D): tf.Tensor2D {
  return tf.div(mask, tf.maximum(tf.sum(mask, -1, true), 1)) as tf.Tensor2D;
}
