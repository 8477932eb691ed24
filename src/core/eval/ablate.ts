// The ablation runner: trains every method variant with the same data, step budget and seeds,
// evaluates each run on the same tasks, and tabulates mean +/- std per metric. Resumable: a
// variant/seed whose run folder already holds its evaluation summary is not redone, and a run
// whose training was interrupted resumes from its last checkpoint. The grid, one task of it and
// the tabulation are separate functions so an executor (local loop, Slurm array) can run the
// tasks wherever it likes and collect them afterwards; scheduling lives in the engine.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors';
import { writeFileAtomic, writeJsonAtomic } from '../fs-atomic';
import { mergeRawConfig, resolveRunConfig } from '../train/run-config';
import { MLIP_VARIANTS } from '../align/mlip/config';
import { runTraining, type TrainListener } from '../train/trainer';
import { mean } from './metrics';
import { evaluateRun, TASK_NAMES, type EvaluateOptions, type TaskName } from './tasks';
import type { EvalResult } from './results';
import type { GpuAdapterReport } from '../runtime/backend';
import type { TaskState } from '../../protocol/events';

/** Variant name -> method config (the reclf-no-* names switch one relation module off). */
export const VARIANTS: Readonly<Record<string, Record<string, unknown>>> = {
  convirt: { name: 'convirt' },
  gloria: { name: 'gloria' },
  mgca: { name: 'mgca' },
  // mlip and its registered ablations (mlip-no-div, mlip-no-knowledge, mlip-no-category).
  ...Object.fromEntries(MLIP_VARIANTS.map((v) => [v, { name: v }])),
  reclf: { name: 'reclf' },
  'reclf-no-srm': { name: 'reclf', srm: false },
  'reclf-no-irm': { name: 'reclf', irm: 'uniform' },
  'reclf-no-srm-no-irm': { name: 'reclf', srm: false, irm: 'uniform' },
};

export interface AblationOptions {
  dataDir: string;
  out: string;
  methods: string[];
  seeds: number;
  budget: number;
  /** Raw config (data/text/model/train groups) shared by every variant; method is replaced. */
  baseConfig?: Record<string, unknown>;
  /** Named variants (design study): partial configs merged over baseConfig, beside the built-in ones. */
  variants?: NamedVariants;
  evaluate: Omit<EvaluateOptions, 'runDir' | 'dataDir' | 'onResult' | 'onSkip'>;
  backend: string;
  device: string;
  adapter?: GpuAdapterReport;
  listener: TrainListener;
  /** The listener of one run's training (its events.jsonl); default `listener`. */
  runListener?: (runDir: string) => TrainListener;
  /** Each evaluation result of a run as it is written. */
  onEvalResult?: (r: EvalResult) => void;
  /** A run of the grid changed state (pending, running, finished, failed, cancelled). */
  onTask?: (t: AblationTaskUpdate) => void;
  cancel?: { requested: boolean };
}

/** A grid task's new state, as the executors report it (the engine turns it into an `ablation_task` event). */
export interface AblationTaskUpdate extends GridTask {
  total: number;
  state: TaskState;
  metric?: { name: string; value: number };
  message?: string;
  jobId?: string;
}

export interface AblationRow {
  variant: string;
  seeds: number[];
  /** "task/metric" -> values over seeds (null = undefined metric). */
  values: Record<string, (number | null)[]>;
}

export interface AblationSummary {
  data: string;
  budget: number;
  seeds: number;
  rows: AblationRow[];
  runs: { variant: string; seed: number; run: string; skipped: boolean }[];
  /** Runs of the grid not evaluated yet on every task asked for (empty when the grid is complete). */
  missing?: { variant: string; seed: number; run: string }[];
}

const SUMMARY = 'summary.json';

/** RUN/eval/summary.json: what the ablation evaluated in that run. */
export interface EvalSummaryFile {
  results: EvalResult[];
  skipped: { task: TaskName; reason: string }[];
}

/** A named variant of a design study: config groups merged over the shared config. */
export type NamedVariants = Record<string, Record<string, unknown>>;

const VARIANT_GROUPS = new Set(['data', 'text', 'model', 'method', 'train']);
const VARIANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Checks a `--variants` file's content: an object of name -> partial config (groups data, text,
 * model, method, train; method.name required). Values are validated against the schema when
 * the ablation resolves each variant.
 */
