// SRM, semantic-relation reasoning (RECLF; [design] after SGRAF's graph reasoning): K rounds of
// masked graph attention between the local-matching vectors of one image-report pair.
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '../models/params';
import { bmm, l2norm, linear, maskedSoftmax, matmul } from '../models/ops';

/**
 * Where the word -> word relation comes from. [design] 'matching': learned query/key projections
 * of the local-matching vectors (SGRAF); 'words': the same of the word features; 'attention': no
 * parameters, two words relate as much as they look at the same regions.
 */
export type RelationSource = 'matching' | 'words' | 'attention';

/** A learned relation's parameters: query/key projections and an optional per-offset bias. */
export interface RelationParams {
  /** Query/key projections of the relation's source (absent for 'attention'). */
  wq?: tf.Tensor2D;
  wk?: tf.Tensor2D;
  /** Learned relation-logit bias per word offset -K..K (offsets beyond K take the edge's) [2K+1]. */
  offsetBias?: tf.Tensor1D;
}

export interface SrmRound extends RelationParams {
  wg: tf.Tensor2D;
}

/** Round r's relation parameters (`${prefix}srm.${r}.w_q` ...), none for 'attention'. */
export function createRelationParams(params: ParamStore, prefix: string, r: number, source: RelationSource, sourceDim: number, offsets = 0): RelationParams {
  const qkInit = { kind: 'xavier' as const, fanIn: sourceDim, fanOut: sourceDim };
  return {
    ...(source === 'attention' ? {} : {
      wq: params.param(`${prefix}srm.${r}.w_q`, [sourceDim, sourceDim], qkInit) as tf.Tensor2D,
      wk: params.param(`${prefix}srm.${r}.w_k`, [sourceDim, sourceDim], qkInit) as tf.Tensor2D,
    }),
    ...(offsets > 0 ? { offsetBias: params.param(`${prefix}srm.${r}.offset_bias`, [2 * offsets + 1], { kind: 'zeros' }) as tf.Tensor1D } : {}),
  };
}

/** One parameter set per round, as SGRAF stacks separate GraphReasoning modules. */
export function createSrmParams(params: ParamStore, prefix: string, dim: number, rounds: number, source: RelationSource = 'matching', sourceDim = dim, offsets = 0): SrmRound[] {
  const init = { kind: 'xavier' as const, fanIn: dim, fanOut: dim };
  return Array.from({ length: rounds }, (_, r) => ({
    ...createRelationParams(params, prefix, r, source, sourceDim, offsets),
    wg: params.param(`${prefix}srm.${r}.w_g`, [dim, dim], init) as tf.Tensor2D,
  }));
}

/**
 * One-hot of each word pair's clipped offset: row i * n + k has a 1 at min(K, max(-K, k - i)) + K.
 * Host constant [n * n, 2K + 1], shared by the training graph and the ONNX export.
 */
export function offsetOneHot(n: number, k: number): Float32Array {
  const out = new Float32Array(n * n * (2 * k + 1));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[(i * n + j) * (2 * k + 1) + Math.min(k, Math.max(-k, j - i)) + k] = 1;
  return out;
}

/**
 * The fixed distance bias -slope * |i - j| of word pair (i, j) (ALiBi's linear bias), row-major
 * [n * n]. Host constant shared by the training graph and the ONNX export.
 */
export function localityBias(n: number, slope: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = -slope * Math.abs(i - j);
  return out;
}

/** The [1, n, n] relation-logit bias of a round's per-offset weights. */
function offsetBiasMatrix(bias: tf.Tensor1D, n: number): tf.Tensor3D {
  const width = bias.shape[0];
  const k = (width - 1) / 2;
  return matmul(tf.tensor2d(offsetOneHot(n, k), [n * n, width]), bias.reshape([width, 1]) as tf.Tensor2D).reshape([1, n, n]) as tf.Tensor3D;
}

/**
 * Relation from attention overlap: for each word, a masked softmax over the OTHER real words of
 * gammaR * cos(a_i, a_k), a [P, N, M] attention over regions. A word's own map is left out, or
 * every row would peak on itself.
 */
export function attentionRelation(attention: tf.Tensor3D, wordMask: tf.Tensor2D, gammaR: number): tf.Tensor3D {
  const [p, n] = wordMask.shape;
  const a = l2norm(attention) as tf.Tensor3D;
  const cos = bmm(a, a, false, true);
  const others = tf.mul(wordMask.reshape([p, 1, n]), tf.sub(1, tf.eye(n)).reshape([1, n, n]));
  return maskedSoftmax(tf.mul(cos, gammaR), others) as tf.Tensor3D;
}

export interface SrmSource {
  kind: RelationSource;
  /** 'words': the word features [P, N, D]; 'attention': the fixed relation of attentionRelation. */
  x?: tf.Tensor3D;
  /** Leave each word out of its own relation row (the residual already carries the word itself). */
  othersOnly?: boolean;
  /** Cosine relation logits at this sharpness instead of the scaled dot product. */
  cosineGamma?: number;
  /** Sinkhorn rounds that balance a learned relation's columns (balanceRelation); 0 or absent: none. */
  balance?: number;
  /** Slope of the fixed distance bias on a learned relation's logits (localityBias); 0 or absent: none. */
  locality?: number;
}

/**
 * m [P, N, d] (P pairs), wordMask [P, N]. Each round: E = softmax((X W_q)(X W_k)^T / sqrt(d_x))
 * over real words only (X = M, or the word features), or E given ('attention'), then
 * M <- M + ReLU((E M) W_g). Returns the reasoned M and the relation matrix E of the last round
 * (rows of padded words are still normalised; callers zero them).
 */
