// Word -> region attention (GLoRIA's attention_fn) for matched pairs and for every image-report
// pair of a batch, shared by gloria, reclf and the explanations of the other methods.
import * as tf from '@tensorflow/tfjs-core';
import { bmm, l2norm, maskedSoftmax, matmul } from '../models/ops';
import { spatialPrior } from './srm';

export interface LocalAttention {
  /** Word -> region attention, rows sum to 1 over regions: [B, N, M] (paired) or [Bi, Bt, N, M] (cross). */
  attention: tf.Tensor;
  /** Attended region context c_i = sum_j a_ij v_j: [B, N, D] (paired) or [Bi, Bt, N, D] (cross). */
  context: tf.Tensor;
}

/**
 * GLoRIA attention for matched pairs (image b with report b). s_ij = e_i . v_j on the raw
 * projected features; softmax over the REAL words of each region first (GLoRIA normalises over
 * words, then sharpens over regions), then softmax over regions of gamma1 * that. With a
 * relation [B, N, N] (SRM's 'spatial' stage) each word's attention is weighted by where its
 * related words look (srm.ts's spatialPrior) before the context is formed.
 */
export function pairedAttention(
  words: tf.Tensor3D, regions: tf.Tensor3D, wordMask: tf.Tensor2D, gamma1: number, context: ContextMode = 'attended', kind: AttentionKind = 'gloria',
  relation?: tf.Tensor3D,
): LocalAttention {
  const [b, n] = wordMask.shape;
  let a: tf.Tensor3D;
  if (kind === 'cosine') {
    a = tf.softmax(tf.mul(bmm(l2norm(words) as tf.Tensor3D, l2norm(regions) as tf.Tensor3D, false, true), gamma1)) as tf.Tensor3D; // [B, N, M]
  } else {
    const s = bmm(regions, words, false, true); // [B, M, N]
    const overWords = maskedSoftmax(s, wordMask.reshape([b, 1, n])); // [B, M, N]
    a = tf.softmax(tf.mul(tf.transpose(overWords, [0, 2, 1]), gamma1)) as tf.Tensor3D; // [B, N, M]
  }
  if (relation) a = spatialPrior(a, relation);
  return { attention: a, context: bmm(a, contextRegions(regions, context)) };
}

/**
 * How a word's attention over regions is formed. 'gloria': softmax over the report's words of
 * e_i . v_j first, then over regions of gamma1 times that (values in [0, 1], so attention stays
 * near uniform for long reports); 'cosine': softmax over regions of gamma1 * cos(e_i, v_j), each
 * word on its own (MGCA's form; gamma1 = 1 / temperature). [design]
 */
export type AttentionKind = 'gloria' | 'cosine';

/**
 * What the attended context is made of. 'attended': the regions as they are (GLoRIA). 'centered':
 * each image's regions minus their mean, so that a uniform attention yields a zero context and
 * only attention that leaves uniform carries image information into the local score (the local
 * branch can no longer match words against a mean-pooled image descriptor). [design]
 */
export type ContextMode = 'attended' | 'centered';

export function contextRegions(regions: tf.Tensor3D, mode: ContextMode): tf.Tensor3D {
  return mode === 'centered' ? (tf.sub(regions, tf.mean(regions, 1, true)) as tf.Tensor3D) : regions;
}

/**
 * The same attention for every (image i, report t) pair, as two large matmuls rather than a
 * loop over pairs: scores [Bi*M, Bt*N] in one matmul, contexts as a batched matmul over images.
 * Pair order is image-major: attention [Bi, Bt, N, M], context [Bi, Bt, N, D]. A relation
 * [Bt, N, N] (report t's) applies srm.ts's spatialPrior to every image's attention.
 */
