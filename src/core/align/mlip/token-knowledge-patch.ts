// MLIP token-knowledge-patch alignment [design, METHODS.md section 5]: a report word linked to a
// knowledge-base entity gets that entity's learned embedding, which attends over the image's
// patches and over the report's own words (all cosine, at localTau). The two attended contexts
// of one linked word must match each other and no other linked word's patch context in the batch
// (token-level InfoNCE, both directions). Other mentions of the same entity are not used as
// negatives: "effusion" in two reports is the same knowledge, not a contrast.
import * as tf from '@tensorflow/tfjs-core';
import { bmm, l2norm, maskedSoftmax } from '../../models/ops';
import { selectRows } from '../select';

export interface KnowledgeAttention {
  /** Entity -> patch attention of every word slot [B, N, M] (meaningful on linked slots only). */
  patchAttention: tf.Tensor3D;
  /** Entity -> word attention over the real words of the same report [B, N, N]. */
  wordAttention: tf.Tensor3D;
  /** l2-normalised attended patch context [B, N, D]. */
  patchContext: tf.Tensor3D;
  /** l2-normalised attended word context [B, N, D]. */
  wordContext: tf.Tensor3D;
}

/** Linked word slots used by the loss: real, linked, not negated. */
export interface LinkedTokens {
  /** Flat slot index b * N + i. */
  slots: number[];
  /** Entity row of each slot. */
  entities: number[];
}

export function selectLinkedTokens(entityIds: ArrayLike<number>, entityNegated: ArrayLike<number> | undefined, wordMask: ArrayLike<number>): LinkedTokens {
  const slots: number[] = [];
  const entities: number[] = [];
  for (let k = 0; k < entityIds.length; k++) {
    if (entityIds[k] < 0 || !(wordMask[k] > 0) || (entityNegated && entityNegated[k])) continue;
    slots.push(k);
    entities.push(entityIds[k]);
  }
  return { slots, entities };
}

/** Entity embedding of every word slot [B, N, D] (row 0 for unlinked slots; callers mask them). */
export function slotEntityEmbeddings(table: tf.Tensor2D, entityIds: Int32Array, b: number, n: number): tf.Tensor3D {
  return selectRows(table, Array.from(entityIds, (k) => Math.max(0, k))).reshape([b, n, table.shape[1]]) as tf.Tensor3D;
}

/** Entity embeddings (one per word slot) attending over patches and words, all l2-normalised, at temperature tau. */
export function knowledgeAttention(entity: tf.Tensor3D, words: tf.Tensor3D, regions: tf.Tensor3D, wordMask: tf.Tensor2D, tau: number): KnowledgeAttention {
  const [b, n] = wordMask.shape;
  const q = l2norm(entity) as tf.Tensor3D;
  const e = l2norm(words) as tf.Tensor3D;
  const v = l2norm(regions) as tf.Tensor3D;
  const patchAttention = tf.softmax(tf.div(bmm(q, v, false, true), tau)) as tf.Tensor3D;
  const wordAttention = maskedSoftmax(tf.div(bmm(q, e, false, true), tau), wordMask.reshape([b, 1, n])) as tf.Tensor3D;
  return {
    patchAttention,
    wordAttention,
    patchContext: l2norm(bmm(patchAttention, v)) as tf.Tensor3D,
    wordContext: l2norm(bmm(wordAttention, e)) as tf.Tensor3D,
  };
}

/**
 * Token-level InfoNCE over the linked tokens of the batch: logits c_w(t) . c_v(u) / tau; pairs of
 * different tokens with the same entity are masked out; mean of the two directions.
 * Null when fewer than two tokens (no contrast to learn).
 */
export function tokenKnowledgeLoss(att: Pick<KnowledgeAttention, 'patchContext' | 'wordContext'>, tokens: LinkedTokens, tau: number): tf.Scalar | null {
  const t = tokens.slots.length;
  if (t < 2) return null;
  const d = att.wordContext.shape[2];
  const q = selectRows(att.wordContext.reshape([-1, d]) as tf.Tensor2D, tokens.slots);
  const k = selectRows(att.patchContext.reshape([-1, d]) as tf.Tensor2D, tokens.slots);
  const mask = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) mask[i * t + j] = i !== j && tokens.entities[i] === tokens.entities[j] ? -1e9 : 0;
  const logits = tf.add(tf.div(tf.matMul(q, k, false, true), tau), tf.tensor2d(mask, [t, t])) as tf.Tensor2D;
  const eye = tf.eye(t);
  const rows = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), eye)));
  const cols = tf.neg(tf.sum(tf.mul(tf.logSoftmax(tf.transpose(logits)), eye)));
  return tf.div(tf.add(rows, cols), 2 * t) as tf.Scalar;
}
