// `reclf bench train`: times the trainer's real training step (forward + backward + clipping +
// AdamW + BatchNorm update) on the model the trainer builds for a run config, per TF.js backend,
// next to the same architecture, losses and batch in PyTorch (scripts/bench/torch_train.py)
// measured in the same run. Data are synthetic and fixed so that only compute is measured.
// Each timed step ends in an asynchronous read of its loss (`await loss.data()`), so an async GPU
// backend (WebGPU) has finished the step when the clock stops; peak memory is recorded alongside.
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../core/rng';
import { WordPieceTokenizer, VOCAB_SPECIALS } from '../core/text';
import { estimateFlops } from '../core/models/model-config';
import { AdamW } from '../core/train/adamw';
import type { HostBatch } from '../core/train/batches';
import { buildModel, trainStep, type BuiltModel } from '../core/train/trainer';
import { mergeRawConfig, type RunConfig } from '../core/train/run-config';
import { presetConfig, type PresetName } from '../core/train/presets';
import { ConfigError } from '../core/errors';
import { benchScriptPath, median, TORCH_PYTHON, torchAvailable, torchMissing } from './bench-ops';

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
  /** The preset the run config came from ('default' = the CPU default config, 'paper' = the papers' ResNet-50 + BERT-base; src/core/train/presets.ts). */
  preset: string;
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
  /**
   * Peak memory of live tensors over the timed steps, MiB. TF.js: the engine's byte count of live
   * tensors (variables, optimizer state, activations kept for the backward pass), tracked on every
   * change; PyTorch on CUDA: torch.cuda.max_memory_allocated. Absent where not measured.
   */
  peakTensorMB?: number;
  /**
   * GPU memory held by the backend's allocator, MiB. webgpu: the buffer manager's
   * numBytesAllocated (buffers in use plus its free pool), the maximum sampled after each step;
   * PyTorch on CUDA: torch.cuda.max_memory_reserved. Absent on CPU backends.
   */
  gpuMB?: number;
}

/**
 * Presets the train bench times (src/core/train/presets.ts): those whose architecture
 * scripts/bench/torch_train.py mirrors, so that the PyTorch column times the same model.
 * The 'grounding' preset's switches (stage-2 regions with positions, cosine attention, SRM
 * before attention) have no PyTorch mirror.
 */
export const TRAIN_BENCH_PRESETS = ['default', 'paper'] as const satisfies readonly PresetName[];
export type TrainBenchPreset = (typeof TRAIN_BENCH_PRESETS)[number];

/** The override a bench preset applies to a raw run config ({} for 'default'). */
export function presetOverride(preset: string): Record<string, unknown> {
  if (!(TRAIN_BENCH_PRESETS as readonly string[]).includes(preset)) {
    throw new ConfigError(`--preset: '${preset}' cannot be benchmarked against PyTorch (choose ${TRAIN_BENCH_PRESETS.join(', ')})`, 'preset');
  }
  return presetConfig(preset);
}

/** `over` merged into `base` (src/core/train/run-config.ts mergeRawConfig). */
export const mergeRaw = mergeRawConfig;

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

const MIB = 2 ** 20;

/**
 * The maximum of the TF.js engine's live-tensor byte count (what tf.memory().numBytes reports),
 * seen on every change rather than sampled: the engine's counter is wrapped in an accessor for as
 * long as the tracker runs. Where that is not possible it falls back to sampling after each step.
 */
export class TensorPeak {
  peak: number;
  readonly exact: boolean;
  private readonly restore: () => void;

  constructor() {
    const state = tf.engine().state as unknown as Record<string, unknown>;
    let value = Number(state.numBytes ?? 0);
    this.peak = value;
    const desc = Object.getOwnPropertyDescriptor(state, 'numBytes');
    if (!desc || !desc.configurable || !('value' in desc)) {
      this.exact = false;
      this.restore = () => {};
      return;
    }
    Object.defineProperty(state, 'numBytes', {
      configurable: true,
      enumerable: desc.enumerable,
      get: () => value,
      set: (v: number) => {
        value = v;
        if (v > this.peak) this.peak = v;
      },
    });
    this.exact = true;
    this.restore = () => {
      Object.defineProperty(state, 'numBytes', { value, writable: true, configurable: true, enumerable: desc.enumerable });
    };
  }

  /** Starts a new maximum from the current count. */
  reset(): void {
    this.peak = tf.memory().numBytes;
  }

  sample(): void {
    this.peak = Math.max(this.peak, tf.memory().numBytes);
  }

  stop(): void {
    this.restore();
  }
}

