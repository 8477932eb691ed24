// The evaluation tasks and the entry points that run a chosen set of them on a run (TF.js) or on
// an ONNX model that follows the contract: load the source and the dataset, encode each needed
// split once (cached), run every task, write <RUN or OUT>/eval/<task>.json and report each result
// as it lands.
import path from 'node:path';
import { ConfigError, DataError } from '../errors';
import { readDataset } from '../data/manifest';
import type { LoadedStudy, Split } from '../data/manifest-types';
import { loadRun } from '../train/run-loader';
import { dataHash, type EncodedSplit, type PairExplanation, type ScoreKind } from './features';
import { modelSource, randomInitRun, runSource, type EvalSource } from './source';
import { runZeroShot, positiveLabels } from './zeroshot';
import { LOCAL_RETRIEVAL_ITEMS, runRetrieval } from './retrieval';
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
  /**
   * Grounding, relations and importance also report the same metrics of a randomly initialised
   * model of the run's config (random_init_*), their floor. Default true; TF.js runs only.
   */
  floors?: boolean;
  onResult?: (r: EvalResult) => void;
  onSkip?: (task: TaskName, reason: string) => void;
  /** A task is about to run: its 1-based position among the tasks that will run. */
  onTaskStart?: (task: TaskName, index: number, total: number) => void;
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
  return evaluateSource(runSource(loadRun(o.runDir, o.checkpoint ?? 'best')), dataset, o);
}

export interface EvaluateModelOptions extends Omit<EvaluateOptions, 'runDir' | 'checkpoint'> {
  /** ONNX model that follows the contract. */
  modelFile: string;
  /** Results go to OUT/eval/<task>.json (default `<model>.eval` next to the model). */
  outDir?: string;
  device?: 'auto' | 'cpu' | 'cuda';
}

/**
 * Evaluation of an ONNX model through ONNX Runtime: tasks read contract outputs only (global
 * scores, matched-pair explanations); segmentation and detection are skipped with the reason.
 */
export async function evaluateModel(o: EvaluateModelOptions): Promise<EvaluateSummary> {
  for (const [flag, v] of [['score', o.score], ['retrieval-score', o.retrievalScore ?? 'global']] as const) {
    if (v !== 'global') throw new ConfigError(`--${flag} ${v}: the local score needs the method's head on every image-text pair, which an ONNX model only scores for matched pairs; use --${flag} global (or evaluate the run with --run)`, flag);
  }
  const log = o.log ?? (() => {});
  const dataset = readDataset(o.dataDir, { onWarning: (rec) => log(`skipped manifest line ${rec.line}: ${rec.reason}`) });
  return evaluateSource(await modelSource(o.modelFile, { outDir: o.outDir, device: o.device }), dataset, o);
}

