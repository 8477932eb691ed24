// `reclf ablate`: train every method variant on the same data with the same step budget and
// seeds, evaluate each, and write OUT/ablation.json and OUT/ablation.md (mean ± std).
// Executors: `local` runs the grid here, one run after another; `slurm` submits it as one sbatch
// array (one task per variant x seed) and returns (or follows it with --wait); `--collect`
// tabulates whatever has finished. Both executors emit ablation_started / ablation_task events
// on stdout and append them to OUT/events.jsonl.
import fs from 'node:fs';
import path from 'node:path';
import type { Command, CommandContext } from '../command';
import { bool, list, num, str, UsageError } from '../args';
import { initBackend } from '../../core/runtime/backend';
import { BACKEND_CHOICES } from '../../protocol/backends';
import type { AblationTaskEvent, EngineEvent, TaskState } from '../../protocol/events';
import {
  checkAblation, collectAblation, keyMetric, parseNamedVariants, runAblation, runAblationTask, VARIANTS,
  type AblationOptions, type AblationSummary, type AblationTaskUpdate,
} from '../../core/eval/ablate';
import { parseTasks } from '../../core/eval/tasks';
import { ConfigError } from '../../core/errors';
import type { TrainListener } from '../../core/train/trainer';
import { readConfigFile, readJsonObjectFile } from '../run-config-file';
import { signalExitCode } from './train';
import { executorOf, resolveSlurmOptions, SLURM_FLAGS, slurmFlagsGiven } from '../slurm/config';
import {
  appendEventLine, checkSameGrid, EVENTS_FILE, readSpec, REQUEUE_MARKER, specGrid, writeSpec, type AblationSpec, type TaskStatus,
} from '../slurm/ablation-folder';
import { planSubmission, queueView, readRecord, submitArray, taskStatuses } from '../slurm/ablation-executor';
import { ensureEngineBuilt } from '../slurm/engine-path';
import { findTool, runTool, type SlurmClient } from '../slurm/cli';

async function runToolCheck(tool: 'sbatch' | 'squeue', client: SlurmClient): Promise<void> {
  if (!findTool(tool, client)) await runTool(tool, [], client);
}
import { gpuPlacement } from '../slurm/gpu-placement';

const DEFAULT_METHODS = ['convirt', 'gloria', 'mgca', 'reclf', 'reclf-no-srm', 'reclf-no-irm'];

export const ablateCommand: Command = {
  spec: {
    name: 'ablate',
    summary: 'Train and evaluate method variants under one budget; tabulate mean ± std over seeds (here or on a Slurm cluster)',
    usage: 'reclf ablate --data DIR --budget STEPS [--methods ...] [--seeds 3] [--eval-seeds 1] [--out DIR] [--tasks ...] [--config FILE] [--variants FILE] [--executor local|slurm [slurm options] [--wait]]\n       reclf ablate --collect [--out DIR]',
    flags: {
      data: { type: 'string', description: 'Dataset folder with manifest.jsonl (required, except with --collect)', value: 'DIR' },
      methods: { type: 'list', description: `Variants: ${Object.keys(VARIANTS).join(', ')}`, default: DEFAULT_METHODS, value: 'LIST' },
      seeds: { type: 'number', description: 'Pretraining seeds 0..n-1 per variant', default: 3, value: 'N' },
      'eval-seeds': { type: 'number', description: 'Seeds of the evaluation protocols inside each run (linear-probe, segmentation and detection fractions); the spread over pretraining seeds is what the table reports', default: 1, value: 'N' },
      budget: { type: 'number', description: 'Optimizer steps per run, the same for every variant (required, except with --collect)', value: 'STEPS' },
      out: { type: 'string', description: 'Ablation folder (one run folder per variant and seed)', default: 'ablation', value: 'DIR' },
      tasks: { type: 'list', description: 'Evaluation tasks (default: every task the dataset supports)', value: 'LIST' },
      split: { type: 'string', description: 'Evaluation split', default: 'test', value: 'NAME' },
      config: { type: 'string', description: 'Shared JSON config (data, text, model, train groups; slurm group for --executor slurm); method is set per variant', value: 'FILE' },
      variants: {
        type: 'string', value: 'FILE',
        description: 'Named variants of a design study: a JSON object of name -> partial config (groups data, text, model, method with its name, train), merged over --config; --methods defaults to every name in it',
      },
      backend: { type: 'string', description: `TF.js backend: ${BACKEND_CHOICES.join(', ')}`, value: 'NAME' },
      collect: { type: 'boolean', description: 'Only tabulate: write ablation.json/ablation.md from the runs finished so far in --out, naming the missing ones' },
      ...SLURM_FLAGS,
      retry: { type: 'number', description: 'Slurm: times a failed task is resubmitted when `reclf ablate` runs again, before it is reported failed (default 2)', value: 'N' },
      wait: { type: 'boolean', description: 'Slurm: follow the submitted tasks until none is queued or running, then tabulate' },
      'poll-seconds': { type: 'number', description: 'Slurm: with --wait, seconds between looks at the queue', default: 10, value: 'S' },
      task: { type: 'string', description: 'Internal (the Slurm job script): run one task of the grid in --out, by its run name (VARIANT-seedS)', value: 'NAME' },
    },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const out = path.resolve(str(f, 'out') ?? 'ablation');
    const taskName = str(f, 'task');
    if (taskName !== undefined) return runOneTask(ctx, out, taskName);
    if (bool(f, 'collect')) return collect(ctx, out);
    const executor = executorOf(f);
    if (executor === 'local') {
      const given = slurmFlagsGiven(f).concat(['retry', 'wait'].filter((k) => f[k] !== undefined && f[k] !== false).map((k) => `--${k}`));
      if (given.length) throw new UsageError(`${given.join(', ')} only apply with --executor slurm`);
    }
    const configFile = str(f, 'config');
    const baseConfig = configFile ? readConfigFile(configFile) : undefined;
    const spec = specFromFlags(f, baseConfig);
    checkAblation({ ...spec, baseConfig: spec.baseConfig });
    const before = readSpec(out);
    if (before) checkSameGrid(out, before, spec);
    fs.mkdirSync(out, { recursive: true });
    writeSpec(out, spec);
    const grid = specGrid(out, spec);
    emitBoth(ctx, out, {
      type: 'ablation_started', ablation_dir: out, variants: spec.methods, seeds: Array.from({ length: spec.seeds }, (_, i) => i),
      total_runs: grid.length, executor,
    });
    if (executor === 'slurm') {
      const slurmGroup = baseConfig?.slurm as Record<string, unknown> | undefined;
      return submitSlurm(ctx, out, spec, resolveSlurmOptions(slurmGroup, f), bool(f, 'wait'), (num(f, 'pollSeconds') ?? 10) * 1000);
    }
    return runLocal(ctx, out, spec);
  },
};

