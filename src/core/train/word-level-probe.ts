// Word-level metrics while training (train.evalEvery): grounding, relations and importance of
// the model as it is now, on a fixed subset of validation studies with word ground truth, so a
// run's curves show whether the explanations learn anything long before a full `reclf eval`.
import type { LoadedStudy } from '../data/manifest-types';
import { encodeSplit, explainPairs } from '../eval/features';
import { runGrounding } from '../eval/grounding';
import { runImportance } from '../eval/importance';
import { rowsWithWordTruth, runRelations } from '../eval/relations';
import type { EvalSource } from '../eval/source';
import type { LoadedRun } from './run-loader';

/** What one probe reports, each with the value uniform weights would score beside it (`<name>_uniform`). */
export type WordLevelMetrics = Record<string, number>;

/** Studies the probe can score: word roles with offsets (relations, importance) and boxes or a mask (grounding). */
export function probeStudies(valid: readonly LoadedStudy[], max: number): LoadedStudy[] {
  const usable = valid.filter((s) => (s.words?.length ?? 0) > 0 && s.words!.every((w) => w.start !== undefined) && ((s.boxes?.length ?? 0) > 0 || s.maskPath));
  return usable.slice(0, max);
}

/**
 * Encodes the studies with the run's current weights (eval mode, no augmentation, no feature
 * cache) and scores them. The explanations are computed once for relations and importance;
 * grounding reads its own (boxed) rows.
 */
export async function probeWordLevel(run: LoadedRun, studies: readonly LoadedStudy[], dataDir: string): Promise<WordLevelMetrics> {
  const split = studies[0].split;
  const f = await encodeSplit(run, studies, { dataDir, split, workers: 0, cache: false });
  const src: Pick<EvalSource, 'explainPairs'> = { explainPairs: (g, rows) => explainPairs(run, g, rows) };
  const rows = rowsWithWordTruth(f);
  const pairs = await explainPairs(run, f, rows);
  const g = await runGrounding(src as EvalSource, f);
  const r = await runRelations(src as EvalSource, f, { rows, pairs });
  const i = await runImportance(src as EvalSource, f, { rows, pairs });
  return {
    pointing_game: g.pointing_game,
    mass_inside: g.attention_mass_inside,
    mass_inside_uniform: g.uniform_mass_inside,
    attention_entropy: g.attention_entropy,
    attention_entropy_uniform: g.uniform_entropy,
    relation_auroc: r.pair_auroc,
    relation_auroc_uniform: r.uniform_pair_auroc,
    relation_study_auroc: r.mean_study_auroc,
    relation_study_auroc_uniform: 0.5,
    relation_top1: r.top1_accuracy,
    importance_auroc: i.pooled_auroc,
    importance_auroc_uniform: 0.5,
    importance_entropy: i.importance_entropy,
    importance_entropy_uniform: i.uniform_importance_entropy,
  };
}