export function parseNamedVariants(raw: unknown, file: string): NamedVariants {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${file}: expected an object of variant name -> partial config`, 'variants');
  const out: NamedVariants = {};
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!VARIANT_NAME.test(name)) throw new ConfigError(`${file}: variant name '${name}' must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (it names the run folders)`, 'variants');
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${file}: ${name}: expected an object of config groups`, 'variants');
    for (const g of Object.keys(v)) {
      if (!VARIANT_GROUPS.has(g)) throw new ConfigError(`${file}: ${name}.${g}: not a config group (data, text, model, method, train)`, 'variants');
    }
    const method = (v as Record<string, unknown>).method as Record<string, unknown> | undefined;
    if (!method || typeof method.name !== 'string') throw new ConfigError(`${file}: ${name}.method.name: every variant names its method`, 'variants');
    out[name] = v as Record<string, unknown>;
  }
  if (Object.keys(out).length === 0) throw new ConfigError(`${file}: no variants`, 'variants');
  return out;
}

export function variantConfig(variant: string, seed: number, budget: number, base: Record<string, unknown> = {}, named: NamedVariants = {}): Record<string, unknown> {
  const custom = named[variant];
  const method = VARIANTS[variant];
  if (!method && !custom) {
    throw new ConfigError(`--methods: unknown variant '${variant}' (known: ${[...Object.keys(VARIANTS), ...Object.keys(named)].join(', ')})`, 'methods');
  }
  const merged = custom ? mergeRawConfig(base, custom) : { ...base, method: { ...((base.method as Record<string, unknown>) ?? {}), ...method } };
  return { ...merged, train: { ...((merged.train as Record<string, unknown>) ?? {}), seed, maxSteps: budget } };
}

/** One variant x seed of the grid: its 0-based index, and its run folder (`VARIANT-seedS`). */
export interface GridTask {
  index: number;
  variant: string;
  seed: number;
  name: string;
  runDir: string;
}

/** The grid in its fixed order (variant-major): the index is what a Slurm array task runs. */
export function ablationGrid(methods: readonly string[], seeds: number, out: string): GridTask[] {
  const grid: GridTask[] = [];
  for (const variant of methods) {
    for (let seed = 0; seed < seeds; seed++) {
      const name = `${variant}-seed${seed}`;
      grid.push({ index: grid.length, variant, seed, name, runDir: path.join(out, name) });
    }
  }
  return grid;
}

/** RUN/eval/summary.json, or empty when the run has not been evaluated yet. */
export function readTaskSummary(runDir: string): EvalSummaryFile {
  const file = path.join(runDir, 'eval', SUMMARY);
  if (!fs.existsSync(file)) return { results: [], skipped: [] };
  try {
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<EvalSummaryFile>;
    return { results: Array.isArray(raw.results) ? raw.results : [], skipped: Array.isArray(raw.skipped) ? raw.skipped : [] };
  } catch {
    // Written atomically, so unreadable means damaged by hand: evaluate again rather than trust it.
    return { results: [], skipped: [] };
  }
}

/** Tasks asked for that this run has neither results for nor a reason to skip. */
export function missingEvalTasks(runDir: string, tasks: readonly TaskName[] | undefined): TaskName[] {
  const { results, skipped } = readTaskSummary(runDir);
  const covered = new Set<string>([...results.map((r) => r.task), ...skipped.map((t) => t.task)]);
  return (tasks ?? [...TASK_NAMES]).filter((t) => !covered.has(t));
}

/** The first headline metric a run has: the one number an editor shows per grid cell. */
export function keyMetric(results: readonly EvalResult[]): { name: string; value: number } | undefined {
  for (const h of HEADLINE) {
    const [task, metric] = [h.slice(0, h.indexOf('/')), h.slice(h.indexOf('/') + 1)];
    const v = results.find((r) => r.task === task)?.metrics[metric];
    if (typeof v === 'number' && Number.isFinite(v)) return { name: h, value: v };
  }
  return undefined;
}

