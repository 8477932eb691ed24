// The ablation runner: trains every method variant with the same data, step budget and seeds,
// evaluates each run on the same tasks, and tabulates mean +/- std per metric. Resumable: a
// variant/seed whose run folder already holds its evaluation summary is not redone, and a run
// whose training was interrupted resumes from its last checkpoint.
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
  cancel?: { requested: boolean };
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
}

const SUMMARY = 'summary.json';

/** RUN/eval/summary.json: what the ablation evaluated in that run. */
interface EvalSummaryFile {
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
    if (!VARIANT_NAME.test(name)) throw new ConfigError(`${file}: variant name '${name}' must be letters, digits, '.', '_' or '-' (it names the run folders)`, 'variants');
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

export async function runAblation(o: AblationOptions): Promise<AblationSummary> {
  if (!Number.isInteger(o.budget) || o.budget < 1) throw new ConfigError(`--budget must be a positive number of steps, got ${o.budget}`, 'budget');
  if (!Number.isInteger(o.seeds) || o.seeds < 1) throw new ConfigError(`--seeds must be a positive integer, got ${o.seeds}`, 'seeds');
  // Every variant resolves (schema-checked) before the first run starts.
  for (const m of o.methods) resolveRunConfig(variantConfig(m, 0, o.budget, o.baseConfig, o.variants));
  fs.mkdirSync(o.out, { recursive: true });
  const rows: AblationRow[] = [];
  const runs: AblationSummary['runs'] = [];
  for (const variant of o.methods) {
    const row: AblationRow = { variant, seeds: [], values: {} };
    for (let seed = 0; seed < o.seeds; seed++) {
      const runDir = path.join(o.out, `${variant}-seed${seed}`);
      const summaryFile = path.join(runDir, 'eval', SUMMARY);
      let results: EvalResult[] = [];
      let notRun: { task: TaskName; reason: string }[] = [];
      if (fs.existsSync(summaryFile)) {
        ({ results, skipped: notRun } = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as EvalSummaryFile);
      }
      // Tasks asked for now that this run has neither results for nor a reason to skip (an
      // ablation widened with a new task is completed without retraining or re-evaluating).
      const covered = new Set<string>([...results.map((r) => r.task), ...notRun.map((t) => t.task)]);
      const missing = (o.evaluate.tasks ?? [...TASK_NAMES]).filter((t) => !covered.has(t));
      const skipped = missing.length === 0;
      if (skipped) {
        o.listener.log(`${variant} seed ${seed}: already evaluated, skipped`);
      } else {
        if (!fs.existsSync(path.join(runDir, 'train-summary.json'))) {
          const config = resolveRunConfig(variantConfig(variant, seed, o.budget, o.baseConfig, o.variants));
          const resume = fs.existsSync(path.join(runDir, 'checkpoints'));
          o.listener.log(`${variant} seed ${seed}: training ${o.budget} steps${resume ? ' (resuming)' : ''}`);
          const r = await runTraining({
            runDir, dataDir: o.dataDir, config, resume, listener: o.listener, cancel: o.cancel ?? { requested: false },
            backend: o.backend, device: o.device, adapter: o.adapter,
          });
          if (r.status !== 'ok') throw new ConfigError(`${variant} seed ${seed}: training ${r.status}`, 'methods');
        }
        if (covered.size) o.listener.log(`${variant} seed ${seed}: evaluating ${missing.join(', ')}`);
        const ev = await evaluateRun({ ...o.evaluate, tasks: missing, runDir, dataDir: o.dataDir });
        results = [...results, ...ev.results];
        notRun = [...notRun, ...ev.skipped];
        writeJsonAtomic(summaryFile, { results, skipped: notRun } satisfies EvalSummaryFile);
      }
      runs.push({ variant, seed, run: runDir, skipped });
      row.seeds.push(seed);
      for (const r of results) {
        for (const [k, v] of Object.entries(r.metrics)) (row.values[`${r.task}/${k}`] ??= []).push(v);
      }
    }
    rows.push(row);
  }
  const summary: AblationSummary = { data: o.dataDir, budget: o.budget, seeds: o.seeds, rows, runs };
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
  return lines.join('\n') + '\n';
}
