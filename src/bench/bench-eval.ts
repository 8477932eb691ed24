// The evaluation benchmark: wall time of `reclf eval` per task on a dataset, first with cold
// features (every split encoded) and then from the feature cache, on a private copy of the run so
// the user's RUN/eval is neither read nor overwritten. Without a run it makes its own: a seeded
// synthetic set and the default config after one optimizer step (evaluation cost does not depend
// on how well the model is trained).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateDataset } from '../core/data/synth/generate';
import { resolveRunConfig } from '../core/train/run-config';
import { runTraining } from '../core/train/trainer';
import { evaluateRun, type EvaluateOptions, type TaskName } from '../core/eval/tasks';

export interface EvalBenchOptions {
  /** Existing run and dataset; when absent a synthetic pair of `studies` studies is made. */
  runDir?: string;
  dataDir?: string;
  studies: number;
  tasks: TaskName[];
  split: 'train' | 'valid' | 'test';
  backend: string;
  device: string;
  log: (m: string) => void;
}

export interface EvalBenchPass {
  /** 'cold': no feature cache; 'cached': features read back from the cache. */
  pass: 'cold' | 'cached';
  totalSeconds: number;
  encodeSeconds: number;
  tasks: { task: string; seconds: number }[];
}

export interface EvalBenchReport {
  data: string;
  studies: number;
  backend: string;
  passes: EvalBenchPass[];
  skipped: { task: string; reason: string }[];
  /** The target for 1,000 studies on every task but segmentation. */
  targetSeconds: number;
}

export const EVAL_BENCH_TARGET_SECONDS = 120;
export const EVAL_BENCH_DEFAULT_TASKS: TaskName[] = ['zeroshot', 'linear', 'retrieval', 'grounding', 'relations', 'importance'];

function copyRun(from: string, to: string): void {
  // Everything but earlier evaluations: their feature cache would make the cold pass warm.
  fs.cpSync(from, to, { recursive: true, filter: (src) => path.relative(from, src).split(path.sep)[0] !== 'eval' });
}

export async function benchEval(o: EvalBenchOptions): Promise<EvalBenchReport> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-bench-eval-'));
  try {
    let dataDir = o.dataDir;
    const runDir = path.join(work, 'run');
    if (!dataDir) {
      dataDir = path.join(work, 'synth');
      o.log(`generating ${o.studies} synthetic studies ...`);
      await generateDataset({ out: dataDir, n: o.studies, seed: 7 });
    }
    if (o.runDir) copyRun(o.runDir, runDir);
    else {
      o.log('making a run: default RECLF config, one optimizer step ...');
      const config = resolveRunConfig({ train: { maxSteps: 1 } }, 'reclf');
      const r = await runTraining({
        runDir, dataDir, config, resume: false, cancel: { requested: false }, backend: o.backend, device: o.device,
        listener: { emit: () => {}, log: () => {} },
      });
      if (r.status !== 'ok') throw new Error(`bench eval: the one-step run ended ${r.status}`);
    }
    const base: EvaluateOptions = {
      runDir, dataDir, tasks: o.tasks, split: o.split, score: 'both', pooling: 'max', backend: o.backend, createdBy: 'reclf bench eval',
      log: o.log,
    };
    const passes: EvalBenchPass[] = [];
    let skipped: EvalBenchReport['skipped'] = [];
    for (const pass of ['cold', 'cached'] as const) {
      o.log(`${pass} pass: ${o.tasks.join(', ')} ...`);
      const t0 = performance.now();
      const s = await evaluateRun(base);
      passes.push({
        pass, totalSeconds: (performance.now() - t0) / 1000, encodeSeconds: s.encodeSeconds,
        tasks: s.results.map((r) => ({ task: r.task, seconds: r.seconds ?? 0 })),
      });
      skipped = s.skipped;
    }
    const studies = fs.readFileSync(path.join(dataDir, 'manifest.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).length;
    return { data: o.dataDir ?? `synthetic (${o.studies} studies, seed 7)`, studies, backend: o.backend, passes, skipped, targetSeconds: EVAL_BENCH_TARGET_SECONDS };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export function formatEvalBench(r: EvalBenchReport): string {
  const tasks = [...new Set(r.passes.flatMap((p) => p.tasks.map((t) => t.task)))];
  const cell = (p: EvalBenchPass, task: string): string => {
    const t = p.tasks.find((x) => x.task === task);
    return t ? `${t.seconds.toFixed(1)} s` : '-';
  };
  const lines = [
    `reclf eval on ${r.data}: ${r.studies} studies, backend ${r.backend}`,
    '',
    `| pass | features | ${tasks.join(' | ')} | total |`,
    `|---|---|${tasks.map(() => '---').join('|')}|---|`,
    ...r.passes.map((p) => `| ${p.pass} | ${p.encodeSeconds.toFixed(1)} s | ${tasks.map((t) => cell(p, t)).join(' | ')} | ${p.totalSeconds.toFixed(1)} s |`),
    '',
    `target: ${r.targetSeconds} s for 1,000 studies on every task but segmentation (cold pass: ${r.passes[0].totalSeconds.toFixed(1)} s)`,
  ];
  for (const s of r.skipped) lines.push(`skipped ${s.task}: ${s.reason}`);
  return lines.join('\n');
}
