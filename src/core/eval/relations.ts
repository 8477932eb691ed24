// SRM check on the synthetic benchmark: does a finding word's relation row peak on its own
// location word? Ground-truth words (char offsets in the report) are aligned with the model's
// word slots (the tokenizer's word spans) by overlap.
import { relationMetrics, type RelationStudy } from './metrics';
import type { WordTruth } from '../data/manifest-types';
import { labelOfFinding } from '../data/synth/vocabulary';
import type { EncodedSplit, PairExplanation } from './features';
import type { EvalSource } from './source';

/**
 * Ground truth per model word slot: the truth word whose [start, end) overlaps the slot's span;
 * undefined for slots with no truth word (punctuation, section headers the generator skips).
 */
export function slotTruths(truth: readonly WordTruth[], spans: readonly [number, number][]): (WordTruth | undefined)[] {
  return spans.map(([s, e]) => truth.find((w) => w.start !== undefined && w.end !== undefined && w.start < e && s < w.end));
}

/** Rows of the split whose study has word ground truth with offsets. */
export function rowsWithWordTruth(f: EncodedSplit): number[] {
  return f.studies.flatMap((s, i) => (s.words?.length && s.words.every((w) => w.start !== undefined) ? [i] : []));
}

export function relationStudies(f: EncodedSplit, rows: readonly number[], ex: readonly PairExplanation[]): RelationStudy[] {
  return rows.map((r, k) => {
    const slots = slotTruths(f.studies[r].words ?? [], f.wordSpans[r]);
    return {
      relation: ex[k].relation,
      stride: f.N,
      // Unmatched slots take the 'modifier' role: counted as negatives, never as findings or locations.
      words: slots.map((w) => (w ? { role: w.role, finding: w.finding, location: w.location } : { role: 'modifier' as const })),
    };
  });
}

export async function runRelations(src: EvalSource, f: EncodedSplit, ex?: { rows: number[]; pairs: PairExplanation[] }): Promise<Record<string, number>> {
  const rows = ex?.rows ?? rowsWithWordTruth(f);
  const pairs = ex?.pairs ?? await src.explainPairs(f, rows);
  const studies = relationStudies(f, rows, pairs);
  const all = relationMetrics(studies, 'all-pairs');
  const fr = relationMetrics(studies, 'finding-rows');
  return {
    top1_accuracy: all.top1Accuracy, pair_auroc: all.pairAuroc, uniform_pair_auroc: all.uniformPairAuroc, mean_study_auroc: all.meanStudyAuroc, studies_scored: all.studiesScored,
    finding_row_auroc: fr.pairAuroc, hub_share: all.hubShare,
    scored_finding_words: all.scoredFindingWords, positive_pairs: all.positivePairs, negative_pairs: all.negativePairs,
    ...Object.fromEntries(Object.entries(all.top1ByFinding).flatMap(([finding, t]) => [
      [`top1_accuracy/${labelOfFinding(finding)}`, t.accuracy], [`scored_finding_words/${labelOfFinding(finding)}`, t.scored]])),
  };
}
