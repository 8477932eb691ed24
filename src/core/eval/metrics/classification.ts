// Multi-class metrics for zero-shot and linear-probe classification, and the score post-processing
// of GLoRIA's zero-shot protocol (pool a class's prompts, z-score each class column, argmax).

import { assertSameLength } from './validate';

function assertClassIndex(what: string, value: number, index: number): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${what}: class at ${index} must be a non-negative integer, got ${value}`);
}

/** Fraction of predictions equal to the truth; NaN for no items. */
export function accuracy(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  assertSameLength('accuracy', pred, truth);
  if (pred.length === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === truth[i]) hits++;
  return hits / pred.length;
}

/** counts[t][p]: items of true class t predicted as p. */
export function confusionMatrix(pred: ArrayLike<number>, truth: ArrayLike<number>, numClasses: number): number[][] {
  assertSameLength('confusionMatrix', pred, truth);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < pred.length; i++) {
    assertClassIndex('confusionMatrix pred', pred[i], i);
    assertClassIndex('confusionMatrix truth', truth[i], i);
    if (pred[i] >= numClasses || truth[i] >= numClasses) {
      throw new RangeError(`confusionMatrix: class at ${i} is >= numClasses (${numClasses})`);
    }
    m[truth[i]][pred[i]]++;
  }
  return m;
}

export interface F1Result {
  /** Unweighted mean of the per-class F1 over `classes`; NaN when there are none. */
  macro: number;
  classes: number[];
  perClass: number[];
}

/**
 * Macro-F1. By default the classes averaged are those present in truth or prediction (sklearn's
 * default `labels`); pass numClasses to average over 0..numClasses-1, where a class never seen
 * in either scores 0. F1 = 2tp / (2tp + fp + fn), which is 0 (not NaN) when precision is undefined.
 */
export function macroF1(pred: ArrayLike<number>, truth: ArrayLike<number>, numClasses?: number): F1Result {
  assertSameLength('macroF1', pred, truth);
  const present = new Set<number>();
  for (let i = 0; i < pred.length; i++) {
    assertClassIndex('macroF1 pred', pred[i], i);
    assertClassIndex('macroF1 truth', truth[i], i);
    present.add(pred[i]);
    present.add(truth[i]);
  }
  const classes = numClasses === undefined
    ? [...present].sort((a, b) => a - b)
    : Array.from({ length: numClasses }, (_, k) => k);
  const perClass = classes.map((c) => {
    let tp = 0, fp = 0, fn = 0;
    for (let i = 0; i < pred.length; i++) {
      if (pred[i] === c && truth[i] === c) tp++;
      else if (pred[i] === c) fp++;
      else if (truth[i] === c) fn++;
    }
    const denom = 2 * tp + fp + fn;
    return denom === 0 ? 0 : (2 * tp) / denom;
  });
  const macro = perClass.length === 0 ? NaN : perClass.reduce((a, b) => a + b, 0) / perClass.length;
  return { macro, classes, perClass };
}

/** Index of the largest entry of each row; the first index wins a tie. */
export function argmaxRows(scores: readonly ArrayLike<number>[]): number[] {
  return scores.map((row) => {
    let best = 0;
    for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
    return best;
  });
}

/**
 * Z-scores every column (class) of scores [n][C] with the population std (ddof 0), as GLoRIA's
 * zero-shot code does, so that a class whose prompts score high on every image does not win every
 * argmax. GLoRIA leaves a single row unnormalised; we do the same. A constant column becomes 0
 * (GLoRIA would divide by zero and produce NaN).
 */
export function zScoreColumns(scores: readonly ArrayLike<number>[]): number[][] {
  const n = scores.length;
  const out = scores.map((row) => Array.from(row));
  if (n <= 1) return out;
  const c = scores[0].length;
  for (let k = 0; k < c; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += scores[i][k];
    const mu = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (scores[i][k] - mu) ** 2;
    const sd = Math.sqrt(v / n);
    for (let i = 0; i < n; i++) out[i][k] = sd > 0 ? (scores[i][k] - mu) / sd : 0;
  }
  return out;
}

export type PromptPooling = 'max' | 'mean';

/** Pools one class's prompt scores per image: scores [nImages][nPrompts] -> [nImages]. */
export function poolPromptScores(scores: readonly ArrayLike<number>[], pooling: PromptPooling): number[] {
  return scores.map((row, i) => {
    if (row.length === 0) throw new RangeError(`poolPromptScores: image ${i} has no prompt scores`);
    let acc = pooling === 'max' ? -Infinity : 0;
    for (let k = 0; k < row.length; k++) acc = pooling === 'max' ? Math.max(acc, row[k]) : acc + row[k];
    return pooling === 'max' ? acc : acc / row.length;
  });
}
