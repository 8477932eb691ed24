// Evaluation results as the panel shows them (pure Node): per run, one compact card per task with
// its headline metrics first (each beside its baseline when the engine measured one) and the rest
// on demand; runs side by side; an ablation's variants as mean ± std over seeds. Reads the files
// the engine published (RUN/eval/<task>.json, ABLATION/ablation.json); computes only display
// arithmetic (means and spreads of numbers already measured).
import fs from 'node:fs';
import path from 'node:path';
import type { RunResults, TableData, TaskResult } from '../protocol/webview-messages';

/** Headline metrics per task, each with the metric it is read against (its floor), when measured. */
export const HEADLINE: Readonly<Record<string, ReadonlyArray<readonly [string, string?]>>> = {
  zeroshot: [['accuracy'], ['auroc'], ['macro_f1']],
  linear: [['auroc@100%'], ['auroc@10%'], ['auroc@1%'], ['accuracy@100%']],
  retrieval: [['i2t_R@1'], ['t2i_R@1'], ['i2t_R@10'], ['t2i_R@10']],
  grounding: [['pointing_game', 'random_init_pointing_game'], ['attention_mass_inside', 'uniform_mass_inside']],
  relations: [['top1_accuracy', 'random_init_top1_accuracy'], ['pair_auroc', 'random_init_pair_auroc'], ['mean_study_auroc', 'random_init_mean_study_auroc']],
  importance: [['pooled_auroc', 'random_init_pooled_auroc'], ['mean_study_auroc']],
  segmentation: [['dice@100%'], ['dice@10%'], ['dice@1%']],
  detection: [['mAP@100%'], ['mAP@10%']],
};

/** The order tasks are shown in (others after, by name). */
const TASK_ORDER = ['zeroshot', 'linear', 'retrieval', 'grounding', 'relations', 'importance', 'segmentation', 'detection'];

type Metrics = Record<string, number | null>;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** One task's card: headline metrics (with baselines: listed ones, or `<name>_uniform`), then the rest. */
export function taskResult(task: string, metrics: Metrics): TaskResult {
  const wanted = HEADLINE[task] ?? Object.keys(metrics).slice(0, 3).map((k) => [k] as const);
  const headline: TaskResult['headline'] = [];
  const used = new Set<string>();
  for (const [name, base] of wanted) {
    if (!(name in metrics)) continue;
    const baseKey = base && base in metrics ? base : `${name}_uniform` in metrics ? `${name}_uniform` : undefined;
    headline.push([name, num(metrics[name]), baseKey ? num(metrics[baseKey]) : null]);
    used.add(name);
    if (baseKey) used.add(baseKey);
  }
  const details = Object.entries(metrics).filter(([k]) => !used.has(k)).map(([k, v]) => [k, num(v)] as [string, number | null]);
  return { task, headline, details };
}

function taskRank(t: string): number {
  const i = TASK_ORDER.indexOf(t);
  return i < 0 ? TASK_ORDER.length : i;
}

/** A run's results from RUN/eval/<task>.json (the engine's published files). */
export function readRunResults(runDir: string, name = path.basename(runDir)): RunResults {
  const dir = path.join(runDir, 'eval');
  let files: string[] = [];
  try { files = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'summary.json'); } catch { /* not evaluated */ }
  const tasks: TaskResult[] = [];
  for (const f of files) {
    try {
      const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { task?: unknown; metrics?: unknown };
      if (typeof r.task === 'string' && typeof r.metrics === 'object' && r.metrics !== null) tasks.push(taskResult(r.task, r.metrics as Metrics));
    } catch { /* a file being written or foreign: skipped */ }
  }
  tasks.sort((a, b) => taskRank(a.task) - taskRank(b.task) || a.task.localeCompare(b.task));
  return { run: name, tasks };
}

