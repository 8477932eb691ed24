// GLoRIA (Huang et al. 2021): global InfoNCE + attention-weighted local matching pooled with
// LogSumExp over real words, contrasted over every image-report pair of the batch.
// Unlike the public code, [CLS]/[SEP]/padding are masked in training AND inference, and
// inference pools with LogSumExp like training (not max).
import * as tf from '@tensorflow/tfjs-core';
import type { AlignExplanation, AlignInputs, AlignMethod, MethodFactoryArgs } from './types';
import { cosineMatrix, globalInfoNCE, maskedLogSumExp, symmetricInfoNCE, uniformOverMask } from './global-infonce';
import { crossAttention, identityRelation, localSubBatch, pairedAttention, rowCosine, zeroMaskedRows } from './local-attention';
import { resolveMethodConfig } from './method-config';

/**
 * Local score Z = log sum_i exp(gamma2 * cos(e_i, c_i)) over real words for every image i and
 * report t: [Bi, Bt] (rows images, columns reports).
 */
export function gloriaCrossScores(inputs: Pick<AlignInputs, 'words' | 'regions' | 'wordMask'>, gamma1: number, gamma2: number): tf.Tensor2D {
  const { words, regions, wordMask } = inputs;
  const [bt, n, d] = words.shape;
  const { context } = crossAttention(words, regions, wordMask, gamma1);
  const r = rowCosine(words.reshape([1, bt, n, d]), context); // [Bi, Bt, N]
  return maskedLogSumExp(tf.mul(r, gamma2), wordMask.reshape([1, bt, n])) as tf.Tensor2D;
}

/** Attention, per-word r_i and Z for matched pairs only. */
export function gloriaPaired(inputs: Pick<AlignInputs, 'words' | 'regions' | 'wordMask'>, gamma1: number, gamma2: number) {
  const { attention, context } = pairedAttention(inputs.words, inputs.regions, inputs.wordMask, gamma1);
  const r = rowCosine(inputs.words, context) as tf.Tensor2D; // [B, N]
  const z = maskedLogSumExp(tf.mul(r, gamma2), inputs.wordMask) as tf.Tensor1D;
  return { attention: attention as tf.Tensor3D, r, z };
}

export function createGloria(args: MethodFactoryArgs): AlignMethod {
  const cfg = resolveMethodConfig('gloria', args.config);
  const tau = cfg.tau as number;
  const gamma1 = cfg.gamma1 as number;
  const gamma2 = cfg.gamma2 as number;
  const gamma3 = cfg.gamma3 as number;
  const gw = cfg.globalWeight as number;
  const lw = cfg.localWeight as number;
  return {
    name: 'gloria',
    loss(inputs: AlignInputs) {
      const global = tf.mul(globalInfoNCE(inputs.imageGlobal, inputs.textGlobal, tau), gw) as tf.Scalar;
      const z = gloriaCrossScores(localSubBatch(inputs, cfg.localBatch as number), gamma1, gamma2);
      const local = tf.mul(symmetricInfoNCE(tf.mul(z, gamma3) as tf.Tensor2D), lw) as tf.Scalar;
      return { loss: tf.add(global, local) as tf.Scalar, terms: { global, local } };
    },
    explain(inputs: AlignInputs): AlignExplanation {
      return tf.tidy(() => {
        const { attention, z } = gloriaPaired(inputs, gamma1, gamma2);
        return {
          attention: zeroMaskedRows(attention, inputs.wordMask),
          relation: identityRelation(inputs.wordMask),
          importance: uniformOverMask(inputs.wordMask),
          localScore: z,
        };
      });
    },
    similarity(inputs: AlignInputs) {
      return tf.tidy(() => ({
        global: cosineMatrix(inputs.imageGlobal, inputs.textGlobal),
        local: gloriaCrossScores(inputs, gamma1, gamma2),
      }));
    },
  };
}
