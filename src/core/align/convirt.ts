// ConVIRT (Zhang et al.): global InfoNCE only, directions weighted 0.75 (image->text) / 0.25.
import * as tf from '@tensorflow/tfjs-core';
import type { AlignExplanation, AlignInputs, AlignMethod, MethodFactoryArgs } from './types';
import { cosineMatrix, globalInfoNCE, maskedMean, uniformOverMask } from './global-infonce';
import { cosineAttention, identityRelation, rowCosine, zeroMaskedRows } from './local-attention';
import { resolveMethodConfig } from './method-config';

export function createConvirt(args: MethodFactoryArgs): AlignMethod {
  const cfg = resolveMethodConfig('convirt', args.config);
  const tau = cfg.tau as number;
  const wI2T = cfg.imageToTextWeight as number;
  const gamma1 = cfg.gamma1 as number;
  return {
    name: 'convirt',
    loss(inputs: AlignInputs) {
      const global = globalInfoNCE(inputs.imageGlobal, inputs.textGlobal, tau, wI2T, 1 - wI2T);
      return { loss: global, terms: { global } };
    },
    explain(inputs: AlignInputs): AlignExplanation {
      return tf.tidy(() => {
        // ConVIRT learns no word-region attention; this parameter-free softmax(gamma1 * cos) is
        // shown only so that the UI has something to draw for every method.
        const { attention, context } = cosineAttention(inputs.words, inputs.regions, gamma1);
        return {
          attention: zeroMaskedRows(attention as tf.Tensor3D, inputs.wordMask),
          relation: identityRelation(inputs.wordMask),
          importance: uniformOverMask(inputs.wordMask),
          localScore: maskedMean(rowCosine(inputs.words, context), inputs.wordMask) as tf.Tensor1D,
        };
      });
    },
    similarity(inputs: AlignInputs) {
      return { global: tf.tidy(() => cosineMatrix(inputs.imageGlobal, inputs.textGlobal)) };
    },
  };
}
