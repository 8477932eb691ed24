// MGCA (Wang et al. 2022): instance-level InfoNCE + within-sample token-level alignment weighted
// by BERT's [CLS] attention (clipped to its 10th-90th percentile) + prototype (disease-level)
// alignment with Sinkhorn codes and swapped prediction. Loss weights 1 / 1 / 1.
import * as tf from '@tensorflow/tfjs-core';
import type { AlignExplanation, AlignInputs, AlignMethod, MethodFactoryArgs } from './types';
import { cosineMatrix, globalInfoNCE, uniformOverMask } from './global-infonce';
import { identityRelation, pairedAttention, zeroMaskedRows } from './local-attention';
import { resolveMethodConfig } from './method-config';
import { sinkhorn } from './sinkhorn';
import { bmm, l2norm, matmul, maskedSoftmax, noGrad } from '../models/ops';

/** torch.quantile (linear interpolation) of an unsorted list. */
export function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * MGCA's fixed word weights: per report, the real words' [CLS] attention clipped to its
 * [low, high] quantiles and renormalised to sum 1 over real words; padded words get 0. A report
 * whose attention sums to 0 falls back to uniform weights.
 */
export function clipWordWeights(cls: ArrayLike<number>, mask: ArrayLike<number>, b: number, n: number, low = 0.1, high = 0.9): Float32Array {
  const out = new Float32Array(b * n);
  for (let r = 0; r < b; r++) {
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (mask[r * n + i] > 0) idx.push(r * n + i);
    if (idx.length === 0) continue;
    const vals = idx.map((k) => cls[k]);
    const lo = quantile(vals, low);
    const hi = quantile(vals, high);
    let sum = 0;
    for (const k of idx) sum += out[k] = Math.min(hi, Math.max(lo, cls[k]));
    for (const k of idx) out[k] = sum > 0 ? out[k] / sum : 1 / idx.length;
  }
  return out;
}

/**
 * clipWordWeights on the device, for a batch: the quantiles come from a sort (top-k of every
 * real word) and linear interpolation by one-hot picks, so no value is read back to the host.
 * Agrees with clipWordWeights to float32 rounding.
 */
export function clipWordWeightsOnDevice(cls: tf.Tensor2D, mask: tf.Tensor2D, low: number, high: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, n] = mask.shape;
    const real = tf.cast(tf.greater(mask, 0), 'float32');
    const count = tf.sum(real, -1, true); // [B, 1]
    // Padding sorts last: real attentions are >= 0.
    const descending = tf.topk(tf.where(tf.greater(real, 0), cls, tf.fill([b, n], -1e30)), n, true).values;
    const slots = tf.range(0, n, 1, 'float32').reshape([1, n]);
    const pick = (ascendingIdx: tf.Tensor): tf.Tensor => {
      const idx = tf.sub(tf.sub(count, 1), ascendingIdx); // position in the descending order
      return tf.sum(tf.mul(descending, tf.cast(tf.equal(slots, idx), 'float32')), -1, true);
    };
    const quantileOf = (q: number): tf.Tensor => {
      const pos = tf.mul(tf.maximum(tf.sub(count, 1), 0), q);
      const lo = tf.floor(pos);
      const hi = tf.ceil(pos);
      const vLo = pick(lo);
      return tf.add(vLo, tf.mul(tf.sub(pick(hi), vLo), tf.sub(pos, lo)));
    };
    const clipped = tf.mul(tf.minimum(quantileOf(high), tf.maximum(quantileOf(low), cls)), real);
    const sum = tf.sum(clipped, -1, true);
    const uniform = tf.div(real, tf.maximum(count, 1));
    return tf.where(tf.greater(tf.tile(sum, [1, n]), 0), tf.div(clipped, tf.maximum(sum, 1e-30)), uniform) as tf.Tensor2D;
  });
}

/**
 * Word weights as a constant of the gradient tape [B, N] (MGCA keeps them fixed), computed on
 * the device; uniform without clsAttention.
 */
export function mgcaWordWeights(inputs: Pick<AlignInputs, 'wordMask' | 'clsAttention'>, low: number, high: number): tf.Tensor2D {
  if (!inputs.clsAttention) return uniformOverMask(inputs.wordMask);
  return noGrad((cls, mask) => clipWordWeightsOnDevice(cls as tf.Tensor2D, mask as tf.Tensor2D, low, high), inputs.clsAttention, inputs.wordMask);
}

/** -log softmax(logits)[.., i, i] over the last axis with masked keys, as [B, N]. */
function maskedDiagNLL(logits: tf.Tensor3D, keyMask: tf.Tensor): tf.Tensor2D {
  const n = logits.shape[1];
  const logp = tf.logSoftmax(tf.add(logits, tf.mul(tf.sub(1, keyMask), -1e9)));
  return tf.neg(tf.sum(tf.mul(logp, tf.eye(n).reshape([1, n, n])), -1)) as tf.Tensor2D;
}

/** Token-level InfoNCE of one side: queries q attend over keys k; each query must pick its own context. */
function tokenSide(q: tf.Tensor3D, k: tf.Tensor3D, qMask: tf.Tensor2D, kMask: tf.Tensor2D | null, qWeights: tf.Tensor2D, tau: number): tf.Scalar {
  const [b, nq] = qMask.shape;
  const att = maskedSoftmax(tf.div(bmm(q, k, false, true), tau), kMask ? kMask.reshape([b, 1, -1]) : undefined) as tf.Tensor3D;
  const ctx = l2norm(bmm(att, k)) as tf.Tensor3D; // [B, Nq, D]
  const sim = tf.div(bmm(q, ctx, false, true), tau) as tf.Tensor3D; // [B, query, context]
  const rowMask = qMask.reshape([b, 1, nq]);
  const ce1 = maskedDiagNLL(sim, rowMask);
  const ce2 = maskedDiagNLL(tf.transpose(sim, [0, 2, 1]) as tf.Tensor3D, rowMask);
  const weighted = tf.mul(tf.add(ce1, ce2), tf.mul(qWeights, 0.5));
  return tf.div(tf.sum(weighted), b) as tf.Scalar;
}