type Flags = CommandContext['args']['flags'];

function specFromFlags(f: Flags, baseConfig: Record<string, unknown> | undefined): AblationSpec {
  const data = str(f, 'data');
  const budget = num(f, 'budget');
  if (data === undefined) throw new UsageError(`missing required option --data for 'reclf ablate' (see 'reclf ablate --help')`);
  if (budget === undefined) throw new UsageError(`missing required option --budget for 'reclf ablate' (see 'reclf ablate --help')`);
  const evalSeeds = num(f, 'evalSeeds') ?? 1;
  if (!Number.isInteger(evalSeeds) || evalSeeds < 1) throw new UsageError(`--eval-seeds must be a positive integer, got ${evalSeeds}`);
  const split = str(f, 'split') ?? 'test';
  if (split !== 'train' && split !== 'valid' && split !== 'test') throw new UsageError(`--split must be train, valid or test, got '${split}'`);
  const variantsFile = str(f, 'variants');
  const variants = variantsFile ? parseNamedVariants(readJsonObjectFile(variantsFile, 'variants'), variantsFile) : undefined;
  // The slurm group says where runs go, not what they are: it is not part of the grid.
  const science = baseConfig ? Object.fromEntries(Object.entries(baseConfig).filter(([k]) => k !== 'slurm')) : undefined;
  const tasks = parseTasks(list(f, 'tasks'));
  const backend = str(f, 'backend');
  return {
    version: 1, data: path.resolve(data), methods: list(f, 'methods') ?? (variants ? Object.keys(variants) : DEFAULT_METHODS),
    seeds: num(f, 'seeds') ?? 3, budget, split, evalSeeds,
    ...(science ? { baseConfig: science } : {}), ...(variants ? { variants } : {}), ...(tasks ? { tasks } : {}), ...(backend ? { backend } : {}),
  };
}

/** Emits on stdout and appends to OUT/events.jsonl (the file an editor watches). */
function emitBoth(ctx: CommandContext, out: string, e: EngineEvent): void {
  ctx.events.emit(e);
  appendEventLine(path.join(out, EVENTS_FILE), e);
}

function taskEvent(u: AblationTaskUpdate | TaskStatus, total: number): AblationTaskEvent {
  return {
    type: 'ablation_task', variant: u.variant, seed: u.seed, index: u.index + 1, total, state: u.state, run_dir: u.runDir,
    ...(u.jobId ? { job_id: u.jobId } : {}), ...(u.metric ? { metric: u.metric } : {}), ...(u.message ? { message: u.message } : {}),
  };
}

