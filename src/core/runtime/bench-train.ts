// `reclf bench train`: times the trainer's real training step (forward + backward + clipping +
// AdamW + BatchNorm update) on the model the trainer builds for a run config, per TF.js backend,
// next to the same architecture, losses and batch in PyTorch (scripts/bench/torch_train.py)
// measured in the same run. Data are synthetic and fixed so that only compute is measured.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Rng } from '../rng';
import { WordPieceTokenizer, VOCAB_SPECIALS } from '../text';
import { estimateFlops } from '../models/model-config';
import { AdamW } from '../train/adamw';
import type { HostBatch } from '../train/batches';
import { buildModel, trainStep, type BuiltModel } from '../train/trainer';
import type { RunConfig } from '../train/run-config';
import { median, TORCH_MISSING, TORCH_PYTHON, torchAvailable } from './bench-ops';

export interface TrainBenchOptions {
  /** Timed steps (the median is reported). */
  steps: number;
  /** Untimed steps first (kernel compilation, allocator warm-up). */
  warmup: number;
  seed: number;
}

export const DEFAULT_TRAIN_BENCH: TrainBenchOptions = { steps: 5, warmup: 2, seed: 0 };

export interface TrainBenchRow {
  method: string;
  /** TF.js backend name, or `torch(N)` for the PyTorch peer with N threads. */
  backend: string;
  batch: number;
  imageSize: number;
  /** Trainable parameters. */
  params: number;
  steps: number;
  stepMsMedian: number;
  imagesPerS: number;
  /** Encoders + projection heads, forward x3 (forward + backward); the alignment head is excluded. */
  gflopPerStep: number;
  gflops: number;
  loss: number;
}

/** A WordPiece vocabulary of exactly `size` tokens (the specials, then placeholder words). */
export function benchTokenizer(size: number, lowerCase = true): WordPieceTokenizer {
  const tokens: string[] = [...VOCAB_SPECIALS];
  for (let i = 0; tokens.length < size; i++) tokens.push(`w${i}`);
  return WordPieceTokenizer.fromTokens(tokens.slice(0, Math.max(size, VOCAB_SPECIALS.length)), { lowerCase });
}

/** The run config with the model's vocabulary set to the tokenizer's, as the trainer records it. */
export function benchConfig(config: RunConfig, tokenizer: WordPieceTokenizer): RunConfig {
  return { ...config, model: { ...config.model, text: { ...config.model.text, vocabSize: tokenizer.vocabSize } } };
}

/**
 * Random pixels, random ids, full attention masks and a piece -> word map shaped like a
 * tokenised report: [CLS], words of 1-3 pieces, [SEP]; slots >= maxWords dropped like the trainer.
 */
export function syntheticHostBatch(config: RunConfig, vocabSize: number, seed: number): HostBatch {
  const rng = new Rng(seed);
  const B = config.train.batchSize;
  const T = config.model.text.maxLength;
  const S = config.model.image.imageSize;
  const N = config.model.maxWords;
  const pixels = new Float32Array(B * S * S);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.uniform(-1, 1);
  const inputIds = new Int32Array(B * T);
  const attentionMask = new Float32Array(B * T).fill(1);
  const wordIndex = new Int32Array(B * T).fill(-1);
  const firstWord = VOCAB_SPECIALS.length;
  for (let b = 0; b < B; b++) {
    let word = 0;
    let left = 0;
    for (let t = 0; t < T; t++) {
      inputIds[b * T + t] = firstWord + rng.int(Math.max(1, vocabSize - firstWord));
      if (t === 0 || t === T - 1) continue; // [CLS] and [SEP] belong to no word
      if (left === 0) {
        left = 1 + rng.int(3);
        if (t > 1) word += 1;
      }
      left -= 1;
      wordIndex[b * T + t] = word < N ? word : -1;
    }
  }
  return { indices: Array.from({ length: B }, (_, i) => i), pixels, inputIds, attentionMask, wordIndex, failed: [] };
}

/** FLOP of one training step as the benchmark counts it (3 x the encoders' and heads' forward). */
export function trainStepFlop(config: RunConfig): number {
  return 3 * estimateFlops(config.model, config.train.batchSize).batchMFlop * 1e6;
}

export function trainableCount(built: BuiltModel): number {
  return built.params.trainable().reduce((n, v) => n + v.size, 0);
}

/** Builds the model, runs warm-up + timed trainer steps on the ACTIVE TF.js backend, disposes everything. */
export function benchTrainActive(config: RunConfig, backend: string, opts: TrainBenchOptions = DEFAULT_TRAIN_BENCH): TrainBenchRow {
  const tokenizer = benchTokenizer(config.text.vocabSize, config.text.lowerCase);
  const cfg = benchConfig(config, tokenizer);
  const built = buildModel(cfg, tokenizer);
  const hb = syntheticHostBatch(cfg, tokenizer.vocabSize, opts.seed);
  const t = cfg.train;
  const optimizer = new AdamW({ beta1: t.beta1, beta2: t.beta2, eps: t.eps, weightDecay: t.weightDecay });
  const stepOpts = { lr: t.lr, clipNorm: t.clipNorm, imageSize: cfg.model.image.imageSize, maxLength: cfg.model.text.maxLength };
  const times: number[] = [];
  let loss = NaN;
  try {
    for (let i = 0; i < opts.warmup + opts.steps; i++) {
      const t0 = performance.now();
      loss = trainStep(built, optimizer, hb, { ...stepOpts, step: i });
      if (i >= opts.warmup) times.push(performance.now() - t0);
    }
    return row(cfg, backend, trainableCount(built), times, loss);
  } finally {
    built.params.dispose();
    optimizer.dispose();
  }
}