/**
 * MGCA's within-sample token-level loss (loss_word + loss_patch), one softmax at tau: negatives
 * are the other words (regions) of the same pair. wordWeights [B, N] sum to 1 over real words;
 * regions are weighted uniformly (no image [CLS] attention is available).
 */
export function mgcaTokenLoss(inputs: Pick<AlignInputs, 'words' | 'regions' | 'wordMask'>, wordWeights: tf.Tensor2D, tau: number): { word: tf.Scalar; patch: tf.Scalar } {
  const e = l2norm(inputs.words) as tf.Tensor3D;
  const v = l2norm(inputs.regions) as tf.Tensor3D;
  const [b, m] = v.shape;
  const regionMask = tf.ones([b, m]) as tf.Tensor2D;
  const word = tokenSide(e, v, inputs.wordMask, null, wordWeights, tau);
  const patch = tokenSide(v, e, regionMask, inputs.wordMask, tf.div(regionMask, m) as tf.Tensor2D, tau);
  return { word, patch };
}

/** MGCA prototype loss: swapped prediction of Sinkhorn codes between image and report. */
export function prototypeLoss(imageGlobal: tf.Tensor2D, textGlobal: tf.Tensor2D, prototypes: tf.Tensor2D, eps: number, iters: number, temp: number): tf.Scalar {
  // MGCA renormalises the prototype weights in place before each step; normalising inside the
  // forward pass gives the same prototypes without mutating a variable during the loss.
  const p = l2norm(prototypes) as tf.Tensor2D;
  const imgOut = matmul(l2norm(imageGlobal) as tf.Tensor2D, p, false, true);
  const txtOut = matmul(l2norm(textGlobal) as tf.Tensor2D, p, false, true);
  const imgCode = sinkhorn(imgOut, eps, iters);
  const txtCode = sinkhorn(txtOut, eps, iters);
  const imgLogP = tf.logSoftmax(tf.div(imgOut, temp));
  const txtLogP = tf.logSoftmax(tf.div(txtOut, temp));
  const i2t = tf.neg(tf.mean(tf.sum(tf.mul(imgCode, txtLogP), 1)));
  const t2i = tf.neg(tf.mean(tf.sum(tf.mul(txtCode, imgLogP), 1)));
  return tf.div(tf.add(i2t, t2i), 2) as tf.Scalar;
}

export function createMgca(args: MethodFactoryArgs): AlignMethod {
  const cfg = resolveMethodConfig('mgca', args.config);
  const k = cfg.prototypes as number;
  const prototypes = args.params.param('align.mgca.prototypes', [k, args.dim], { kind: 'uniform', limit: 1 / Math.sqrt(args.dim) });
  const c = {
    tau: cfg.tau as number,
    localTau: cfg.localTau as number,
    eps: cfg.sinkhornEps as number,
    iters: cfg.sinkhornIters as number,
    protoTemp: cfg.protoTemp as number,
    low: cfg.clipLow as number,
    high: cfg.clipHigh as number,
    gamma1: cfg.gamma1 as number,
  };
  const weightsOf = { global: cfg.globalWeight as number, local: cfg.localWeight as number, proto: cfg.protoWeight as number };
  return {
    name: 'mgca',
    loss(inputs: AlignInputs) {
      const global = tf.mul(globalInfoNCE(inputs.imageGlobal, inputs.textGlobal, c.tau), weightsOf.global) as tf.Scalar;
      const { word, patch } = mgcaTokenLoss(inputs, mgcaWordWeights(inputs, c.low, c.high), c.localTau);
      const local = tf.mul(tf.add(word, patch), weightsOf.local) as tf.Scalar;
      const proto = tf.mul(prototypeLoss(inputs.imageGlobal, inputs.textGlobal, prototypes as tf.Tensor2D, c.eps, c.iters, c.protoTemp), weightsOf.proto) as tf.Scalar;
      return { loss: tf.addN([global, local, proto]) as tf.Scalar, terms: { global, local, proto } };
    },
    explain(inputs: AlignInputs): AlignExplanation {
      return tf.tidy(() => {
        const importance = mgcaWordWeights(inputs, c.low, c.high);
        // Displayed attention is GLoRIA-style like every method; the score is MGCA's own
        // weighted word-context cosine at its token temperature.
        const { attention } = pairedAttention(inputs.words, inputs.regions, inputs.wordMask, c.gamma1);
        const e = l2norm(inputs.words) as tf.Tensor3D;
        const v = l2norm(inputs.regions) as tf.Tensor3D;
        const ctx = l2norm(bmm(tf.softmax(tf.div(bmm(e, v, false, true), c.localTau)) as tf.Tensor3D, v));
        const localScore = tf.sum(tf.mul(tf.sum(tf.mul(e, ctx), -1), importance), -1) as tf.Tensor1D;
        return {
          attention: zeroMaskedRows(attention as tf.Tensor3D, inputs.wordMask),
          relation: identityRelation(inputs.wordMask),
          importance,
          localScore,
        };
      });
    },
    similarity(inputs: AlignInputs) {
      return { global: tf.tidy(() => cosineMatrix(inputs.imageGlobal, inputs.textGlobal)) };
    },
  };
}