/** A run's training events go to RUN/events.jsonl (and stdout when `stdout`), its logs to stderr. */
function runListener(ctx: CommandContext, stdout: boolean): (runDir: string) => TrainListener {
  return (runDir) => ({
    emit: (e) => {
      if (stdout) ctx.events.emit(e);
      appendEventLine(path.join(runDir, 'events.jsonl'), e);
    },
    log: (m) => ctx.events.log(m),
  });
}

async function ablationOptions(ctx: CommandContext, out: string, spec: AblationSpec, cancel: { requested: boolean }, stdout: boolean): Promise<AblationOptions> {
  const backend = await initBackend(spec.backend);
  ctx.events.log(`backend: ${backend.name} (${backend.device})`);
  const placement = gpuPlacement(process.env, backend.name);
  if (placement) ctx.events.log(`gpu: ${placement}`);
  return {
    dataDir: spec.data, out, methods: spec.methods, seeds: spec.seeds, budget: spec.budget, variants: spec.variants, baseConfig: spec.baseConfig,
    backend: backend.name, device: backend.device, adapter: backend.adapter, cancel,
    listener: { emit: () => {}, log: (m) => ctx.events.log(m) },
    runListener: runListener(ctx, stdout),
    evaluate: {
      tasks: spec.tasks, split: spec.split, score: 'both', pooling: 'max', backend: backend.name,
      createdBy: ['reclf', 'ablate', ...process.argv.slice(3)].join(' '), seeds: Array.from({ length: spec.evalSeeds }, (_, i) => i),
      log: (m) => ctx.events.log(m),
    },
  };
}