function row(cfg: RunConfig, backend: string, params: number, times: number[], loss: number): TrainBenchRow {
  const ms = times.length ? median(times) : NaN;
  const flop = trainStepFlop(cfg);
  const B = cfg.train.batchSize;
  return {
    method: cfg.method.name, backend, batch: B, imageSize: cfg.model.image.imageSize, params, steps: times.length,
    stepMsMedian: ms, imagesPerS: (B * 1000) / ms, gflopPerStep: flop / 1e9, gflops: flop / (ms * 1e6), loss,
  };
}

/** The job scripts/bench/torch_train.py reads on stdin. */
export interface TorchTrainJob {
  config: RunConfig;
  vocabSize: number;
  batch: number;
  wordIndex: number[];
  steps: number;
  warmup: number;
  seed: number;
}

export function torchTrainJob(config: RunConfig, opts: TrainBenchOptions = DEFAULT_TRAIN_BENCH): TorchTrainJob {
  const tokenizer = benchTokenizer(config.text.vocabSize, config.text.lowerCase);
  const cfg = benchConfig(config, tokenizer);
  const hb = syntheticHostBatch(cfg, tokenizer.vocabSize, opts.seed);
  return {
    config: cfg, vocabSize: tokenizer.vocabSize, batch: cfg.train.batchSize, wordIndex: Array.from(hb.wordIndex),
    steps: opts.steps, warmup: opts.warmup, seed: opts.seed,
  };
}

/** Methods scripts/bench/torch_train.py re-implements (MLIP has no PyTorch mirror yet). */
export const TORCH_MIRRORED_METHODS: readonly string[] = ['convirt', 'gloria', 'mgca', 'reclf'];

/** Locates scripts/bench/torch_train.py from src/ (tsx) or dist/engine (bundle). */
export function torchTrainScriptPath(): string | undefined {
  for (const rel of [['..', '..', '..'], ['..', '..']]) {
    const p = path.resolve(__dirname, ...rel, 'scripts', 'bench', 'torch_train.py');
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

interface TorchTrainOutput {
  params: number;
  buffers: number;
  step_ms_median: number | null;
  steps: number;
  threads: number;
  loss?: number;
}

function runTorchScript(input: unknown, args: string[], timeoutMs: number): { out?: unknown; error?: string } {
  if (!torchAvailable()) return { error: TORCH_MISSING };
  const script = torchTrainScriptPath();
  if (!script) return { error: 'scripts/bench/torch_train.py not found next to the engine' };
  const r = spawnSync(TORCH_PYTHON, [script, ...args], {
    input: JSON.stringify(input), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) {
    const why = r.error?.message ?? ((r.stderr || '').trim().split('\n').pop() || `exit code ${r.status}`);
    return { error: `PyTorch peer failed: ${why}` };
  }
  try {
    return { out: JSON.parse(r.stdout) as unknown };
  } catch {
    return { error: `PyTorch peer printed no JSON: ${r.stdout.slice(0, 200)}` };
  }
}

/** Trainable and buffer counts of the PyTorch mirror for each config (one Python process). */
export function torchParamCounts(configs: RunConfig[]): { counts?: Array<{ params: number; buffers: number }>; error?: string } {
  const jobs = configs.map((c) => torchTrainJob(c, { steps: 0, warmup: 0, seed: 0 }));
  const r = runTorchScript(jobs, ['--count-only'], 300_000);
  if (r.error) return { error: r.error };
  return { counts: r.out as Array<{ params: number; buffers: number }> };
}

/** The same training step in PyTorch; a row, or why the peer could not run. */
export function benchTrainTorch(config: RunConfig, opts: TrainBenchOptions = DEFAULT_TRAIN_BENCH, threads = 2): { row?: TrainBenchRow; error?: string } {
  if (!TORCH_MIRRORED_METHODS.includes(config.method.name)) {
    return { error: `PyTorch peer: no mirror of '${config.method.name}' in scripts/bench/torch_train.py (mirrored: ${TORCH_MIRRORED_METHODS.join(', ')})` };
  }
  const job = torchTrainJob(config, opts);
  const r = runTorchScript(job, ['--threads', String(threads)], 3_600_000);
  if (r.error) return { error: r.error };
  const o = r.out as TorchTrainOutput;
  if (o.step_ms_median === null) return { error: 'PyTorch peer timed no step' };
  const times = Array.from({ length: o.steps }, () => o.step_ms_median as number);
  return { row: row(job.config, `torch(${o.threads})`, o.params, times, o.loss ?? NaN) };
}

/** One row per (method, backend), with each TF.js row's step-time ratio to the PyTorch row of its method. */
export function formatTrainTable(rows: TrainBenchRow[]): string {
  const header = ['method', 'backend', 'batch', 'params', 'step ms', 'images/s', 'GFLOP/s', 'vs torch'];
  const lines = [header];
  for (const r of rows) {
    const torch = rows.find((x) => x.method === r.method && x.backend.startsWith('torch'));
    const ratio = r.backend.startsWith('torch') ? '1.0x' : torch ? `${(r.stepMsMedian / torch.stepMsMedian).toFixed(1)}x` : 'n/a';
    lines.push([
      r.method, r.backend, `${r.batch}x${r.imageSize}px`, r.params.toLocaleString('en-US'), r.stepMsMedian.toFixed(0),
      r.imagesPerS.toFixed(1), r.gflops.toFixed(1), ratio,
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}
