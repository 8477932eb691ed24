// Cross-modal retrieval metrics over a similarity matrix sim[query][candidate].
// Exact-pair metrics (Recall@K, ranks) assume a square matrix where query i's only correct
// candidate is candidate i: a duplicate report elsewhere in the set does not count as a hit.
// Precision@K by class follows ConVIRT: a retrieved candidate is a hit when its label for the
// query's class is 1, whichever study it came from.

import { mean, median } from './validate';

export type TiePolicy = 'pessimistic' | 'optimistic';

/**
 * 1-based rank of candidate i for query i. Ties with the true candidate are counted against it
 * ('pessimistic', default: identical duplicates cannot inflate Recall@1) or for it ('optimistic').
 */
export function pairRanks(sim: readonly ArrayLike<number>[], ties: TiePolicy = 'pessimistic'): number[] {
  const n = sim.length;
  return sim.map((row, i) => {
    if (row.length !== n) throw new RangeError(`pairRanks: row ${i} has ${row.length} candidates, expected ${n} (exact pairs need a square matrix)`);
    const own = row[i];
    let rank = 1;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      if (row[j] > own || (ties === 'pessimistic' && row[j] === own)) rank++;
    }
    return rank;
  });
}

export interface ExactPairRetrieval {
  /** recall[K]: fraction of queries whose true candidate ranks <= K. */
  recall: Record<number, number>;
  meanRank: number;
  medianRank: number;
  n: number;
}

export function exactPairRetrieval(sim: readonly ArrayLike<number>[], ks: readonly number[] = [1, 5, 10], ties: TiePolicy = 'pessimistic'): ExactPairRetrieval {
  const ranks = pairRanks(sim, ties);
  const recall: Record<number, number> = {};
  for (const k of ks) recall[k] = ranks.length === 0 ? NaN : ranks.filter((r) => r <= k).length / ranks.length;
  return { recall, meanRank: mean(ranks), medianRank: median(ranks), n: ranks.length };
}

export function transpose(m: readonly ArrayLike<number>[]): number[][] {
  const rows = m.length;
  const cols = rows > 0 ? m[0].length : 0;
  return Array.from({ length: cols }, (_, j) => Array.from({ length: rows }, (_, i) => m[i][j]));
}

/** Both directions from sim[image][text]: image->text uses rows, text->image the columns. */
export function imageTextRetrieval(simImageText: readonly ArrayLike<number>[], ks: readonly number[] = [1, 5, 10], ties: TiePolicy = 'pessimistic'): { imageToText: ExactPairRetrieval; textToImage: ExactPairRetrieval } {
  return {
    imageToText: exactPairRetrieval(simImageText, ks, ties),
    textToImage: exactPairRetrieval(transpose(simImageText), ks, ties),
  };
}

/** Candidate indices ordered by descending similarity; equal scores keep index order. */
export function rankCandidates(row: ArrayLike<number>): number[] {
  return Array.from({ length: row.length }, (_, j) => j).sort((a, b) => row[b] - row[a]);
}

/**
 * ConVIRT Precision@K: mean over queries of (hits among the top K candidates) / K, a hit being a
 * candidate with candidateLabels[j][queryClass[i]] === 1. The query's own pair is a candidate like
 * any other (ConVIRT's query and candidate sets are disjoint; pass disjoint sets to reproduce it).
 * K larger than the candidate count divides by K all the same, so such a precision is capped.
 */
export function precisionAtK(
  sim: readonly ArrayLike<number>[],
  queryClass: ArrayLike<number>,
  candidateLabels: readonly ArrayLike<number>[],
  ks: readonly number[] = [5, 10, 100],
): Record<number, number> {
  if (queryClass.length !== sim.length) throw new RangeError(`precisionAtK: ${sim.length} queries but ${queryClass.length} query classes`);
  const out: Record<number, number> = {};
  const sums = ks.map(() => 0);
  sim.forEach((row, i) => {
    if (row.length !== candidateLabels.length) {
      throw new RangeError(`precisionAtK: query ${i} scores ${row.length} candidates but ${candidateLabels.length} candidate label rows were given`);
    }
    const order = rankCandidates(row);
    const c = queryClass[i];
    ks.forEach((k, ki) => {
      let hits = 0;
      for (let r = 0; r < Math.min(k, order.length); r++) if (candidateLabels[order[r]][c] === 1) hits++;
      sums[ki] += hits / k;
    });
  });
  ks.forEach((k, ki) => { out[k] = sim.length === 0 ? NaN : sums[ki] / sim.length; });
  return out;
}