/** Bytes the active backend's GPU allocator holds: webgpu's buffer manager; undefined elsewhere. */
export function gpuAllocatedBytes(): number | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const b = tf.backend() as unknown as { bufferManager?: { numBytesAllocated?: number } };
  const n = b.bufferManager?.numBytesAllocated;
  if (typeof n === 'number') return n;
  const m = tf.memory() as { numBytesAllocatedInGPU?: number };
  return typeof m.numBytesAllocatedInGPU === 'number' ? m.numBytesAllocatedInGPU : undefined;
}

/**
 * Builds the model, runs warm-up + timed trainer steps on the ACTIVE TF.js backend, disposes
 * everything. Every step (warm-up too) awaits its loss before the next starts, so the time of a
 * step on an async GPU backend includes finishing its work on the device.
 */
export async function benchTrainActive(
  config: RunConfig, backend: string, opts: TrainBenchOptions = DEFAULT_TRAIN_BENCH, preset = 'default',
): Promise<TrainBenchRow> {
  const tokenizer = benchTokenizer(config.text.vocabSize, config.text.lowerCase);
  const cfg = benchConfig(config, tokenizer);
  const built = buildModel(cfg, tokenizer);
  const hb = syntheticHostBatch(cfg, tokenizer.vocabSize, opts.seed);
  const t = cfg.train;
  const optimizer = new AdamW({ beta1: t.beta1, beta2: t.beta2, eps: t.eps, weightDecay: t.weightDecay });
  const stepOpts = { lr: t.lr, clipNorm: t.clipNorm, imageSize: cfg.model.image.imageSize, maxLength: cfg.model.text.maxLength };
  const times: number[] = [];
  let loss = NaN;
  let gpuPeak: number | undefined;
  const peak = new TensorPeak();
  try {
    for (let i = 0; i < opts.warmup + opts.steps; i++) {
      const timed = i >= opts.warmup;
      if (i === opts.warmup) peak.reset();
      const t0 = performance.now();
      const lossT = trainStep(built, optimizer, hb, { ...stepOpts, step: i }).loss;
      try {
        loss = (await lossT.data())[0];
      } finally {
        lossT.dispose();
      }
      if (timed) {
        times.push(performance.now() - t0);
        peak.sample();
        const g = gpuAllocatedBytes();
        if (g !== undefined) gpuPeak = Math.max(gpuPeak ?? 0, g);
      }
    }
    const r = row(cfg, preset, backend, trainableCount(built), times, loss);
    if (times.length) r.peakTensorMB = peak.peak / MIB;
    if (gpuPeak !== undefined) r.gpuMB = gpuPeak / MIB;
    return r;
  } finally {
    peak.stop();
    built.params.dispose();
    optimizer.dispose();
  }
}