/** Results from eval_result events (a job that wrote no files, e.g. an ONNX model's evaluation elsewhere). */
export function resultsFromEvents(name: string, results: Record<string, Record<string, number>>): RunResults {
  const tasks = Object.entries(results).map(([task, m]) => taskResult(task, m));
  tasks.sort((a, b) => taskRank(a.task) - taskRank(b.task) || a.task.localeCompare(b.task));
  return { run: name, tasks };
}

/** Runs side by side: one row per headline metric any run has, one column per run, best emphasised. */
export function compareTable(title: string, runs: RunResults[]): TableData {
  const keys: string[] = [];
  for (const r of runs) for (const t of r.tasks) for (const [m] of t.headline) if (!keys.includes(`${t.task}/${m}`)) keys.push(`${t.task}/${m}`);
  keys.sort((a, b) => taskRank(a.split('/')[0]) - taskRank(b.split('/')[0]));
  const value = (r: RunResults, key: string): number | null => {
    const [task, metric] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    return r.tasks.find((t) => t.task === task)?.headline.find((h) => h[0] === metric)?.[1] ?? null;
  };
  return {
    title, columns: ['metric', ...runs.map((r) => r.run)], highlightBest: true, bestPer: 'row',
    rows: keys.map((k) => [k, ...runs.map((r) => value(r, k))]),
  };
}

function meanStd(values: ReadonlyArray<number | null>): [number | null, number | null] {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (!v.length) return [null, null];
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return [m, Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length)];
}

interface AblationFile { budget?: number; seeds?: number; rows?: Array<{ variant: string; values: Record<string, Array<number | null>> }> }

/** The headline columns an ablation table shows (task/metric), in task order. */
function headlineKeys(available: Iterable<string>): string[] {
  const have = new Set(available);
  const out: string[] = [];
  for (const task of TASK_ORDER) for (const [m] of HEADLINE[task]) if (have.has(`${task}/${m}`)) out.push(`${task}/${m}`);
  return out;
}

/**
 * An ablation's variants, mean ± std over seeds: from ABLATION/ablation.json when the grid is done,
 * else from the evaluations its runs published so far (variant-seedN folders).
 */
export function ablationTable(dir: string): TableData | undefined {
  let rows: Array<{ variant: string; values: Record<string, Array<number | null>> }> = [];
  let note = '';
  try {
    const a = JSON.parse(fs.readFileSync(path.join(dir, 'ablation.json'), 'utf8')) as AblationFile;
    rows = a.rows ?? [];
    note = `${a.budget ?? '?'} steps, ${a.seeds ?? '?'} seed(s)`;
  } catch {
    const byVariant = new Map<string, Record<string, Array<number | null>>>();
    let subdirs: string[] = [];
    try { subdirs = fs.readdirSync(dir).filter((d) => /-seed\d+$/.test(d)); } catch { return undefined; }
    for (const d of subdirs.sort()) {
      const variant = d.replace(/-seed\d+$/, '');
      const values = byVariant.get(variant) ?? {};
      for (const t of readRunResults(path.join(dir, d)).tasks) {
        for (const [m, v] of [...t.headline.map(([k, x]) => [k, x] as const), ...t.details]) (values[`${t.task}/${m}`] ??= []).push(v);
      }
      byVariant.set(variant, values);
    }
    rows = [...byVariant].map(([variant, values]) => ({ variant, values }));
    note = 'runs evaluated so far';
  }
  if (!rows.length) return undefined;
  const cols = headlineKeys(rows.flatMap((r) => Object.keys(r.values)));
  const stats = rows.map((r) => cols.map((c) => meanStd(r.values[c] ?? [])));
  return {
    title: `Ablation ${path.basename(dir)} (${note}; mean ± std over seeds)`,
    // The partial table (runs evaluated so far) and the final one are the same table.
    key: `ablation:${path.resolve(dir)}`,
    columns: ['variant', ...cols],
    highlightBest: true,
    rows: rows.map((r, i) => [r.variant, ...stats[i].map((s) => s[0])]),
    spread: rows.map((_, i) => [null, ...stats[i].map((s) => s[1])]),
  };
}
