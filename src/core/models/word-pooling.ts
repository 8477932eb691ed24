// WordPiece pieces -> whole words (GLoRIA's agg_tokens, MGCA): each word is the sum of its pieces.
// Done as one batched matmul with a [B,N,T] 0/1 assignment matrix so it stays on the fast path
// and is differentiable with respect to the piece features.
import * as tf from '@tensorflow/tfjs-core';
import { bmm } from './ops';

/**
 * The [B,N,T] matrix with P[b,n,t] = 1 when piece t of report b belongs to word n.
 * wordIndex [B*T] holds each piece's word slot, -1 for pieces that are no word ([CLS], [SEP],
 * padding). Slots >= maxWords (reports longer than N words) are dropped.
 */
export function wordAssignment(wordIndex: Int32Array, batch: number, seqLen: number, maxWords: number): { matrix: tf.Tensor3D; mask: tf.Tensor2D; maskValues: Float32Array } {
  const mask = wordSlotMask(wordIndex, batch, seqLen, maxWords);
  const m = new Float32Array(batch * maxWords * seqLen);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seqLen; t++) {
      const w = wordIndex[b * seqLen + t];
      if (w >= 0 && w < maxWords) m[(b * maxWords + w) * seqLen + t] = 1;
    }
  }
  return { matrix: tf.tensor3d(m, [batch, maxWords, seqLen]), mask: tf.tensor2d(mask, [batch, maxWords]), maskValues: mask };
}

/**
 * The host [B*N] word mask of a batch's piece-to-word slots (1 = the slot holds a word), read
 * where the assignment matrix is not needed (the trainer plans text variants from it).
 */
export function wordSlotMask(wordIndex: Int32Array, batch: number, seqLen: number, maxWords: number): Float32Array {
  if (wordIndex.length !== batch * seqLen) {
    throw new Error(`wordIndex has ${wordIndex.length} entries, expected B*T = ${batch}*${seqLen}`);
  }
  const mask = new Float32Array(batch * maxWords);
  for (let k = 0; k < wordIndex.length; k++) {
    const w = wordIndex[k];
    if (w < -1) throw new Error(`wordIndex[${k}] = ${w}: expected -1 or a word slot`);
    if (w >= 0 && w < maxWords) mask[Math.floor(k / seqLen) * maxWords + w] = 1;
  }
  return mask;
}

/** tokens [B,T,H] -> words [B,N,H] (sum of pieces) and mask [B,N] (1 = the slot holds a word). */
export function sumPiecesIntoWords(tokens: tf.Tensor3D, wordIndex: Int32Array, maxWords: number): { words: tf.Tensor3D; mask: tf.Tensor2D; maskValues: Float32Array } {
  const [b, t] = tokens.shape;
  const { matrix, mask, maskValues } = wordAssignment(wordIndex, b, t, maxWords);
  return { words: bmm(matrix, tokens), mask, maskValues };
}

/** Per-piece weights [B,T] (e.g. [CLS] attention) -> per-word sums [B,N]. */
export function sumPieceWeightsIntoWords(weights: tf.Tensor2D, wordIndex: Int32Array, maxWords: number): tf.Tensor2D {
  const [b, t] = weights.shape;
  const { matrix } = wordAssignment(wordIndex, b, t, maxWords);
  return tf.reshape(bmm(matrix, tf.reshape(weights, [b, t, 1]) as tf.Tensor3D), [b, maxWords]);
}
