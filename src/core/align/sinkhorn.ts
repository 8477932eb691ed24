// Sinkhorn-Knopp equipartition (SwAV / MGCA `sinkhorn`): soft assignments of a batch to
// prototypes with equal prototype marginals, used as stop-gradient targets.
import * as tf from '@tensorflow/tfjs-core';
import { stopGradient } from './global-infonce';

/**
 * scores [B, K] (prototype logits of B samples) -> assignment codes [B, K], each row summing to 1.
 * Q = exp(scores / eps)^T, normalised to sum 1, then `iters` rounds of: rows (prototypes) scaled
 * to 1/K, columns (samples) scaled to 1/B; finally each sample's column renormalised to 1.
 * No gradient flows through the codes.
 */
export function sinkhorn(scores: tf.Tensor2D, eps: number, iters: number): tf.Tensor2D {
  const [b, k] = scores.shape;
  const z = tf.div(stopGradient(scores), eps);
  // Subtracting the global max changes nothing after the first normalisation but keeps exp finite.
  let q: tf.Tensor = tf.transpose(tf.exp(tf.sub(z, tf.max(z)))); // [K, B]
  q = tf.div(q, tf.sum(q));
  for (let it = 0; it < iters; it++) {
    q = tf.mul(q, tf.div(1 / k, tf.sum(q, 1, true)));
    q = tf.mul(q, tf.div(1 / b, tf.sum(q, 0, true)));
  }
  q = tf.div(q, tf.sum(q, 0, true));
  return stopGradient(tf.transpose(q) as tf.Tensor2D);
}
