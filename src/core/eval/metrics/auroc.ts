// Area under the ROC curve as the Mann-Whitney statistic: the probability that a random positive
// scores above a random negative, ties counting one half. Computed from average ranks, O(n log n).

import { assertBinaryLabel, assertFinite, assertSameLength } from './validate';

/**
 * AUROC of `scores` for binary `labels` (1 positive, 0 negative).
 * Returns NaN when there is no positive or no negative: the statistic is undefined there, and a
 * NaN (rather than 0.5 or an exception) lets callers skip that class in a mean and report it.
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  assertSameLength('auroc', scores, labels);
  const n = scores.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    assertBinaryLabel('auroc', labels[i], i);
    assertFinite('auroc', scores[i], i);
    nPos += labels[i];
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;

  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  // Sum of the (tie-averaged, 1-based) ranks of the positives.
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) if (labels[order[k]] === 1) rankSumPos += avgRank;
    i = j + 1;
  }
  const u = rankSumPos - (nPos * (nPos + 1)) / 2;
  return u / (nPos * nNeg);
}

export interface MultiLabelAuroc {
  /** One AUROC per class column; NaN for a class without positives or without negatives. */
  perClass: number[];
  /** Mean over the classes whose AUROC is defined; NaN when none is. */
  mean: number;
  /** Classes left out of the mean. */
  undefinedClasses: number[];
}

/** Per-class AUROC over rows of scores [n][C] and binary labels [n][C]. */
export function multiLabelAuroc(scores: readonly ArrayLike<number>[], labels: readonly ArrayLike<number>[]): MultiLabelAuroc {
  assertSameLength('multiLabelAuroc rows', scores, labels);
  const c = scores.length > 0 ? scores[0].length : 0;
  const perClass: number[] = [];
  for (let k = 0; k < c; k++) {
    const s = new Float64Array(scores.length);
    const l = new Float64Array(scores.length);
    for (let i = 0; i < scores.length; i++) {
      if (scores[i].length !== c || labels[i].length !== c) {
        throw new RangeError(`multiLabelAuroc: row ${i} has ${scores[i].length} scores and ${labels[i].length} labels, expected ${c}`);
      }
      s[i] = scores[i][k];
      l[i] = labels[i][k];
    }
    perClass.push(auroc(s, l));
  }
  const defined = perClass.filter((v) => !Number.isNaN(v));
  const undefinedClasses = perClass.flatMap((v, k) => (Number.isNaN(v) ? [k] : []));
  const mean = defined.length === 0 ? NaN : defined.reduce((a, b) => a + b, 0) / defined.length;
  return { perClass, mean, undefinedClasses };
}