/** Checks every variant resolves (schema-checked) before the first run starts or is submitted. */
export function checkAblation(o: Pick<AblationOptions, 'budget' | 'seeds' | 'methods' | 'baseConfig' | 'variants'>): void {
  if (!Number.isInteger(o.budget) || o.budget < 1) throw new ConfigError(`--budget must be a positive number of steps, got ${o.budget}`, 'budget');
  if (!Number.isInteger(o.seeds) || o.seeds < 1) throw new ConfigError(`--seeds must be a positive integer, got ${o.seeds}`, 'seeds');
  if (o.methods.length === 0) throw new ConfigError('--methods: no variants to run', 'methods');
  for (const m of o.methods) resolveRunConfig(variantConfig(m, 0, o.budget, o.baseConfig, o.variants));
}

export interface TaskOutcome {
  status: 'ok' | 'cancelled';
  results: EvalResult[];
  /** Already evaluated on every task asked for: nothing ran. */
  skipped: boolean;
}

/**
 * Whether the run's training ended with status ok. A cancelled run also writes its summary
 * (status 'cancelled'): that one must resume, not be evaluated half-trained.
 */
export function trainingFinished(runDir: string): boolean {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(runDir, 'train-summary.json'), 'utf8')) as { status?: unknown };
    return s.status === 'ok';
  } catch {
    return false;
  }
}

/**
 * One variant x seed: trains (resuming from its last checkpoint when it has one), then evaluates
 * the tasks it has not been evaluated on, and records them in RUN/eval/summary.json. The local
 * executor runs these one after another; a Slurm array task runs one.
 */
export async function runAblationTask(o: AblationOptions, t: GridTask): Promise<TaskOutcome> {
  const listener = o.runListener?.(t.runDir) ?? o.listener;
  const { variant, seed, runDir } = t;
  let { results, skipped: notRun } = readTaskSummary(runDir);
  const missing = missingEvalTasks(runDir, o.evaluate.tasks);
  if (missing.length === 0) {
    o.listener.log(`${variant} seed ${seed}: already evaluated, skipped`);
    return { status: 'ok', results, skipped: true };
  }
  if (!trainingFinished(runDir)) {
    const config = resolveRunConfig(variantConfig(variant, seed, o.budget, o.baseConfig, o.variants));
    const resume = fs.existsSync(path.join(runDir, 'checkpoints'));
    o.listener.log(`${variant} seed ${seed}: training ${o.budget} steps${resume ? ' (resuming)' : ''}`);
    const r = await runTraining({
      runDir, dataDir: o.dataDir, config, resume, listener, cancel: o.cancel ?? { requested: false },
      backend: o.backend, device: o.device, adapter: o.adapter,
    });
    listener.emit({ type: 'run_finished', status: r.status, summary: { ...r } });
    if (r.status === 'cancelled') return { status: 'cancelled', results, skipped: false };
    if (r.status !== 'ok') throw new ConfigError(`${variant} seed ${seed}: training ${r.status}`, 'methods');
  }
  if (results.length || notRun.length) o.listener.log(`${variant} seed ${seed}: evaluating ${missing.join(', ')}`);
  const ev = await evaluateRun({ ...o.evaluate, tasks: missing, runDir, dataDir: o.dataDir, onResult: o.onEvalResult });
  results = [...results, ...ev.results];
  notRun = [...notRun, ...ev.skipped];
  writeJsonAtomic(path.join(runDir, 'eval', SUMMARY), { results, skipped: notRun } satisfies EvalSummaryFile);
  return { status: 'ok', results, skipped: false };
}

