// Synthetic-benchmark check of IRM's claim: finding and location words should weigh more than
// function words. Words of other roles (modifiers, negations) are left out of the comparison.

import type { WordRole } from '../../data/manifest-types';
import { auroc } from './auroc';

export interface ImportanceStudy {
  /** IRM importance of each word (padding beyond roles.length is ignored). */
  importance: ArrayLike<number>;
  roles: readonly WordRole[];
}

export interface ImportanceMetrics {
  /**
   * AUROC over all studies' words pooled, each importance multiplied by its report's word count
   * so that uniform weights are 1 whatever the report length (softmax weights of a long report
   * are small only because there are many words).
   */
  pooledAuroc: number;
  /** Mean of per-study AUROCs over studies having both kinds of word. */
  meanStudyAuroc: number;
  studiesScored: number;
  positiveWords: number;
  negativeWords: number;
}

const DEFAULT_POSITIVE: readonly WordRole[] = ['finding', 'location'];
const DEFAULT_NEGATIVE: readonly WordRole[] = ['function'];

export function importanceMetrics(
  studies: readonly ImportanceStudy[],
  positiveRoles: readonly WordRole[] = DEFAULT_POSITIVE,
  negativeRoles: readonly WordRole[] = DEFAULT_NEGATIVE,
): ImportanceMetrics {
  const scores: number[] = [];
  const labels: number[] = [];
  const perStudy: number[] = [];
  studies.forEach((s, si) => {
    const n = s.roles.length;
    if (s.importance.length < n) throw new RangeError(`importanceMetrics: study ${si} has ${n} roles but ${s.importance.length} importances`);
    const ss: number[] = [];
    const ll: number[] = [];
    for (let i = 0; i < n; i++) {
      const pos = positiveRoles.includes(s.roles[i]);
      if (!pos && !negativeRoles.includes(s.roles[i])) continue;
      ss.push(s.importance[i]);
      ll.push(pos ? 1 : 0);
      scores.push(s.importance[i] * n);
      labels.push(pos ? 1 : 0);
    }
    const a = auroc(ss, ll);
    if (!Number.isNaN(a)) perStudy.push(a);
  });
  const positiveWords = labels.reduce((a, b) => a + b, 0);
  return {
    pooledAuroc: auroc(scores, labels),
    meanStudyAuroc: perStudy.length === 0 ? NaN : perStudy.reduce((a, b) => a + b, 0) / perStudy.length,
    studiesScored: perStudy.length,
    positiveWords,
    negativeWords: labels.length - positiveWords,
  };
}

/**
 * Mean importance times the report's word count over the words in each third of their report
 * (word i of n in third floor(3i / n)), every word whatever its role: uniform weights read 1, 1, 1.
 * An importance that follows where a word sits rather than what it says shows as a slope (trained
 * with the grounding preset's word positions: about 1.6, 1.0, 0.4). Reports of fewer than 3 words are left out.
 */
export function importanceByThird(studies: readonly ImportanceStudy[]): [number, number, number] {
  const sum = [0, 0, 0];
  const count = [0, 0, 0];
  studies.forEach((s, si) => {
    const n = s.roles.length;
    if (s.importance.length < n) throw new RangeError(`importanceByThird: study ${si} has ${n} roles but ${s.importance.length} importances`);
    if (n < 3) return;
    for (let i = 0; i < n; i++) {
      const third = Math.floor((3 * i) / n);
      sum[third] += s.importance[i] * n;
      count[third]++;
    }
  });
  return [0, 1, 2].map((t) => (count[t] ? sum[t] / count[t] : NaN)) as [number, number, number];
}
