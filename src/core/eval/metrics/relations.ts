// Synthetic-benchmark check of SRM's claim: a finding word should relate most to its own location
// word. Uses the generator's per-word ground truth (role, finding, location) aligned with the
// rows/columns of the model's word x word relation matrix.

import type { WordRole } from '../../data/manifest-types';
import { auroc } from './auroc';

export interface RelationWord {
  role: WordRole;
  /** Finding this word belongs to (finding and location words). */
  finding?: string;
  /** Location of that finding; tells two instances of one finding apart. */
  location?: string;
}

export interface RelationStudy {
  /** Row-major [stride x stride] relation weights; row i = word i's relations. */
  relation: ArrayLike<number>;
  /** Ground truth of the first words.length words (padding beyond is ignored). */
  words: readonly RelationWord[];
  /** Row length of `relation`; defaults to words.length. */
  stride?: number;
}

export type RelationNegatives = 'all-pairs' | 'finding-rows';

export interface RelationMetrics {
  /** Finding words whose highest off-diagonal relation is one of their own location words. */
  top1Accuracy: number;
  /** Finding words scored (those whose report has a location word of the same finding). */
  scoredFindingWords: number;
  /** top1Accuracy and the words scored, per finding (the ground truth's finding name). */
  top1ByFinding: Record<string, { accuracy: number; scored: number }>;
  /** AUROC of relation weight, true finding<->location pairs against the negatives, pooled over studies. */
  pairAuroc: number;
  /**
   * Mean of per-study pair AUROCs over studies having both kinds of pair. Pooling compares softmax
   * weights of reports of different lengths (a row of n words sums to 1), so a length that goes
   * with many positives moves the pooled figure with no relation learned; within a study it cannot.
   */
  meanStudyAuroc: number;
  studiesScored: number;
  /** The pooled AUROC that equal weights in every row (1/n) would score: pairAuroc's own floor. */
  uniformPairAuroc: number;
  /**
   * Share of a report's rows whose strongest other word (the first, on ties) is one of the two
   * words most rows of that report pick, mean over reports of at least HUB_MIN_ROWS rows. Rows
   * that each pick their own partner read about 2/n; a report summary mixed into every word, all
   * rows on the same hub words, reads near 1.
   */
  hubShare: number;
  positivePairs: number;
  negativePairs: number;
}

/** Reports with fewer rows say nothing about hubs: with three rows, two words are most of them. */
export const HUB_MIN_ROWS = 5;

function isOwnLocation(f: RelationWord, w: RelationWord): boolean {
  return w.role === 'location' && w.finding !== undefined && w.finding === f.finding
    && (f.location === undefined || w.location === undefined || w.location === f.location);
}

/**
 * Positives: E[i][j] and E[j][i] for every finding word i and location word j of the same finding
 * (the relation is symmetric in meaning, whatever the matrix's direction). Negatives: every other
 * off-diagonal entry ('all-pairs', default), or only the other entries of scored finding rows
 * ('finding-rows': does a finding's row prefer its location over its other words?). Pairs are
 * pooled over studies.
 */
