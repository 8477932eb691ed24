// Cross-modal retrieval on a split: image->text and text->image over every (image, report) of the
// split, exact-pair Recall@1/5/10 and mean/median rank, and ConVIRT Precision@K by class for
// studies with exactly one positive label.
import { imageTextRetrieval, precisionAtK, transpose } from './metrics';
import { splitTexts, type EncodedSplit, type ScoreKind } from './features';
import { positiveLabels } from './zeroshot';
import type { EvalSource } from './source';

export async function runRetrieval(src: EvalSource, f: EncodedSplit, opts: { score: ScoreKind; maxItems?: number }): Promise<Record<string, number>> {
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
  return m;
}