/** SIGINT/SIGTERM: the current run checkpoints and the grid stops. Repeats are ignored: under Slurm the scheduler and the job script both signal, and SIGKILL after KillWait is the hard stop. */
function onSignals(ctx: CommandContext, cancel: { requested: boolean }): { signal: () => NodeJS.Signals | undefined; off: () => void } {
  let got: NodeJS.Signals | undefined;
  const handler = (sig: NodeJS.Signals): void => {
    if (cancel.requested) return;
    cancel.requested = true;
    got = sig;
    ctx.events.log(`${sig}: finishing the current step, writing a checkpoint, then stopping`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return { signal: () => got, off: () => { process.off('SIGINT', handler); process.off('SIGTERM', handler); } };
}

async function runLocal(ctx: CommandContext, out: string, spec: AblationSpec): Promise<number> {
  const cancel = { requested: false };
  const signals = onSignals(ctx, cancel);
  try {
    const opts = await ablationOptions(ctx, out, spec, cancel, false);
    const total = spec.methods.length * spec.seeds;
    const summary = await runAblation({ ...opts, onTask: (u) => emitBoth(ctx, out, taskEvent(u, total)) });
    emitResults(ctx, summary);
    ctx.events.log(`wrote ${path.join(out, 'ablation.json')} and ${path.join(out, 'ablation.md')}`);
    const sig = signals.signal();
    return sig ? signalExitCode(sig) : 0;
  } finally {
    signals.off();
  }
}

function emitResults(ctx: CommandContext, summary: AblationSummary): void {
  for (const row of summary.rows) {
    row.seeds.forEach((seed, i) => {
      const metrics: Record<string, number> = {};
      for (const [k, vals] of Object.entries(row.values)) metrics[k] = vals[i] ?? NaN;
      ctx.events.emit({ type: 'eval_result', task: `ablate/${row.variant}/seed${seed}`, metrics });
    });
  }
}

/** One grid task, as a Slurm array task runs it: train (resuming) and evaluate, with its state in OUT/events.jsonl. */
async function runOneTask(ctx: CommandContext, out: string, name: string): Promise<number> {
  const spec = readSpec(out);
  if (!spec) throw new ConfigError(`--task: ${out} has no ${'ablation-spec.json'}; is it an ablation folder?`, 'out');
  const grid = specGrid(out, spec);
  const t = grid.find((g) => g.name === name);
  if (!t) throw new ConfigError(`--task: no run '${name}' in the grid of ${out} (${grid.map((g) => g.name).join(', ')})`, 'task');
  const jobId = process.env.RECLF_SLURM_JOB;
  const log = process.env.RECLF_SLURM_LOG;
  const report = (state: TaskState, extra: Partial<AblationTaskUpdate> = {}): void =>
    emitBoth(ctx, out, taskEvent({ ...t, total: grid.length, state, ...(jobId ? { jobId } : {}), ...extra }, grid.length));
  const cancel = { requested: false };
  const signals = onSignals(ctx, cancel);
  try {
    report('running');
    const opts = await ablationOptions(ctx, out, spec, cancel, true);
    const outcome = await runAblationTask(opts, t);
    if (outcome.status === 'cancelled') {
      const marker = path.join(t.runDir, REQUEUE_MARKER);
      const requeued = fs.existsSync(marker);
      fs.rmSync(marker, { force: true });
      report(requeued ? 'requeued' : 'cancelled', { message: requeued ? 'time limit near: checkpointed, requeued' : 'stopped by a signal; checkpointed' });
      return signalExitCode(signals.signal() ?? 'SIGTERM');
    }
    const metric = keyMetric(outcome.results);
    report('finished', metric ? { metric } : {});
    return 0;
  } catch (e) {
    report('failed', { message: `${(e as Error).message.split('\n')[0]}${log ? ` (log: ${log})` : ''}` });
    throw e;
  } finally {
    signals.off();
  }
}

async function collect(ctx: CommandContext, out: string): Promise<number> {
  const spec = readSpec(out);
  if (!spec) throw new ConfigError(`--collect: ${out} has no ablation-spec.json; is it an ablation folder? (pass --out DIR)`, 'out');
  const summary = collectAblation({ out, dataDir: spec.data, methods: spec.methods, seeds: spec.seeds, budget: spec.budget, tasks: spec.tasks });
  emitResults(ctx, summary);
  const missing = summary.missing ?? [];
  ctx.events.log(`wrote ${path.join(out, 'ablation.json')} and ${path.join(out, 'ablation.md')}: ${summary.runs.length} of ${summary.runs.length + missing.length} runs`);
  if (missing.length) ctx.events.log(`missing: ${missing.map((m) => path.basename(m.run)).join(', ')} ('reclf jobs ${out}' shows their state)`);
  return 0;
}

async function submitSlurm(ctx: CommandContext, out: string, spec: AblationSpec, options: ReturnType<typeof resolveSlurmOptions>, wait: boolean, pollMs: number): Promise<number> {
  const client = { binDir: options.binDir };
  const total = spec.methods.length * spec.seeds;
  // Missing tools are named before anything is written or asked.
  for (const tool of ['sbatch', 'squeue'] as const) await runToolCheck(tool, client);
  ensureEngineBuilt(options.enginePath, options.nodePath);
  let statuses = taskStatuses(out, spec, readRecord(out), await queueView(readRecord(out), client));
  const plan = planSubmission(statuses, options.retry);
  for (const x of plan.exhausted) {
    ctx.events.log(`${x.name}: failed ${x.failures} times (--retry ${options.retry}), not resubmitted; log: ${x.log ?? 'none'}`);
  }
  let jobId: string | undefined;
  if (plan.submit.length) {
    jobId = await submitArray(out, spec, plan.submit, options, client);
    ctx.events.log(`submitted ${plan.submit.length} of ${total} runs as array job ${jobId} (${path.join(out, 'slurm.json')})`);
  } else {
    ctx.events.log(`nothing to submit: ${statuses.filter((s) => s.state === 'finished').length} of ${total} runs finished, the others queued, running or failed past --retry`);
  }
  statuses = taskStatuses(out, spec, readRecord(out), await queueView(readRecord(out), client));
  const seen = new Map<string, string>();
  // The submitter appends what it decided (queued, failed past --retry); the tasks append their
  // own running/finished states, so the follower (--wait) only reports changes on stdout.
  const show = (s: TaskStatus, append: boolean): void => {
    const exhausted = plan.exhausted.some((x) => x.name === s.name) && s.state === 'failed';
    const st: TaskStatus = exhausted ? { ...s, message: `failed ${s.failures} times (--retry ${options.retry}); log: ${s.log ?? 'none'}` } : s;
    const key = `${st.state}|${st.jobId ?? ''}`;
    if (seen.get(st.name) === key) return;
    seen.set(st.name, key);
    const e = taskEvent(st, total);
    if (append) appendEventLine(path.join(out, EVENTS_FILE), e);
    ctx.events.emit(e);
  };
  for (const st of statuses) show(st, true);
  if (!wait) {
    ctx.events.log(`follow with 'reclf jobs ${out}'; when done, 'reclf ablate --collect --out ${out}'`);
    return 0;
  }
  const cancel = { requested: false };
  const signals = onSignals(ctx, cancel);
  try {
    while (!cancel.requested && statuses.some((s) => s.state === 'queued' || s.state === 'running' || s.state === 'requeued')) {
      await new Promise((r) => setTimeout(r, pollMs));
      statuses = taskStatuses(out, spec, readRecord(out), await queueView(readRecord(out), client));
      for (const st of statuses) show(st, false);
    }
  } finally {
    signals.off();
  }
  if (cancel.requested) {
    ctx.events.log(`stopped following; the jobs keep running ('reclf jobs --cancel ${out}' cancels them)`);
    return signalExitCode(signals.signal() ?? 'SIGINT');
  }
  return collect(ctx, out);
}
