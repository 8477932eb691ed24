// MLIP image-text matching [design, METHODS.md section 5]: a binary head on a fused (image,
// report) pair says whether they belong together. Fusion = [mean over real words of e_i * c_i ;
// v * t] (l2-normalised word features times their GLoRIA-attended region context, and the two
// global embeddings), then Linear-ReLU-Linear. Negatives: in-batch hard negatives (sampled in
// proportion to exp(similarity / tau), ALBEF-style) and text-swap negatives (text-swap.ts).
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '../../models/params';
import type { Rng } from '../../rng';
import { l2norm, matmul, noGrad } from '../../models/ops';
import { pairedAttention } from '../local-attention';
import { selectRows, type RowIndex } from '../select';
import { cosineMatrix } from '../global-infonce';

export interface ItmHead {
  w1: tf.Tensor2D;
  b1: tf.Tensor1D;
  w2: tf.Tensor2D;
  b2: tf.Tensor1D;
}

export function createItmHead(params: ParamStore, prefix: string, dim: number): ItmHead {
  const fan = 2 * dim;
  return {
    w1: params.param(`${prefix}.itm_w1`, [fan, dim], { kind: 'xavier', fanIn: fan, fanOut: dim }) as tf.Tensor2D,
    b1: params.param(`${prefix}.itm_b1`, [dim], { kind: 'zeros' }) as tf.Tensor1D,
    w2: params.param(`${prefix}.itm_w2`, [dim, 1], { kind: 'xavier', fanIn: dim, fanOut: 1 }) as tf.Tensor2D,
    b2: params.param(`${prefix}.itm_b2`, [1], { kind: 'zeros' }) as tf.Tensor1D,
  };
}

export interface PairSource {
  regions: tf.Tensor3D;
  imageGlobal: tf.Tensor2D;
  /** Word features reports are read from (the batch's, or a text-swapped copy). */
  words: tf.Tensor3D;
  wordMask: tf.Tensor2D;
  textGlobal: tf.Tensor2D;
}

/** Fused features [P, 2D] of the pairs (image imageIdx[p], report textIdx[p]). */
export function pairFeatures(src: PairSource, imageIdx: RowIndex, textIdx: RowIndex, gamma1: number): tf.Tensor2D {
  const regions = selectRows(src.regions, imageIdx);
  const words = selectRows(src.words, textIdx);
  const mask = selectRows(src.wordMask, textIdx);
  const { context } = pairedAttention(words, regions, mask, gamma1);
  const prod = tf.mul(l2norm(words), l2norm(context)); // [P, N, D]
  const m3 = mask.expandDims(2);
  const local = tf.div(tf.sum(tf.mul(prod, m3), 1), tf.maximum(tf.sum(m3, 1), 1));
  const global = tf.mul(l2norm(selectRows(src.imageGlobal, imageIdx)), l2norm(selectRows(src.textGlobal, textIdx)));
  return tf.concat([local, global], 1) as tf.Tensor2D;
}

/** Match logits [P] of fused pair features. */
export function itmLogits(head: ItmHead, features: tf.Tensor2D): tf.Tensor1D {
  const h = tf.relu(tf.add(matmul(features, head.w1), head.b1)) as tf.Tensor2D;
  return tf.add(matmul(h, head.w2), head.b2).reshape([-1]) as tf.Tensor1D;
}

/** Balanced binary cross-entropy: half on the matched pairs, half on the negatives. */
export function itmLoss(posLogits: tf.Tensor1D, negLogits: tf.Tensor1D): tf.Scalar {
  const pos = tf.mean(tf.softplus(tf.neg(posLogits)));
  if (negLogits.shape[0] === 0) return pos as tf.Scalar;
  return tf.div(tf.add(pos, tf.mean(tf.softplus(negLogits))), 2) as tf.Scalar;
}

/** Index drawn from weights (not necessarily normalised); -1 when they are all 0. */
export function drawWeighted(weights: number[], rng: Rng): number {
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return -1;
  let u = rng.next() * total;
  for (let j = 0; j < weights.length; j++) {
    u -= weights[j];
    if (u < 0 && weights[j] > 0) return j;
  }
  for (let j = weights.length - 1; j >= 0; j--) if (weights[j] > 0) return j;
  return -1;
}

/**
 * One negative report per image and one negative image per report, never the matched one.
 * sim [B*B] (image-major cosine) weights the draw by exp(sim / tau) (hard negatives); null draws uniformly.
 */
export function sampleNegatives(sim: ArrayLike<number> | null, b: number, tau: number, rng: Rng): { textForImage: number[]; imageForText: number[] } {
  const weight = (i: number, t: number) => (i === t ? 0 : sim ? Math.exp((sim[i * b + t] - 1) / tau) : 1);
  const textForImage: number[] = [];
  const imageForText: number[] = [];
  for (let i = 0; i < b; i++) textForImage.push(drawWeighted(Array.from({ length: b }, (_, t) => weight(i, t)), rng));
  for (let t = 0; t < b; t++) imageForText.push(drawWeighted(Array.from({ length: b }, (_, i) => weight(i, t)), rng));
  return { textForImage, imageForText };
}

/**
 * sampleNegatives on the device: the same draws (inverse CDF of each row's weights against the
 * host uniforms u [2B]: B for the images' negative reports, then B for the reports' negative
 * images) without reading the similarities back. With imageGlobal/textGlobal null the weights
 * are uniform over the other pairs. Returns int32 indices [B] each; no gradient.
 */
export function sampleNegativesOnDevice(
  imageGlobal: tf.Tensor2D | null, textGlobal: tf.Tensor2D | null, b: number, tau: number, u: tf.Tensor1D,
): { textForImage: tf.Tensor1D; imageForText: tf.Tensor1D } {
  const draw = (...xs: tf.Tensor[]): tf.Tensor1D => {
    const uu = xs[xs.length - 1] as tf.Tensor1D;
    const offDiagonal = tf.sub(1, tf.eye(b));
    const w = xs.length === 3
      ? tf.mul(tf.exp(tf.div(tf.sub(cosineMatrix(xs[0] as tf.Tensor2D, xs[1] as tf.Tensor2D), 1), tau)), offDiagonal)
      : offDiagonal;
    const pick = (weights: tf.Tensor, uniforms: tf.Tensor): tf.Tensor => {
      const cdf = tf.cumsum(weights, 1);
      const target = tf.mul(uniforms.reshape([b, 1]), tf.slice(cdf, [0, b - 1], [b, 1]));
      // The first j whose cumulative weight exceeds the target = how many do not.
      return tf.minimum(tf.sum(tf.cast(tf.lessEqual(cdf, target), 'int32'), 1), b - 1);
    };
    return tf.concat([pick(w, tf.slice(uu, [0], [b])), pick(tf.transpose(w), tf.slice(uu, [b], [b]))]) as tf.Tensor1D;
  };
  const both = imageGlobal && textGlobal ? noGrad(draw, imageGlobal, textGlobal, u) : noGrad(draw, u);
  return { textForImage: tf.slice(both, [0], [b]), imageForText: tf.slice(both, [b], [b]) };
}