export async function runAblation(o: AblationOptions): Promise<AblationSummary> {
  checkAblation(o);
  fs.mkdirSync(o.out, { recursive: true });
  const grid = ablationGrid(o.methods, o.seeds, o.out);
  const runs: AblationSummary['runs'] = [];
  const update = (t: GridTask, state: TaskState, extra: Partial<AblationTaskUpdate> = {}): void =>
    o.onTask?.({ ...t, total: grid.length, state, ...extra });
  for (const t of grid) update(t, missingEvalTasks(t.runDir, o.evaluate.tasks).length ? 'pending' : 'finished', { metric: keyMetric(readTaskSummary(t.runDir).results) });
  for (const t of grid) {
    if (o.cancel?.requested) break;
    let outcome: TaskOutcome;
    try {
      if (missingEvalTasks(t.runDir, o.evaluate.tasks).length) update(t, 'running');
      outcome = await runAblationTask(o, t);
    } catch (e) {
      update(t, 'failed', { message: (e as Error).message.split('\n')[0] });
      throw e;
    }
    if (outcome.status === 'cancelled') {
      update(t, 'cancelled');
      break;
    }
    if (!outcome.skipped) update(t, 'finished', { metric: keyMetric(outcome.results) });
    runs.push({ variant: t.variant, seed: t.seed, run: t.runDir, skipped: outcome.skipped });
  }
  const summary = collectAblation({ out: o.out, dataDir: o.dataDir, methods: o.methods, seeds: o.seeds, budget: o.budget, tasks: o.evaluate.tasks });
  return { ...summary, runs };
}

/**
 * Tabulates whatever has finished: every run evaluated on every task asked for counts, the
 * others are named in `missing`. Writes OUT/ablation.json and OUT/ablation.md.
 */
export function collectAblation(o: { out: string; dataDir: string; methods: readonly string[]; seeds: number; budget: number; tasks?: readonly TaskName[] }): AblationSummary {
  const rows: AblationRow[] = [];
  const runs: AblationSummary['runs'] = [];
  const missing: NonNullable<AblationSummary['missing']> = [];
  for (const variant of o.methods) {
    const row: AblationRow = { variant, seeds: [], values: {} };
    for (const t of ablationGrid([variant], o.seeds, o.out)) {
      if (missingEvalTasks(t.runDir, o.tasks).length) {
        missing.push({ variant, seed: t.seed, run: t.runDir });
        continue;
      }
      runs.push({ variant, seed: t.seed, run: t.runDir, skipped: true });
      row.seeds.push(t.seed);
      for (const r of readTaskSummary(t.runDir).results) {
        for (const [k, v] of Object.entries(r.metrics)) (row.values[`${r.task}/${k}`] ??= []).push(v);
      }
    }
    rows.push(row);
  }
  const summary: AblationSummary = { data: o.dataDir, budget: o.budget, seeds: o.seeds, rows, runs, missing };
  writeJsonAtomic(path.join(o.out, 'ablation.json'), summary);
  writeFileAtomic(path.join(o.out, 'ablation.md'), ablationMarkdown(summary));
  return summary;
}

/** "mean ± std" over the defined values (population std); "n/a" when none is defined. */
export function meanStd(values: readonly (number | null)[]): string {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length === 0) return 'n/a';
  const m = mean(v);
  const sd = Math.sqrt(mean(v.map((x) => (x - m) ** 2)));
  return `${m.toFixed(3)} ± ${sd.toFixed(3)}`;
}

/** Headline metrics per task, the columns of the markdown table (others stay in ablation.json). */
export const HEADLINE: readonly string[] = [
  'zeroshot/accuracy', 'zeroshot/auroc', 'linear/auroc@100%', 'linear/accuracy@100%', 'retrieval/i2t_R@1', 'retrieval/t2i_R@1',
  'grounding/pointing_game', 'grounding/attention_mass_inside', 'relations/top1_accuracy', 'relations/pair_auroc',
  'importance/pooled_auroc', 'segmentation/dice@100%',
  'detection/mAP@100%',
];

export function ablationMarkdown(s: AblationSummary): string {
  const cols = HEADLINE.filter((c) => s.rows.some((r) => r.values[c]));
  const lines = [
    `Ablation on ${s.data}: ${s.budget} steps, ${s.seeds} seed(s), mean ± std over seeds.`,
    '',
    `| variant | ${cols.join(' | ')} |`,
    `|---|${cols.map(() => '---').join('|')}|`,
    ...s.rows.map((r) => `| ${r.variant} | ${cols.map((c) => meanStd(r.values[c] ?? [])).join(' | ')} |`),
  ];
  // A partial table says so: a mean over fewer seeds than asked for is not the same claim.
  if (s.missing?.length) lines.push('', `Missing (${s.missing.length} of ${s.missing.length + s.runs.length} runs not finished yet): ${s.missing.map((m) => `${m.variant} seed ${m.seed}`).join(', ')}.`);
  return lines.join('\n') + '\n';
}
