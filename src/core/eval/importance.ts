// IRM check on the synthetic benchmark: AUROC of per-word importance separating finding and
// location words from function words.
import { importanceMetrics } from './metrics';
import type { EncodedSplit, PairExplanation } from './features';
import { rowsWithWordTruth, slotTruths } from './relations';
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
  return {
    pooled_auroc: m.pooledAuroc, mean_study_auroc: m.meanStudyAuroc, studies_scored: m.studiesScored,
    positive_words: m.positiveWords, negative_words: m.negativeWords,
  };
}
