// The evaluation tasks and the one entry point that runs a chosen set of them on a run: load
// the run and the dataset, encode each needed split once (cached), run every task, write
// RUN/eval/<task>.json and report each result as it lands.
import path from 'node:path';
import { ConfigError, DataError } from '../errors';
import { readDataset } from '../data/manifest';
import type { LoadedStudy, Split } from '../data/manifest-types';
import { loadRun, type LoadedRun } from '../train/run-loader';
import { configHash } from '../train/run-config';
import { dataHash, encodeSplit, explainPairs, type EncodedSplit, type ScoreKind } from './features';
import { runZeroShot, positiveLabels } from './zeroshot';
import { runRetrieval } from './retrieval';
import { runGrounding } from './grounding';
import { rowsWithWordTruth, runRelations } from './relations';
import { runImportance } from './importance';
import { runLinearProbe, LINEAR_DEFAULTS } from './linear-probe';
import { runSegmentation, SEGMENTATION_DEFAULTS } from './segmentation';
import { runDetection, DETECTION_DEFAULTS } from './detection';
import { writePreviewThumbnails } from './detection-preview';
import { finiteMetrics, writeEvalResult, type EvalResult } from './results';
import type { PromptPooling } from './metrics';
import type { PromptSet } from './prompts';

export const TASK_NAMES = ['zeroshot', 'linear', 'retrieval', 'segmentation', 'grounding', 'relations', 'importance', 'detection'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

/** Why a task cannot run on these studies, or undefined when it can. */
export function notApplicable(task: TaskName, studies: readonly LoadedStudy[]): string | undefined {
  const has = (p: (s: LoadedStudy) => boolean): boolean => studies.some(p);
  switch (task) {
    case 'zeroshot':
    case 'linear':
      return positiveLabels(studies).length ? undefined : 'no positive labels';
    case 'retrieval':
      return studies.length >= 2 ? undefined : 'fewer than 2 studies';
    case 'grounding':
      return has((s) => (s.boxes?.length ?? 0) > 0 || Boolean(s.maskPath)) ? undefined : 'no boxes or masks';
    case 'segmentation':
      return has((s) => Boolean(s.maskPath) || (s.boxes?.length ?? 0) > 0) ? undefined : 'no masks or boxes';
    case 'detection':
      return has((s) => (s.boxes?.length ?? 0) > 0) ? undefined : 'no boxes';
    case 'relations':
    case 'importance':
      return has((s) => Boolean(s.words?.length && s.words.every((w) => w.start !== undefined))) ? undefined : 'no word ground truth (roles with offsets)';
  }
}

export function parseTasks(list: readonly string[] | undefined): TaskName[] | undefined {
  if (!list || list.length === 0) return undefined;
  return list.map((t) => {
    if (!(TASK_NAMES as readonly string[]).includes(t)) throw new ConfigError(`--tasks: unknown task '${t}' (known: ${TASK_NAMES.join(', ')})`, 'tasks');
    return t as TaskName;
  });
}

export interface EvaluateOptions {
  runDir: string;
  dataDir: string;
  /** Tasks to run; default every task applicable to the dataset. */
  tasks?: TaskName[];
  split: Split;
  checkpoint?: string;
  score: ScoreKind;
  /** Retrieval score (global by default: local scoring of all n x n pairs is O(n^2 N M)). */
  retrievalScore?: ScoreKind;
  pooling: PromptPooling;
  prompts?: PromptSet;
  maxPrompts?: number;
  seeds?: number[];
  linear?: Partial<typeof LINEAR_DEFAULTS>;
  segmentation?: Partial<typeof SEGMENTATION_DEFAULTS>;
  detection?: Partial<typeof DETECTION_DEFAULTS>;
  backend: string;
  createdBy: string;
  workers?: number;
  onResult?: (r: EvalResult) => void;
  onSkip?: (task: TaskName, reason: string) => void;
  log?: (m: string) => void;
}

export interface EvaluateSummary {
  results: EvalResult[];
  skipped: { task: TaskName; reason: string }[];
  /** Seconds spent encoding features (0 when all came from the cache). */
  encodeSeconds: number;
}

export async function evaluateRun(o: EvaluateOptions): Promise<EvaluateSummary> {
  const log = o.log ?? (() => {});
  const dataset = readDataset(o.dataDir, { onWarning: (rec) => log(`skipped manifest line ${rec.line}: ${rec.reason}`) });
  const run: LoadedRun = loadRun(o.runDir, o.checkpoint ?? 'best');
  try {
    const evalStudies = dataset.studies.filter((s) => s.split === o.split);
    if (evalStudies.length === 0) throw new DataError(`${o.dataDir}: no studies in split '${o.split}'`, o.dataDir, 'split');
    const wanted = o.tasks ?? [...TASK_NAMES];
    const skipped: EvaluateSummary['skipped'] = [];
    const tasks = wanted.filter((t) => {
      const why = notApplicable(t, t === 'linear' || t === 'segmentation' || t === 'detection' ? dataset.studies : evalStudies);
      if (why) { skipped.push({ task: t, reason: why }); o.onSkip?.(t, why); }
      return !why;
    });
    const dHash = dataHash(o.dataDir);
    const cHash = configHash({ ...run.config, backend: undefined });
    const splits = new Map<Split, EncodedSplit>();
    let encodeSeconds = 0;
    const features = async (split: Split): Promise<EncodedSplit | undefined> => {
      if (!dataset.studies.some((s) => s.split === split)) return undefined;
      let f = splits.get(split);
      if (!f) {
        const t0 = performance.now();
        f = await encodeSplit(run, dataset.studies, { dataDir: o.dataDir, split, workers: o.workers });
        const s = (performance.now() - t0) / 1000;
        if (!f.cached) encodeSeconds += s;
        log(`${split}: ${f.n} studies ${f.cached ? 'from the feature cache' : `encoded in ${s.toFixed(1)} s`}${f.failed.length ? `, ${f.failed.length} images failed` : ''}`);
        splits.set(split, f);
      }
      return f;
    };
    const seeds = o.seeds ?? LINEAR_DEFAULTS.seeds;
    const results: EvalResult[] = [];
    let explained: { rows: number[]; pairs: ReturnType<typeof explainPairs> } | undefined;
    for (const task of tasks) {
      const f = await features(o.split);
      if (!f) continue;
      const t0 = performance.now();
      let metrics: Record<string, number>;
      let details: Record<string, unknown> | undefined;
      let preview: EvalResult['preview'];
      let taskSeeds: number[] = [];
      switch (task) {
        case 'zeroshot': {
          const r = runZeroShot(run, f, { score: o.score, pooling: o.pooling, prompts: o.prompts, maxPrompts: o.maxPrompts ?? 32, seed: 0 });
          metrics = r.metrics;
          details = { classes: r.classes, prompt_source: r.promptSource, prompt_counts: r.promptCounts, score: o.score, pooling: o.pooling, max_prompts: o.maxPrompts ?? 32 };
          taskSeeds = [0];
          break;
        }
        case 'retrieval':
          metrics = runRetrieval(run, f, { score: o.retrievalScore ?? 'global' });
          details = { score: o.retrievalScore ?? 'global' };
          break;
        case 'grounding':
          metrics = await runGrounding(run, f);
          break;
        case 'relations':
        case 'importance': {
          if (!explained) {
            const rows = rowsWithWordTruth(f);
            explained = { rows, pairs: explainPairs(run, f, rows) };
          }
          metrics = task === 'relations' ? runRelations(run, f, explained) : runImportance(run, f, explained);
          break;
        }
        case 'linear': {
          const train = await features('train');
          if (!train) { skipped.push({ task, reason: 'no train split' }); o.onSkip?.(task, 'no train split'); continue; }
          const valid = o.split === 'valid' ? undefined : await features('valid');
          metrics = runLinearProbe(train, valid, f, {
            ...o.linear, seeds, fractionsDir: path.join(o.runDir, 'eval', 'linear-fractions'), dataHash: dHash,
          });
          details = { ...LINEAR_DEFAULTS, ...o.linear, seeds, features: 'backbone global (frozen)' };
          taskSeeds = seeds;
          break;
        }
        case 'segmentation': {
          const r = await runSegmentation(run, dataset.studies, { ...o.segmentation, seeds, split: o.split, log });
          metrics = r.metrics;
          details = r.details;
          taskSeeds = seeds;
          break;
        }
        case 'detection': {
          const r = await runDetection(run, dataset.studies.filter((s) => s.split === 'train'), evalStudies, {
            ...o.detection, seeds, log, fractionsDir: path.join(o.runDir, 'eval', 'detection-fractions'), dataHash: dHash,
          });
          metrics = r.metrics;
          details = r.details;
          preview = r.preview && (await writePreviewThumbnails(o.runDir, r.preview));
          taskSeeds = seeds;
          break;
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      const result: EvalResult = {
        task, metrics: finiteMetrics(metrics), config_hash: cHash, data_hash: dHash, seeds: taskSeeds, backend: o.backend,
        run: path.resolve(o.runDir), checkpoint: path.basename(run.checkpointFile), created_by: o.createdBy, split: o.split,
        seconds, ...(details ? { details } : {}), ...(preview ? { preview } : {}), created_at: new Date().toISOString(),
      };
      writeEvalResult(o.runDir, result);
      results.push(result);
      o.onResult?.(result);
    }
    return { results, skipped, encodeSeconds };
  } finally {
    run.params.dispose();
  }
}
