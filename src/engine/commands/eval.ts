// `reclf eval`: evaluate a run (TF.js) or an ONNX model that follows the contract (ONNX Runtime,
// no TF.js encoders) on a dataset folder (zero-shot, linear probe, retrieval, segmentation,
// grounding, SRM relations, IRM importance). Results go to RUN/eval/<task>.json (a model's to
// OUT/eval/<task>.json), one `eval_result` event per task on stdout, a table and timings on stderr.
import fs from 'node:fs';
import path from 'node:path';
import type { Command, CommandContext } from '../command';
import { list, num, str, bool, UsageError } from '../args';
import { initBackend } from '../../core/runtime/backend';
import { BACKEND_CHOICES } from '../../protocol/backends';
import { sha256File, writeJsonAtomic } from '../../core/fs-atomic';
import { readRunProvenance } from '../../core/train/trainer';
import { evaluateModel, evaluateRun, parseTasks, type EvaluateOptions, type EvaluateSummary } from '../../core/eval/tasks';
import { defaultModelOutDir } from '../../core/eval/source';
import { loadPromptFile } from '../../core/eval/prompts';
import type { EvalResult } from '../../core/eval/results';
import type { ScoreKind } from '../../core/eval/features';
import type { Split } from '../../core/data/manifest-types';
import { executorOf, resolveSlurmOptions, SLURM_FLAGS } from '../slurm/config';
import { argvWithoutExecutor, submitRun } from '../slurm/run-executor';
import { isUserError } from '../../core/errors';