export function crossAttention(
  words: tf.Tensor3D, regions: tf.Tensor3D, wordMask: tf.Tensor2D, gamma1: number, contextMode: ContextMode = 'attended', kind: AttentionKind = 'gloria',
  relation?: tf.Tensor3D,
): LocalAttention {
  const [bt, n, d] = words.shape;
  const [bi, m] = regions.shape;
  let a: tf.Tensor;
  if (kind === 'cosine') {
    const cos = matmul(l2norm(regions).reshape([bi * m, d]) as tf.Tensor2D, l2norm(words).reshape([bt * n, d]) as tf.Tensor2D, false, true);
    a = tf.softmax(tf.mul(tf.transpose(cos.reshape([bi, m, bt, n]), [0, 2, 3, 1]), gamma1)); // [Bi, Bt, N, M]
  } else {
    const s = matmul(regions.reshape([bi * m, d]) as tf.Tensor2D, words.reshape([bt * n, d]) as tf.Tensor2D, false, true);
    const overWords = maskedSoftmax(s.reshape([bi, m, bt, n]), wordMask.reshape([1, 1, bt, n]));
    a = tf.softmax(tf.mul(tf.transpose(overWords, [0, 2, 3, 1]), gamma1)); // [Bi, Bt, N, M]
  }
  if (relation) {
    const rel = tf.broadcastTo(relation, [bi, bt, n, n]).reshape([bi * bt, n, n]) as tf.Tensor3D;
    a = spatialPrior(a.reshape([bi * bt, n, m]) as tf.Tensor3D, rel).reshape([bi, bt, n, m]);
  }
  const context = bmm(a.reshape([bi, bt * n, m]) as tf.Tensor3D, contextRegions(regions, contextMode)).reshape([bi, bt, n, d]);
  return { attention: a, context };
}

/**
 * Parameter-free display attention for methods that learn no word-region attention (ConVIRT):
 * softmax over regions of gamma1 * cos(e_i, v_j). It is not used by any loss.
 */
export function cosineAttention(words: tf.Tensor3D, regions: tf.Tensor3D, gamma1: number): LocalAttention {
  const cos = bmm(l2norm(words) as tf.Tensor3D, l2norm(regions) as tf.Tensor3D, false, true);
  const a = tf.softmax(tf.mul(cos, gamma1)) as tf.Tensor3D;
  return { attention: a, context: bmm(a, regions) };
}

/** Cosine of matching rows along the last axis (broadcasting). */
export function rowCosine(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.sum(tf.mul(l2norm(a), l2norm(b)), -1);
}

/** Zeroes the rows of x [B, N, ...] that belong to padded/special words (mask [B, N]). */
export function zeroMaskedRows<T extends tf.Tensor>(x: T, wordMask: tf.Tensor2D): T {
  const shape = [...wordMask.shape, ...x.shape.slice(2).map(() => 1)];
  return tf.mul(x, wordMask.reshape(shape)) as T;
}

/** Identity word -> word relation [B, N, N] for methods without relation reasoning (padded rows zero). */
export function identityRelation(wordMask: tf.Tensor2D): tf.Tensor3D {
  const [b, n] = wordMask.shape;
  return tf.mul(tf.eye(n).reshape([1, n, n]), wordMask.reshape([b, n, 1])) as tf.Tensor3D;
}

/** How many of a batch's `b` pairs localSubBatch keeps: the first k (k <= 0 or >= b: all b). */
export function localSubBatchSize(b: number, k: number): number {
  return k > 0 && k < b ? k : b;
}

/**
 * The first `k` pairs of a batch for the all-pairs local loss (k <= 0 or >= B: the whole batch).
 * The cross-sample local loss costs O(B^2 N M); a sub-batch keeps it affordable on CPU while
 * the global loss still contrasts the whole batch.
 */
export function localSubBatch<T extends { words: tf.Tensor3D; regions: tf.Tensor3D; wordMask: tf.Tensor2D }>(inputs: T, k: number): T {
  const b = inputs.words.shape[0];
  const s = localSubBatchSize(b, k);
  if (s === b) return inputs;
  return {
    ...inputs,
    words: tf.slice(inputs.words, [0, 0, 0], [s, -1, -1]),
    regions: tf.slice(inputs.regions, [0, 0, 0], [s, -1, -1]),
    wordMask: tf.slice(inputs.wordMask, [0, 0], [s, -1]),
  };
}
