// Cross-modal retrieval on a split: image->text and text->image over every (image, report) of the
// split, exact-pair Recall@1/5/10 and mean/median rank, and ConVIRT Precision@K by class for
// studies with exactly one positive label.
import { imageTextRetrieval, precisionAtK, transpose } from './metrics';
import { splitTexts, type EncodedSplit, type ScoreKind } from './features';
import { positiveLabels } from './zeroshot';
import type { EvalSource } from './source';

/** Local-score-only retrieval is scored on at most this many pairs: it costs O(n^2 N M). */
export const LOCAL_RETRIEVAL_ITEMS = 200;

/**
 * Retrieval by the method's local score alone on the first `items` pairs: can the local branch
 * tell pairs apart at all? Empty when the method has no local score (it would equal global).
 */
async function localOnlyRetrieval(src: EvalSource, f: EncodedSplit, items: number): Promise<Record<string, number>> {
  const k = Math.min(f.n, items);
  if (k < 2) return {};
  const rows = Array.from({ length: k }, (_, i) => i);
  const texts = splitTexts(f);
  const local = await src.similarity(f, rows, texts, rows, 'local');
  const global = await src.similarity(f, rows, texts, rows, 'global');
  if (local.every((r, i) => r.every((v, j) => Math.abs(v - global[i][j]) < 1e-7))) return {};
  const r = imageTextRetrieval(local, [1, 5, 10]);
  const g = imageTextRetrieval(global, [1, 5, 10]);
  const m: Record<string, number> = { local_n: k };
  for (const [dir, res, ref] of [['i2t', r.imageToText, g.imageToText], ['t2i', r.textToImage, g.textToImage]] as const) {
    for (const kk of [1, 10]) {
      m[`local_${dir}_R@${kk}`] = res.recall[kk];
      // The global embeddings on the same pairs, for comparison.
      m[`local_subset_global_${dir}_R@${kk}`] = ref.recall[kk];
    }
  }
  return m;
}

export async function runRetrieval(src: EvalSource, f: EncodedSplit, opts: { score: ScoreKind; maxItems?: number; localItems?: number }): Promise<Record<string, number>> {
  const n = Math.min(f.n, opts.maxItems ?? f.n);
  const rows = Array.from({ length: n }, (_, i) => i);
  const sim = await src.similarity(f, rows, splitTexts(f), rows, opts.score);
  const r = imageTextRetrieval(sim, [1, 5, 10]);
  const m: Record<string, number> = { n };
  for (const [dir, res] of [['i2t', r.imageToText], ['t2i', r.textToImage]] as const) {
    for (const k of [1, 5, 10]) m[`${dir}_R@${k}`] = res.recall[k];
    m[`${dir}_mean_rank`] = res.meanRank;
    m[`${dir}_median_rank`] = res.medianRank;
  }
  const classes = positiveLabels(f.studies.slice(0, n));
  const labelRows = rows.map((i) => classes.map((c) => (f.studies[i].labels?.[c] === 1 ? 1 : 0)));
  const q = rows.filter((i) => labelRows[i].reduce((a: number, b: number) => a + b, 0) === 1);
  if (classes.length > 0 && q.length > 0) {
    const qc = q.map((i) => labelRows[i].indexOf(1));
    const ks = [1, 5, 10];
    const i2t = precisionAtK(q.map((i) => sim[i]), qc, labelRows, ks);
    const simT = transpose(sim);
    const t2i = precisionAtK(q.map((i) => simT[i]), qc, labelRows, ks);
    for (const k of ks) {
      m[`i2t_P@${k}`] = i2t[k];
      m[`t2i_P@${k}`] = t2i[k];
    }
  }
  if (opts.localItems && opts.localItems > 0) Object.assign(m, await localOnlyRetrieval(src, f, opts.localItems));
  return m;
}