async function evaluateSource(src: EvalSource, dataset: ReturnType<typeof readDataset>, o: Omit<EvaluateOptions, 'runDir' | 'checkpoint'>): Promise<EvaluateSummary> {
  const log = o.log ?? (() => {});
  // The floor of the word-level metrics: the same config, randomly initialised (TF.js runs only).
  const floors = new WordLevelFloors(src, o, dataset.studies);
  try {
    const evalStudies = dataset.studies.filter((s) => s.split === o.split);
    if (evalStudies.length === 0) throw new DataError(`${o.dataDir}: no studies in split '${o.split}'`, o.dataDir, 'split');
    const wanted = o.tasks ?? [...TASK_NAMES];
    const skipped: EvaluateSummary['skipped'] = [];
    const tasks = wanted.filter((t) => {
      const why = src.unsupported(t) ?? notApplicable(t, t === 'linear' || t === 'segmentation' || t === 'detection' ? dataset.studies : evalStudies);
      if (why) { skipped.push({ task: t, reason: why }); o.onSkip?.(t, why); }
      return !why;
    });
    const dHash = dataHash(o.dataDir);
    const splits = new Map<Split, EncodedSplit>();
    let encodeSeconds = 0;
    const features = async (split: Split): Promise<EncodedSplit | undefined> => {
      if (!dataset.studies.some((s) => s.split === split)) return undefined;
      let f = splits.get(split);
      if (!f) {
        const t0 = performance.now();
        f = await src.encodeSplit(dataset.studies, { dataDir: o.dataDir, split, workers: o.workers });
        const s = (performance.now() - t0) / 1000;
        if (!f.cached) encodeSeconds += s;
        log(`${split}: ${f.n} studies ${f.cached ? 'from the feature cache' : `encoded in ${s.toFixed(1)} s`}${f.failed.length ? `, ${f.failed.length} images failed` : ''}`);
        splits.set(split, f);
      }
      return f;
    };
    const seeds = o.seeds ?? LINEAR_DEFAULTS.seeds;
    const results: EvalResult[] = [];
    const explained: ExplainedRows = {};
    for (const [i, task] of tasks.entries()) {
      o.onTaskStart?.(task, i + 1, tasks.length);
      // Segmentation and detection train on pixels, not on the cached features: no encoding for them.
      // For every other task f is defined: the eval split is non-empty (checked above).
      const f = task === 'segmentation' || task === 'detection' ? undefined : await features(o.split);
      const t0 = performance.now();
      let metrics: Record<string, number>;
      let details: Record<string, unknown> | undefined;
      let preview: EvalResult['preview'];
      let taskSeeds: number[] = [];
      switch (task) {
        case 'zeroshot': {
          const r = await runZeroShot(src, f!, { score: o.score, pooling: o.pooling, prompts: o.prompts, maxPrompts: o.maxPrompts ?? 32, seed: 0 });
          metrics = r.metrics;
          details = { classes: r.classes, prompt_source: r.promptSource, prompt_counts: r.promptCounts, score: o.score, pooling: o.pooling, max_prompts: o.maxPrompts ?? 32 };
          taskSeeds = [0];
          break;
        }
        case 'retrieval':
          metrics = await runRetrieval(src, f!, { score: o.retrievalScore ?? 'global', localItems: src.run ? LOCAL_RETRIEVAL_ITEMS : 0 });
          details = { score: o.retrievalScore ?? 'global' };
          break;
        case 'grounding':
          metrics = { ...await runGrounding(src, f!), ...await floors.of('grounding') };
          break;
        case 'relations':
        case 'importance': {
          metrics = await wordTruthTask(task, src, f!, explained);
          metrics = { ...metrics, ...await floors.of(task) };
          break;
        }
        case 'linear': {
          const train = await features('train');
          if (!train) { skipped.push({ task, reason: 'no train split' }); o.onSkip?.(task, 'no train split'); continue; }
          const valid = o.split === 'valid' ? undefined : await features('valid');
          metrics = await runLinearProbe(train, valid, f!, {
            ...o.linear, seeds, fractionsDir: path.join(src.outDir, 'eval', 'linear-fractions'), dataHash: dHash,
          });
          details = { ...LINEAR_DEFAULTS, ...o.linear, seeds, features: src.linearFeatures };
          taskSeeds = seeds;
          break;
        }
        case 'segmentation': {
          const run = encoderRun(src, task);
          const r = await runSegmentation(run, dataset.studies, { ...o.segmentation, seeds, split: o.split, log });
          metrics = r.metrics;
          details = r.details;
          taskSeeds = seeds;
          break;
        }
        case 'detection': {
          const run = encoderRun(src, task);
          const r = await runDetection(run, dataset.studies.filter((s) => s.split === 'train'), evalStudies, {
            ...o.detection, seeds, log, fractionsDir: path.join(src.outDir, 'eval', 'detection-fractions'), dataHash: dHash,
          });
          metrics = r.metrics;
          details = r.details;
          preview = r.preview && (await writePreviewThumbnails(src.outDir, r.preview));
          taskSeeds = seeds;
          break;
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      const id = src.identity;
      // Key order kept as before for run results: config hash first, run and checkpoint after the backend.
      const result: EvalResult = {
        task, metrics: finiteMetrics(metrics), ...(id.config_hash ? { config_hash: id.config_hash } : {}),
        ...(id.model ? { model: id.model, model_hash: id.model_hash } : {}), data_hash: dHash, seeds: taskSeeds, backend: o.backend,
        ...(id.run ? { run: id.run } : {}), ...(id.checkpoint ? { checkpoint: id.checkpoint } : {}), created_by: o.createdBy, split: o.split,
        seconds, ...(details ? { details } : {}), ...(preview ? { preview } : {}), created_at: new Date().toISOString(),
      };
      writeEvalResult(src.outDir, result);
      results.push(result);
      o.onResult?.(result);
    }
    return { results, skipped, encodeSeconds };
  } finally {
    await floors.dispose();
    await src.dispose();
  }
}

/** The explanations of a split's word-truth rows, made once and shared by relations and importance. */
interface ExplainedRows {
  value?: { rows: number[]; pairs: PairExplanation[] };
}

async function wordTruthTask(task: 'relations' | 'importance', src: EvalSource, f: EncodedSplit, cache: ExplainedRows): Promise<Record<string, number>> {
  if (!cache.value) {
    const rows = rowsWithWordTruth(f);
    cache.value = { rows, pairs: await src.explainPairs(f, rows) };
  }
  return task === 'relations' ? runRelations(src, f, cache.value) : runImportance(src, f, cache.value);
}

/** Metrics of the random-init floor, reported as random_init_<name>. */
const FLOOR_METRICS: Record<'grounding' | 'relations' | 'importance', string[]> = {
  grounding: ['pointing_game', 'attention_mass_inside', 'attention_entropy'],
  relations: ['top1_accuracy', 'pair_auroc', 'mean_study_auroc'],
  importance: ['pooled_auroc', 'importance_entropy'],
};

/**
 * Word-level metrics of a randomly initialised model of the run's config, computed once per
 * evaluation: every grounding, relation and importance number then has its floor beside it.
 */
class WordLevelFloors {
  private source?: EvalSource;
  private split?: EncodedSplit;
  private readonly explained: ExplainedRows = {};

  constructor(private readonly src: EvalSource, private readonly o: Omit<EvaluateOptions, 'runDir' | 'checkpoint'>, private readonly studies: readonly LoadedStudy[]) {}

  async of(task: 'grounding' | 'relations' | 'importance'): Promise<Record<string, number>> {
    if (!this.src.run || this.o.floors === false) return {};
    if (!this.source) {
      this.source = runSource(randomInitRun(this.src.run.runDir));
      this.split = await this.source.encodeSplit(this.studies, { dataDir: this.o.dataDir, split: this.o.split, workers: this.o.workers });
    }
    const f = this.split!;
    let m: Record<string, number>;
    if (task === 'grounding') m = await runGrounding(this.source, f);
    else m = await wordTruthTask(task, this.source, f, this.explained);
    return Object.fromEntries(FLOOR_METRICS[task].filter((k) => k in m).map((k) => [`random_init_${k}`, m[k]]));
  }

  async dispose(): Promise<void> {
    await this.source?.dispose();
  }
}

/** The TF.js run behind a source, for tasks that train heads on its encoder. */
function encoderRun(src: EvalSource, task: TaskName): NonNullable<EvalSource['run']> {
  if (!src.run) throw new ConfigError(`task ${task}: ${src.unsupported(task) ?? 'needs a TF.js run'}`, 'tasks');
  return src.run;
}
