// IRM, importance-relation reasoning (RECLF; [design] after SGRAF's attention filtration): a
// learned importance per local-matching, replacing uniform pooling.
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '../models/params';
import { linear, maskedSoftmax } from '../models/ops';

export type IrmMode = 'softmax' | 'sigmoid';

export interface IrmParams {
  wa: tf.Tensor2D;
  /** Only for sigmoid: a softmax is shift-invariant, so a bias would get no gradient there. */
  ba?: tf.Tensor1D;
}

export function createIrmParams(params: ParamStore, prefix: string, dim: number, mode: IrmMode): IrmParams {
  const wa = params.param(`${prefix}irm.w_a`, [dim, 1], { kind: 'xavier', fanIn: dim, fanOut: 1 }) as tf.Tensor2D;
  const ba = mode === 'sigmoid' ? (params.param(`${prefix}irm.b_a`, [1], { kind: 'zeros' }) as tf.Tensor1D) : undefined;
  return { wa, ba };
}

/**
 * beta [P, N] from m [P, N, d]: masked softmax of w_a^T m_i, or sigmoid(w_a^T m_i + b_a)
 * L1-normalised over real words. Padded words get 0 (up to exp(-1e9)).
 */
export function irmImportance(m: tf.Tensor3D, wordMask: tf.Tensor2D, mode: IrmMode, p: IrmParams): tf.Tensor2D {
  const [pp, n] = wordMask.shape;
  const logits = linear(m, p.wa, p.ba).reshape([pp, n]);
  if (mode === 'softmax') return maskedSoftmax(logits, wordMask) as tf.Tensor2D;
  const g = tf.mul(tf.sigmoid(logits), wordMask);
  return tf.div(g, tf.maximum(tf.sum(g, -1, true), 1e-8)) as tf.Tensor2D;
}
