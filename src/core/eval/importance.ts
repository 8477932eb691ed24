// IRM check on the synthetic benchmark: AUROC of per-word importance separating finding and
// location words from function words.
import { importanceByThird, importanceMetrics } from './metrics';
import type { EncodedSplit, PairExplanation } from './features';
import { rowsWithWordTruth, slotTruths } from './relations';
import { rowEntropy } from './grounding';
import type { EvalSource } from './source';

export async function runImportance(src: EvalSource, f: EncodedSplit, ex?: { rows: number[]; pairs: PairExplanation[] }): Promise<Record<string, number>> {
  const rows = ex?.rows ?? rowsWithWordTruth(f);
  const pairs = ex?.pairs ?? await src.explainPairs(f, rows);
  const studies = rows.map((r, k) => {
    const slots = slotTruths(f.studies[r].words ?? [], f.wordSpans[r]);
    // Slots without a truth word (punctuation) are 'modifier': outside both compared groups.
    return { importance: pairs[k].importance, roles: slots.map((w) => w?.role ?? ('modifier' as const)) };
  });
  const m = importanceMetrics(studies);
  const thirds = importanceByThird(studies);
  // Entropy of each report's importance over its real words, against uniform importance (log of the word count).
  let h = 0, hUniform = 0, counted = 0;
  for (let k = 0; k < rows.length; k++) {
    const real = f.wordSpans[rows[k]].length;
    if (real < 2) continue;
    h += rowEntropy(pairs[k].importance.subarray(0, real));
    hUniform += Math.log(real);
    counted++;
  }
  return {
    pooled_auroc: m.pooledAuroc, mean_study_auroc: m.meanStudyAuroc, studies_scored: m.studiesScored,
    positive_words: m.positiveWords, negative_words: m.negativeWords,
    first_third: thirds[0], middle_third: thirds[1], last_third: thirds[2],
    importance_entropy: counted ? h / counted : NaN, uniform_importance_entropy: counted ? hUniform / counted : NaN,
  };
}