export function formatResults(results: readonly EvalResult[]): string {
  return results.map((r) => {
    const m = Object.entries(r.metrics).filter(([k]) => !k.includes('/') && !k.endsWith('_std'))
      .map(([k, v]) => `${k} ${v === null ? 'n/a' : Number.isInteger(v) ? v : v.toFixed(4)}`).join(', ');
    return `${r.task.padEnd(12)} ${(r.seconds ?? 0).toFixed(1).padStart(6)} s  ${m}`;
  }).join('\n');
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, dflt: T): T {
  if (value === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

/**
 * The dataset to evaluate on: --data, or with --run and no --data the dataset the run recorded
 * (config.json's provenance). Warns when that dataset's manifest changed since training.
 */
function evalDataDir(dataArg: string | undefined, runArg: string | undefined, ctx: CommandContext): string {
  if (runArg === undefined) {
    if (dataArg === undefined) throw new UsageError('--data DIR is required with --model');
    return path.resolve(dataArg);
  }
  const runDir = path.resolve(runArg);
  const recorded = readRunProvenance(runDir);
  if (dataArg === undefined) {
    if (!recorded) throw new UsageError(`--data not given and ${runDir} does not record the dataset it was trained on: pass --data DIR`);
    if (!fs.existsSync(recorded.dataset.manifest)) {
      throw new UsageError(`--data not given and the dataset ${runDir} was trained on is gone (${recorded.dataset.manifest} not found): pass --data DIR`);
    }
    ctx.events.log(`dataset: ${recorded.dataset.path} (recorded by the run)`);
  }
  const dataDir = path.resolve(dataArg ?? recorded!.dataset.path);
  const real = (p: string): string => { try { return fs.realpathSync(p); } catch { return p; } };
  if (recorded && real(dataDir) === real(recorded.dataset.path)) {
    let now: string | undefined;
    try { now = sha256File(recorded.dataset.manifest); } catch { /* readDataset reports a missing manifest */ }
    if (now !== undefined && now !== recorded.dataset.manifestSha256) {
      ctx.events.emit({
        type: 'warning',
        message: `the dataset's manifest changed since ${path.basename(runDir)} was trained (sha256 ${recorded.dataset.manifestSha256.slice(0, 12)}… then, ${now.slice(0, 12)}… now): splits and records may differ from training`,
      });
    }
  }
  return dataDir;
}

export const evalCommand: Command = {
  spec: {
    name: 'eval',
    summary: 'Evaluate a run or an ONNX model: zero-shot, linear probe, retrieval, segmentation, grounding, SRM relations, IRM importance, detection',
    usage: 'reclf eval (--run RUN | --model M.onnx [--out DIR]) --data DIR [--tasks zeroshot,linear,retrieval,segmentation,grounding,relations,importance,detection] [--split test] [--json OUT] [--prompts FILE] [--score global|local|both] [--pooling max|mean]',
    flags: {
      run: { type: 'string', description: 'Run folder (config.json, checkpoints/); or use --model', value: 'RUN' },
      model: { type: 'string', description: 'ONNX model following the contract (global scores; no segmentation/detection)', value: 'M.onnx' },
      out: { type: 'string', description: 'With --model: results folder (OUT/eval/<task>.json; default <model>.eval next to it)', value: 'DIR' },
      device: { type: 'string', description: 'With --model: ONNX Runtime device auto, cpu or cuda', default: 'auto', value: 'NAME' },
      data: { type: 'string', description: 'Dataset folder with manifest.jsonl (with --run, default: the dataset the run was trained on)', value: 'DIR' },
      tasks: { type: 'list', description: 'Tasks to run (default: every task the dataset supports)', value: 'LIST' },
      split: { type: 'string', description: 'Split to evaluate on: train, valid or test', default: 'test', value: 'NAME' },
      checkpoint: { type: 'string', description: "Checkpoint: 'best', 'last' or a file in RUN/checkpoints", default: 'best', value: 'NAME' },
      json: { type: 'string', description: 'Also write all results as one JSON file', value: 'OUT' },
      prompts: { type: 'string', description: 'Zero-shot prompt file: {"class": ["prompt", ...]}', value: 'FILE' },
      score: { type: 'string', description: 'Zero-shot score: global, local or both ((global+local)/2); default both, global with --model', value: 'KIND' },
      'retrieval-score': { type: 'string', description: 'Retrieval score: global, local or both (local costs O(n^2) pair scorings)', default: 'global', value: 'KIND' },
      pooling: { type: 'string', description: 'Pooling over a class\'s prompts: max or mean', default: 'max', value: 'KIND' },
      'max-prompts': { type: 'number', description: 'Most prompts per class (seeded sample)', default: 32, value: 'N' },
      seeds: { type: 'number', description: 'Seeds (0..n-1) for linear probe and segmentation fractions', default: 3, value: 'N' },
      'linear-epochs': { type: 'number', description: 'Linear probe epochs (early stop patience 10)', default: 50, value: 'N' },
      'seg-epochs': { type: 'number', description: 'Segmentation decoder epochs', default: 3, value: 'N' },
      'seg-finetune': { type: 'boolean', description: 'Fine-tune the image encoder during segmentation (default: frozen)' },
      'det-epochs': { type: 'number', description: 'Detection head epochs (frozen encoder)', default: 10, value: 'N' },
      'det-max-studies': { type: 'number', description: 'Most studies with boxes per split for detection', default: 400, value: 'N' },
      backend: { type: 'string', description: `TF.js backend: ${BACKEND_CHOICES.join(', ')}`, value: 'NAME' },
      ...SLURM_FLAGS,
    },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const runArg = str(f, 'run');
    const modelArg = str(f, 'model');
    if (executorOf(f) === 'slurm') {
      if (runArg === undefined) throw new UsageError('--executor slurm evaluates a run: give --run RUN');
      const runDir = path.resolve(runArg);
      const jobId = await submitRun('eval', runDir, argvWithoutExecutor(evalCommand.spec, f), resolveSlurmOptions(undefined, f));
      ctx.events.log(`submitted job ${jobId}: log in ${runDir}/slurm-${jobId}.log; follow with 'reclf jobs ${runDir}'`);
      return 0;
    }
    if ((runArg === undefined) === (modelArg === undefined)) {
      throw new UsageError(`give exactly one of --run RUN or --model M.onnx for 'reclf eval' (see 'reclf eval --help')`);
    }
    if (runArg !== undefined && str(f, 'out') !== undefined) throw new UsageError('--out applies to --model only (a run\'s results go to RUN/eval)');
    const dataDir = evalDataDir(str(f, 'data'), runArg, ctx);
    const split = oneOf<Split>(str(f, 'split'), ['train', 'valid', 'test'], 'split', 'test');
    const score = oneOf<ScoreKind>(str(f, 'score'), ['global', 'local', 'both'], 'score', modelArg ? 'global' : 'both');
    const device = oneOf(str(f, 'device'), ['auto', 'cpu', 'cuda'] as const, 'device', 'auto');
    const retrievalScore = oneOf<ScoreKind>(str(f, 'retrievalScore'), ['global', 'local', 'both'], 'retrieval-score', 'global');
    const pooling = oneOf(str(f, 'pooling'), ['max', 'mean'] as const, 'pooling', 'max');
    const nSeeds = num(f, 'seeds') ?? 3;
    if (!Number.isInteger(nSeeds) || nSeeds < 1) throw new UsageError(`--seeds must be a positive integer, got ${nSeeds}`);
    const promptsFile = str(f, 'prompts');
    const prompts = promptsFile ? loadPromptFile(path.resolve(promptsFile)) : undefined;
    const tasks = parseTasks(list(f, 'tasks'));
    // A model needs TF.js only to train the linear probe's one layer.
    const needTf = runArg !== undefined || !tasks || tasks.includes('linear');
    const backend = needTf ? await initBackend(str(f, 'backend')) : undefined;
    if (backend) ctx.events.log(`backend: ${backend.name} (${backend.device})${modelArg ? ' for the linear probe; encoders in ONNX Runtime' : ''}`);
    const t0 = performance.now();
    // A run's evaluation is a job of its own: its events also go to RUN/eval/events.jsonl, which
    // the editor follows (the run's events.jsonl stays the training's).
    if (runArg !== undefined) {
      const evalDir = path.join(path.resolve(runArg), 'eval');
      fs.mkdirSync(evalDir, { recursive: true });
      ctx.events.attachFile(path.join(evalDir, 'events.jsonl'));
    }
    ctx.events.emit({
      type: 'run_started', job: 'eval', run_id: path.basename(path.resolve(runArg ?? modelArg!)),
      backend: backend?.name ?? 'onnxruntime', device: backend?.device ?? device, config: { data: dataDir, split, tasks: tasks ?? 'all' },
    });
    // Task i of n and the time left, from the mean time of the tasks done so far.
    let taskStarted = t0;
    let doneSeconds = 0;
    const onTaskStart = (task: string, index: number, total: number): void => {
      const now = performance.now();
      if (index > 1) doneSeconds += (now - taskStarted) / 1000;
      taskStarted = now;
      const eta = index > 1 ? (doneSeconds / (index - 1)) * (total - index + 1) : -1;
      ctx.events.emit({ type: 'eval_progress', task, index, total, eta_s: eta });
    };
    const common: Omit<EvaluateOptions, 'runDir' | 'checkpoint'> = {
      dataDir, tasks, split, score, retrievalScore, pooling, prompts,
      maxPrompts: num(f, 'maxPrompts') ?? 32,
      seeds: Array.from({ length: nSeeds }, (_, i) => i),
      linear: { epochs: num(f, 'linearEpochs') ?? 50 },
      segmentation: { epochs: num(f, 'segEpochs') ?? 3, fineTune: bool(f, 'segFinetune') },
      detection: { epochs: num(f, 'detEpochs') ?? 10, maxStudies: num(f, 'detMaxStudies') ?? 400 },
      backend: modelArg ? `onnxruntime${backend ? `+${backend.name}` : ''}` : backend!.name,
      createdBy: ['reclf', 'eval', ...process.argv.slice(3)].join(' '),
      log: (m) => ctx.events.log(m),
      onSkip: (task, reason) => ctx.events.emit({ type: 'warning', message: `task ${task} skipped: ${reason}` }),
      onTaskStart,
      onResult: (r) => ctx.events.emit({ type: 'eval_result', task: r.task, metrics: Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, v ?? NaN])) }),
    };
    let summary: EvaluateSummary;
    let resultsDir: string;
    try {
      if (modelArg !== undefined) {
        const modelFile = path.resolve(modelArg);
        const outDir = path.resolve(str(f, 'out') ?? defaultModelOutDir(modelFile));
        summary = await evaluateModel({ ...common, modelFile, outDir, device });
        resultsDir = path.join(outDir, 'eval');
      } else {
        const runDir = path.resolve(runArg!);
        summary = await evaluateRun({ ...common, runDir, checkpoint: str(f, 'checkpoint') });
        resultsDir = path.join(runDir, 'eval');
      }
    } catch (e) {
      const message = (e as Error).message.split('\n')[0];
      ctx.events.emit({ type: 'error', code: isUserError(e) ? 'user_error' : 'internal_error', message });
      ctx.events.emit({ type: 'run_finished', status: 'failed', summary: { error: message } });
      throw e;
    }
    ctx.events.emit({ type: 'run_finished', status: 'ok', summary: { tasks: summary.results.map((r) => r.task), skipped: summary.skipped, seconds: (performance.now() - t0) / 1000 } });
    const total = (performance.now() - t0) / 1000;
    ctx.events.log(formatResults(summary.results));
    ctx.events.log(`features ${summary.encodeSeconds.toFixed(1)} s, total ${total.toFixed(1)} s; results in ${resultsDir}`);
    const out = str(f, 'json');
    const source = modelArg !== undefined ? { model: path.resolve(modelArg) } : { run: path.resolve(runArg!) };
    if (out) writeJsonAtomic(path.resolve(out), { ...source, data: dataDir, split, results: summary.results, skipped: summary.skipped, seconds: total });
    return 0;
  },
};
