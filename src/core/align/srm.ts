// SRM, semantic-relation reasoning (RECLF; [design] after SGRAF's graph reasoning): K rounds of
// masked graph attention between the local-matching vectors of one image-report pair.
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '../models/params';
import { bmm, linear, maskedSoftmax, matmul } from '../models/ops';

export interface SrmRound {
  wq: tf.Tensor2D;
  wk: tf.Tensor2D;
  wg: tf.Tensor2D;
}

/** One parameter set per round, as SGRAF stacks separate GraphReasoning modules. */
export function createSrmParams(params: ParamStore, prefix: string, dim: number, rounds: number): SrmRound[] {
  const init = { kind: 'xavier' as const, fanIn: dim, fanOut: dim };
  return Array.from({ length: rounds }, (_, r) => ({
    wq: params.param(`${prefix}srm.${r}.w_q`, [dim, dim], init) as tf.Tensor2D,
    wk: params.param(`${prefix}srm.${r}.w_k`, [dim, dim], init) as tf.Tensor2D,
    wg: params.param(`${prefix}srm.${r}.w_g`, [dim, dim], init) as tf.Tensor2D,
  }));
}

/**
 * m [P, N, d] (P pairs), wordMask [P, N]. Each round: E = softmax((M W_q)(M W_k)^T / sqrt(d))
 * over real words only, then M <- M + ReLU((E M) W_g). Returns the reasoned M and the relation
 * matrix E of the last round (rows of padded words are still normalised; callers zero them).
 */
export function srmReason(m: tf.Tensor3D, wordMask: tf.Tensor2D, rounds: SrmRound[]): { m: tf.Tensor3D; relation: tf.Tensor3D } {
  const [p, n, d] = m.shape;
  const keyMask = wordMask.reshape([p, 1, n]);
  let cur = m;
  let relation: tf.Tensor3D | null = null;
  for (const r of rounds) {
    // (M W_q)(M W_k)^T = (M (W_q W_k^T)) M^T: one [P*N, d] x [d, d] product instead of two.
    const qk = linear(cur, matmul(r.wq, r.wk, false, true)) as tf.Tensor3D;
    relation = maskedSoftmax(tf.div(bmm(qk, cur, false, true), Math.sqrt(d)), keyMask) as tf.Tensor3D;
    cur = tf.add(cur, tf.relu(linear(bmm(relation, cur), r.wg))) as tf.Tensor3D;
  }
  if (!relation) throw new Error('srmReason needs at least one round');
  return { m: cur, relation };
}