function row(cfg: RunConfig, preset: string, backend: string, params: number, times: number[], loss: number): TrainBenchRow {
  const ms = times.length ? median(times) : NaN;
  const flop = trainStepFlop(cfg);
  const B = cfg.train.batchSize;
  return {
    method: cfg.method.name, preset, backend, batch: B, imageSize: cfg.model.image.imageSize, params, steps: times.length,
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
  const why = torchUnmirrored(config);
  if (why) throw new ConfigError(`PyTorch job: ${why}`, 'config');
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

/**
 * The RECLF [design] switches scripts/bench/torch_train.py implements, with the values it mirrors.
 * Any other value would have the PyTorch column time a different model than the TS row.
 */
const TORCH_MIRRORED_RECLF: Readonly<Record<string, readonly unknown[]>> = {
  attention: ['gloria'],
  context: ['attended'],
  relation: ['matching'],
  relationLogits: ['scaled-dot'],
  srmStage: ['matching'],
  srmOffsets: [0],
  srmLocality: [0],
  relationBalance: [0],
  irmInput: ['matching'],
  irm: ['softmax', 'sigmoid', 'uniform', 'lse'],
  score: ['linear', 'cosine'],
  locationSwap: ['off'],
};

/** Why the PyTorch mirror cannot time this config's method (the first unmirrored switch), or undefined. */
export function torchUnmirrored(config: RunConfig): string | undefined {
  const m = config.method as Record<string, unknown>;
  if (!TORCH_MIRRORED_METHODS.includes(m.name as string)) {
    return `no mirror of '${m.name}' in scripts/bench/torch_train.py (mirrored: ${TORCH_MIRRORED_METHODS.join(', ')})`;
  }
  if (m.name === 'reclf') {
    for (const [key, values] of Object.entries(TORCH_MIRRORED_RECLF)) {
      if (!values.includes(m[key])) {
        return `scripts/bench/torch_train.py does not mirror method.${key} = ${JSON.stringify(m[key])} (mirrored: ${values.map((v) => JSON.stringify(v)).join(', ')}); its column would time another model`;
      }
    }
  }
  if (config.model.text.localPositions === false) {
    return 'scripts/bench/torch_train.py does not mirror model.text.localPositions = false; its column would time another model';
  }
  return undefined;
}

/** Locates scripts/bench/torch_train.py from src/bench (tsx) or dist/engine (bundle). */
export function torchTrainScriptPath(): string | undefined {
  return benchScriptPath('torch_train.py');
}

/** How the PyTorch peer runs. */
export interface TorchPeerOptions {
  /** Intra-op CPU threads. */
  threads: number;
  device: 'cpu' | 'cuda';
  /** Interpreter whose `torch` is used (default /usr/bin/python3). */
  python: string;
}

export const DEFAULT_TORCH_PEER: TorchPeerOptions = { threads: 2, device: 'cpu', python: TORCH_PYTHON };

interface TorchTrainOutput {
  params: number;
  buffers: number;
  step_ms_median: number | null;
  steps: number;
  threads: number;
  loss?: number;
  device?: string;
  peak_allocated_mb?: number | null;
  peak_reserved_mb?: number | null;
}

function runTorchScript(input: unknown, args: string[], timeoutMs: number, python = TORCH_PYTHON): { out?: unknown; error?: string } {
  if (!torchAvailable(python)) return { error: torchMissing(python) };
  const script = torchTrainScriptPath();
  if (!script) return { error: 'scripts/bench/torch_train.py not found next to the engine' };
  const r = spawnSync(python, [script, ...args], {
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
export function torchParamCounts(configs: RunConfig[], python = TORCH_PYTHON): { counts?: Array<{ params: number; buffers: number }>; error?: string } {
  const jobs = configs.map((c) => torchTrainJob(c, { steps: 0, warmup: 0, seed: 0 }));
  const r = runTorchScript(jobs, ['--count-only'], 300_000, python);
  if (r.error) return { error: r.error };
  return { counts: r.out as Array<{ params: number; buffers: number }> };
}

/** The backend label of the PyTorch row: `torch(N)` on N CPU threads, `torch(cuda)` on a GPU. */
export function torchBackendLabel(device: 'cpu' | 'cuda', threads: number): string {
  return device === 'cuda' ? 'torch(cuda)' : `torch(${threads})`;
}

/** The same training step in PyTorch; a row (and the device it ran on), or why the peer could not run. */
export function benchTrainTorch(
  config: RunConfig, opts: TrainBenchOptions = DEFAULT_TRAIN_BENCH, peer: Partial<TorchPeerOptions> = {}, preset = 'default',
): { row?: TrainBenchRow; device?: string; error?: string } {
  const p = { ...DEFAULT_TORCH_PEER, ...peer };
  const why = torchUnmirrored(config);
  if (why) return { error: `PyTorch peer: ${why}` };
  const job = torchTrainJob(config, opts);
  const r = runTorchScript(job, ['--threads', String(p.threads), '--device', p.device], 3_600_000, p.python);
  if (r.error) return { error: r.error };
  const o = r.out as TorchTrainOutput;
  if (o.step_ms_median === null) return { error: 'PyTorch peer timed no step' };
  const times = Array.from({ length: o.steps }, () => o.step_ms_median as number);
  const out = row(job.config, preset, torchBackendLabel(p.device, o.threads), o.params, times, o.loss ?? NaN);
  if (typeof o.peak_allocated_mb === 'number') out.peakTensorMB = o.peak_allocated_mb;
  if (typeof o.peak_reserved_mb === 'number') out.gpuMB = o.peak_reserved_mb;
  return { row: out, device: o.device };
}

const isTorch = (r: TrainBenchRow): boolean => r.backend.startsWith('torch');

const mb = (x: number | undefined): string => (x === undefined ? '-' : Math.round(x).toLocaleString('en-US'));

/**
 * One row per (method, preset, backend), with each TF.js row's step-time ratio to the PyTorch
 * row of the same method and preset.
 */
export function formatTrainTable(rows: TrainBenchRow[]): string {
  const header = ['method', 'preset', 'backend', 'batch', 'params', 'step ms', 'images/s', 'GFLOP/s', 'peak MB', 'GPU MB', 'vs torch'];
  const lines = [header];
  for (const r of rows) {
    const torch = rows.find((x) => x.method === r.method && x.preset === r.preset && isTorch(x));
    const ratio = isTorch(r) ? '1.0x' : torch ? `${(r.stepMsMedian / torch.stepMsMedian).toFixed(1)}x` : 'n/a';
    lines.push([
      r.method, r.preset, r.backend, `${r.batch}x${r.imageSize}px`, r.params.toLocaleString('en-US'), r.stepMsMedian.toFixed(0),
      r.imagesPerS.toFixed(1), r.gflops.toFixed(1), mb(r.peakTensorMB), mb(r.gpuMB), ratio,
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}