export function relationMetrics(studies: readonly RelationStudy[], negatives: RelationNegatives = 'all-pairs'): RelationMetrics {
  // Counted per finding; the pooled counts are their sums.
  const byFinding = new Map<string, { scored: number; hits: number }>();
  const scores: number[] = [];
  const labels: number[] = [];
  const uniform: number[] = [];
  const perStudy: number[] = [];
  const hubShares: number[] = [];
  studies.forEach((s, si) => {
    const first = scores.length;
    const n = s.words.length;
    const stride = s.stride ?? n;
    if (stride < n) throw new RangeError(`relationMetrics: study ${si} has ${n} words but stride ${stride}`);
    if (s.relation.length < stride * stride) {
      throw new RangeError(`relationMetrics: study ${si} relation has ${s.relation.length} values, expected ${stride}x${stride}`);
    }
    const at = (i: number, j: number): number => s.relation[i * stride + j];
    const positive = new Set<number>();
    const findingRows: number[] = [];
    for (let i = 0; i < n; i++) {
      const w = s.words[i];
      if (w.role !== 'finding') continue;
      const own: number[] = [];
      for (let j = 0; j < n; j++) if (j !== i && isOwnLocation(w, s.words[j])) own.push(j);
      if (own.length === 0) continue;
      findingRows.push(i);
      let best = -1;
      for (let j = 0; j < n; j++) if (j !== i && (best < 0 || at(i, j) > at(i, best))) best = j;
      // isOwnLocation matched a location of this finding, so w.finding is set.
      const tally = byFinding.get(w.finding!) ?? { scored: 0, hits: 0 };
      byFinding.set(w.finding!, tally);
      tally.scored++;
      if (own.includes(best)) tally.hits++;
      for (const j of own) {
        positive.add(i * n + j);
        positive.add(j * n + i);
      }
    }
    const hub = studyHubShare(n, at);
    if (hub !== undefined) hubShares.push(hub);
    const rows = negatives === 'all-pairs' ? Array.from({ length: n }, (_, i) => i) : findingRows;
    for (const i of rows) {
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const isPos = positive.has(i * n + j);
        // In 'finding-rows' mode the location->finding positives live in location rows; they are
        // added below so both modes count the same positives.
        scores.push(at(i, j));
        labels.push(isPos ? 1 : 0);
      }
    }
    if (negatives === 'finding-rows') {
      for (const key of positive) {
        const i = Math.floor(key / n), j = key % n;
        if (!findingRows.includes(i)) { scores.push(at(i, j)); labels.push(1); }
      }
    }
    const a = auroc(scores.slice(first), labels.slice(first));
    if (!Number.isNaN(a)) perStudy.push(a);
    // Equal weights over a report's words differ only between reports of different lengths, and
    // the positives need not come from reports of the same lengths as the negatives.
    for (let k = first; k < scores.length; k++) uniform.push(1 / n);
  });
  const positivePairs = labels.reduce((a, b) => a + b, 0);
  let scored = 0, hits = 0;
  for (const t of byFinding.values()) { scored += t.scored; hits += t.hits; }
  return {
    top1Accuracy: scored === 0 ? NaN : hits / scored,
    scoredFindingWords: scored,
    top1ByFinding: Object.fromEntries([...byFinding].sort(([a], [b]) => a.localeCompare(b)).map(([f, t]) => [f, { accuracy: t.hits / t.scored, scored: t.scored }])),
    pairAuroc: auroc(scores, labels),
    meanStudyAuroc: perStudy.length === 0 ? NaN : perStudy.reduce((a, b) => a + b, 0) / perStudy.length,
    studiesScored: perStudy.length,
    uniformPairAuroc: auroc(uniform, labels),
    hubShare: hubShares.length === 0 ? NaN : hubShares.reduce((a, b) => a + b, 0) / hubShares.length,
    positivePairs,
    negativePairs: labels.length - positivePairs,
  };
}

/** One report's hubShare over its rows with any relation weight, or undefined below HUB_MIN_ROWS rows. */
function studyHubShare(n: number, at: (i: number, j: number) => number): number | undefined {
  const picks = new Map<number, number>();
  let rows = 0;
  for (let i = 0; i < n; i++) {
    let best = -1;
    for (let j = 0; j < n; j++) if (j !== i && at(i, j) > 0 && (best < 0 || at(i, j) > at(i, best))) best = j;
    if (best < 0) continue;
    rows++;
    picks.set(best, (picks.get(best) ?? 0) + 1);
  }
  if (rows < HUB_MIN_ROWS) return undefined;
  const counts = [...picks.values()].sort((a, b) => b - a);
  return (counts[0] + (counts[1] ?? 0)) / rows;
}