export function srmReason(m: tf.Tensor3D, wordMask: tf.Tensor2D, rounds: SrmRound[], source: SrmSource = { kind: 'matching' }): { m: tf.Tensor3D; relation: tf.Tensor3D } {
  let cur = m;
  let relation: tf.Tensor3D | null = null;
  for (const r of rounds) {
    relation = source.kind === 'attention'
      ? source.x as tf.Tensor3D
      : learnedRelation(source.kind === 'words' ? (source.x as tf.Tensor3D) : cur, wordMask, r, source.othersOnly ?? false, source.cosineGamma, source.balance, source.locality);
    cur = tf.add(cur, tf.relu(linear(bmm(relation, cur), r.wg))) as tf.Tensor3D;
  }
  if (!relation) throw new Error('srmReason needs at least one round');
  return { m: cur, relation };
}

/**
 * Relation over x [P, N, dx]: masked softmax of (X W_q)(X W_k)^T / sqrt(dx), or of
 * cosineGamma * cos(X W_q, X W_k), plus the offset bias, over the real words, or over the other
 * real words when othersOnly, with the fixed distance bias of slope `locality` (localityBias); then
 * `balance` Sinkhorn rounds (balanceRelation).
 */
export function learnedRelation(x: tf.Tensor3D, wordMask: tf.Tensor2D, r: RelationParams, othersOnly: boolean, cosineGamma?: number, balance = 0, locality = 0): tf.Tensor3D {
  const [p, n] = wordMask.shape;
  const keyMask = othersOnly ? tf.mul(wordMask.reshape([p, 1, n]), tf.sub(1, tf.eye(n)).reshape([1, n, n])) : wordMask.reshape([p, 1, n]);
  let logits: tf.Tensor;
  if (cosineGamma !== undefined) {
    const q = l2norm(linear(x, r.wq as tf.Tensor2D)) as tf.Tensor3D;
    const k = l2norm(linear(x, r.wk as tf.Tensor2D)) as tf.Tensor3D;
    logits = tf.mul(bmm(q, k, false, true), cosineGamma);
  } else {
    // (X W_q)(X W_k)^T = (X (W_q W_k^T)) X^T: one [P*N, d] x [d, d] product instead of two.
    const qk = linear(x, matmul(r.wq as tf.Tensor2D, r.wk as tf.Tensor2D, false, true)) as tf.Tensor3D;
    logits = tf.div(bmm(qk, x, false, true), Math.sqrt(x.shape[2]));
  }
  if (r.offsetBias) logits = tf.add(logits, offsetBiasMatrix(r.offsetBias, n));
  if (locality > 0) logits = tf.add(logits, tf.tensor3d(localityBias(n, locality), [1, n, n]));
  const relation = maskedSoftmax(logits, keyMask) as tf.Tensor3D;
  if (balance > 0) return balanceRelation(relation, tf.mul(keyMask, wordMask.reshape([p, n, 1])) as tf.Tensor3D, balance);
  // A report of one word has no other word: its row is zero rather than uniform over padding.
  return othersOnly ? tf.mul(relation, keyMask) as tf.Tensor3D : relation;
}

/** Below this a column or row sum counts as empty (a padded word's, or a one-word report's). */
export const BALANCE_EPS = 1e-9;

/**
 * Sinkhorn-Knopp balancing of relation rows [P, N, N] over the pairs `pairMask` allows: `rounds`
 * times, each column scaled to sum 1, then each row. A row softmax lets every word take the same
 * few words as its relations: trained on the synthetic benchmark, most rows of a report pick the
 * same one or two hub words whatever the row's word (a summary of the report mixed into every word).
 * Balanced, a word can be the relation of only about one word's worth of rows, so rows must pick
 * partners by what they share (Sinkformers, Sander et al. 2022). Rows end summing to 1; gradients
 * flow through every round. Empty rows and columns stay zero.
 */
export function balanceRelation(relation: tf.Tensor3D, pairMask: tf.Tensor3D, rounds: number): tf.Tensor3D {
  let r: tf.Tensor = tf.mul(relation, pairMask);
  for (let t = 0; t < rounds; t++) {
    r = tf.div(r, tf.maximum(tf.sum(r, 1, true), BALANCE_EPS));
    r = tf.div(r, tf.maximum(tf.sum(r, 2, true), BALANCE_EPS));
  }
  return r as tf.Tensor3D;
}

/**
 * Floor of the spatial prior, a tenth of uniform attention: a region that no related word looks
 * at is damped, not erased, and a word with no related word keeps its own attention.
 */
export const SPATIAL_PRIOR_FLOOR = 0.1;

/**
 * srmStage 'spatial': each word's attention a_i [.., N, M] times the relation-weighted attention
 * of its related words, sum_k E_ik a_k (relation [.., N, N], rows over the other words), plus a
 * floor, renormalised over regions. A product of experts: the word's own evidence and where the
 * words it relates to look.
 */
export function spatialPrior(attention: tf.Tensor3D, relation: tf.Tensor3D): tf.Tensor3D {
  // floor * mean_j a_ij = floor / M: rows of attention sum to 1 (the export computes it alike).
  const prior = tf.add(bmm(relation, attention), tf.mul(tf.mean(attention, -1, true), SPATIAL_PRIOR_FLOOR));
  const a = tf.mul(attention, prior);
  return tf.div(a, tf.sum(a, -1, true)) as tf.Tensor3D;
}
