// MLIP knowledge-guided category-level contrast [design, METHODS.md section 5]: one prototype per
// knowledge-base finding category (initialised from the mean embedding of the category's
// entities), Sinkhorn codes with stop-gradient (as MGCA), swapped prediction between image and
// report. The knowledge guides the targets: a report that states findings pulls both codes of
// its pair towards those findings' categories by `prior` (the Sinkhorn codes keep 1 - prior).
import * as tf from '@tensorflow/tfjs-core';
import type { KnowledgeBase } from '../../knowledge/kb';
import { l2norm, matmul } from '../../models/ops';
import { sinkhorn } from '../sinkhorn';

/** Category ids of kind 'finding' (in knowledge-base order) and, per entity row, its category's position or -1. */
export function findingCategories(kb: KnowledgeBase): { ids: string[]; ofEntity: Int32Array } {
  const ids = kb.categories.filter((c) => kb.categoryMembers(c.id).some((e) => e.kind === 'finding')).map((c) => c.id);
  const pos = new Map(ids.map((id, i) => [id, i]));
  const ofEntity = new Int32Array(kb.size).fill(-1);
  kb.entities.forEach((e, row) => {
    if (e.kind === 'finding') ofEntity[row] = pos.get(e.category) ?? -1;
  });
  return { ids, ofEntity };
}

/** Mean of the entity-table rows of each category's finding entities [C, D] (prototype initialisation). */
export function categoryMeans(table: Float32Array, dim: number, ofEntity: Int32Array, numCategories: number): Float32Array {
  const out = new Float32Array(numCategories * dim);
  const count = new Float32Array(numCategories);
  ofEntity.forEach((c, row) => {
    if (c < 0) return;
    count[c]++;
    for (let d = 0; d < dim; d++) out[c * dim + d] += table[row * dim + d];
  });
  for (let c = 0; c < numCategories; c++) for (let d = 0; d < dim; d++) out[c * dim + d] /= Math.max(1, count[c]);
  return out;
}

/** categoryMeans of a device table, as one matmul with host averaging weights (no read-back). */
export function categoryMeansOnDevice(table: tf.Tensor2D, ofEntity: Int32Array, numCategories: number): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = table.shape[0];
    const count = new Float32Array(numCategories);
    ofEntity.forEach((c) => { if (c >= 0) count[c]++; });
    const w = new Float32Array(numCategories * rows);
    ofEntity.forEach((c, row) => { if (c >= 0) w[c * rows + row] = 1 / count[c]; });
    return tf.matMul(tf.tensor2d(w, [numCategories, rows]), table) as tf.Tensor2D;
  });
}

/**
 * Knowledge targets [B, C]: uniform over the distinct categories of a report's non-negated finding
 * words; `has[b]` is 0 for a report that states no finding (its targets are pure Sinkhorn).
 */
export function knowledgeTargets(
  entityIds: ArrayLike<number>, entityNegated: ArrayLike<number> | undefined, wordMask: ArrayLike<number>,
  b: number, n: number, ofEntity: Int32Array, numCategories: number,
): { targets: Float32Array; has: Float32Array } {
  const targets = new Float32Array(b * numCategories);
  const has = new Float32Array(b);
  for (let r = 0; r < b; r++) {
    const cats = new Set<number>();
    for (let i = 0; i < n; i++) {
      const k = r * n + i;
      const id = entityIds[k];
      if (id < 0 || !(wordMask[k] > 0) || (entityNegated && entityNegated[k])) continue;
      const c = ofEntity[id] ?? -1;
      if (c >= 0) cats.add(c);
    }
    if (!cats.size) continue;
    has[r] = 1;
    for (const c of cats) targets[r * numCategories + c] = 1 / cats.size;
  }
  return { targets, has };
}

export interface CategoryLossOptions {
  eps: number;
  iters: number;
  temp: number;
  /** Share of the knowledge targets in the codes of reports that state findings. */
  prior: number;
  /** From knowledgeTargets; without them the loss is MGCA's prototype loss on the category prototypes. */
  knowledge?: { targets: Float32Array; has: Float32Array };
}

/** Swapped prediction of (knowledge-mixed) Sinkhorn codes between image and report. */
export function categoryLoss(imageGlobal: tf.Tensor2D, textGlobal: tf.Tensor2D, prototypes: tf.Tensor2D, o: CategoryLossOptions): tf.Scalar {
  const [b] = imageGlobal.shape;
  const c = prototypes.shape[0];
  const p = l2norm(prototypes) as tf.Tensor2D;
  const imgOut = matmul(l2norm(imageGlobal) as tf.Tensor2D, p, false, true);
  const txtOut = matmul(l2norm(textGlobal) as tf.Tensor2D, p, false, true);
  let imgCode: tf.Tensor = sinkhorn(imgOut, o.eps, o.iters);
  let txtCode: tf.Tensor = sinkhorn(txtOut, o.eps, o.iters);
  if (o.knowledge && o.prior > 0) {
    const mix = tf.tensor2d(o.knowledge.has, [b, 1]).mul(o.prior);
    const target = tf.tensor2d(o.knowledge.targets, [b, c]);
    const blend = (code: tf.Tensor) => tf.add(tf.mul(code, tf.sub(1, mix)), tf.mul(target, mix));
    imgCode = blend(imgCode);
    txtCode = blend(txtCode);
  }
  const imgLogP = tf.logSoftmax(tf.div(imgOut, o.temp));
  const txtLogP = tf.logSoftmax(tf.div(txtOut, o.temp));
  const i2t = tf.neg(tf.mean(tf.sum(tf.mul(imgCode, txtLogP), 1)));
  const t2i = tf.neg(tf.mean(tf.sum(tf.mul(txtCode, imgLogP), 1)));
  return tf.div(tf.add(i2t, t2i), 2) as tf.Scalar;
}
