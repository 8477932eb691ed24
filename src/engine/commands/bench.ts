// `reclf bench ops`: GFLOP/s of the kernels training depends on and one transformer training
// step, per available TF.js backend, next to the same workloads in PyTorch measured in this run.
// `reclf bench train`: the trainer's real step on the default (or a given, or the papers') run
// config per backend, next to the same model, losses and batch in PyTorch (CPU or CUDA).
// `reclf bench explain`: latency of one explanation (cold and warm) with the default model.
// `reclf bench embed`: image/text encoder throughput in ONNX Runtime vs the same weights in PyTorch.
import fs from 'node:fs';
import path from 'node:path';
import { bool, list, num, str } from '../args';
import type { Command } from '../command';
import { BACKEND_ORDER, initBackend, probeBackends } from '../../core/runtime/backend';
import {
  benchActiveBackend, benchTorch, DEFAULT_SIZES, DEFAULT_TIMING, formatBenchTable, type BenchRow,
} from '../../bench/bench-ops';
import {
  benchTrainActive, benchTrainTorch, DEFAULT_TRAIN_BENCH, formatTrainTable, mergeRaw, presetOverride, torchTrainJob,
  trainStepFlop, TRAIN_BENCH_PRESETS, type TrainBenchRow,
} from '../../bench/bench-train';
import { TORCH_PYTHON } from '../../bench/bench-ops';
import { ConfigError } from '../../core/errors';
import { METHOD_NAMES } from '../../core/align/registry';
import { resolveRunConfig, type RunConfig } from '../../core/train/run-config';
import { readConfigFile } from '../run-config-file';
import {
  benchExplain, benchTempDir, DEFAULT_EXPLAIN_BENCH, defaultRealCxrDir, formatExplainReport, iuXrayInput,
  syntheticExplainInput, type ExplainBenchInput,
} from '../../bench/bench-explain';
import { benchEmbed, DEFAULT_EMBED_BENCH, formatEmbedReport } from '../../bench/bench-embed';
import { DataError } from '../../core/errors';
import { BUNDLED_MODEL, resolveExplainModel } from './explain';
import type { ExplainModelInfo } from '../../protocol/explain';

export const benchOps: Command = {
  spec: {
    name: 'bench ops',
    summary: 'Benchmark matmul/conv kernels and a transformer training step per backend vs PyTorch',
    usage: 'reclf bench ops [--backend NAME] [--reps N] [--no-torch] [--json]',
    flags: {
      backend: { type: 'string', value: 'NAME', description: `Only this backend (${BACKEND_ORDER.join(', ')}); default: every available one` },
      reps: { type: 'number', value: 'N', description: 'Timed repetitions per workload (median reported)', default: DEFAULT_TIMING.reps },
      warmup: { type: 'number', value: 'N', description: 'Untimed warm-up calls per workload', default: DEFAULT_TIMING.warmup },
      torch: { type: 'boolean', description: 'Also run the PyTorch peer (/usr/bin/python3, 2 threads)', default: true },
      'torch-threads': { type: 'number', value: 'N', description: 'PyTorch intra-op threads', default: 2 },
      json: { type: 'boolean', description: 'Print the rows as JSON on stdout instead of a table' },
    },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const timing = { reps: Math.max(1, num(f, 'reps') ?? DEFAULT_TIMING.reps), warmup: Math.max(0, num(f, 'warmup') ?? DEFAULT_TIMING.warmup) };
    const only = str(f, 'backend');
    let names: string[];
    if (only) {
      await initBackend(only);
      names = [only];
    } else {
      const probes = await probeBackends();
      names = probes.filter((p) => p.available).map((p) => p.name);
      for (const p of probes) if (!p.available) ctx.events.log(`skipping ${p.name}: ${p.reason}`);
    }
    const rows: BenchRow[] = [];
    for (const name of names) {
      const sel = await initBackend(name);
      ctx.events.log(`benchmarking ${name} on ${sel.device} ...`);
      // The pure-JS cpu backend is ~30x slower; fewer repetitions keep the command usable.
      const t = name === 'cpu' ? { reps: Math.min(timing.reps, 2), warmup: Math.min(timing.warmup, 1) } : timing;
      rows.push(...await benchActiveBackend(name, DEFAULT_SIZES, t));
    }
    if (f.torch !== false) {
      ctx.events.log('benchmarking PyTorch peer ...');
      const torch = benchTorch(DEFAULT_SIZES, timing, num(f, 'torchThreads') ?? 2);
      if (torch.rows) rows.push(...torch.rows);
      else ctx.events.log(torch.error ?? 'PyTorch peer failed');
    }
    if (bool(f, 'json')) process.stdout.write(JSON.stringify({ sizes: DEFAULT_SIZES, rows }, null, 2) + '\n');
    else process.stdout.write(formatBenchTable(rows) + '\n');
    return 0;
  },
};

const FLOP_NOTE = 'GFLOP/s counts 3 x the forward FLOP of the image and text encoders and projection heads (estimateFlops); '
  + 'the alignment head (local attention, SRM/IRM, token and prototype losses) is excluded.';
const TIMING_NOTE = 'step ms: median wall time of one trainer step (batch upload, forward, backward, clipping, AdamW, BatchNorm update), '
  + 'ending in an awaited read of the loss so GPU backends have finished the step; PyTorch on CUDA is timed between torch.cuda.synchronize() calls.';
const MEMORY_NOTE = 'peak MB: TF.js = the maximum of the engine\'s live-tensor bytes (tf.memory().numBytes: weights, AdamW state, '
  + 'activations kept for backward) over the timed steps; torch(cuda) = torch.cuda.max_memory_allocated. '
  + 'GPU MB: webgpu = the backend buffer manager\'s numBytesAllocated (buffers in use + its free pool), maximum after each step; '
  + 'torch(cuda) = torch.cuda.max_memory_reserved. "-" = not measured (CPU backends, PyTorch on CPU).';
const CPU_NOTE = "cpu backend not run: plain JS is ~50x slower than wasm (add it with --backends cpu)";
/** Above this many GFLOP per step a CPU backend is warned about (the paper preset is ~4,100). */
const CPU_HEAVY_GFLOP = 200;

/** Run configs to benchmark: each method's defaults, or a user config (optionally re-targeted per --methods), with a preset applied. */
function benchRunConfigs(methods: string[] | undefined, configFile: string | undefined, preset: string): RunConfig[] {
  for (const m of methods ?? []) {
    if (!METHOD_NAMES.includes(m)) throw new ConfigError(`--methods: unknown method '${m}' (choose ${METHOD_NAMES.join(', ')})`, 'methods');
  }
  const over = presetOverride(preset);
  if (!configFile) return (methods ?? ['reclf']).map((m) => resolveRunConfig(mergeRaw({}, over), m));
  const raw = mergeRaw(readConfigFile(configFile), over);
  return methods ? methods.map((m) => resolveRunConfig(raw, m)) : [resolveRunConfig(raw)];
}

function parsePresets(v: string[] | undefined): string[] {
  const presets = v && v.length ? [...new Set(v)] : ['default'];
  presets.forEach(presetOverride);
  return presets;
}

export const benchTrain: Command = {
  spec: {
    name: 'bench train',
    summary: 'Time training steps (step ms, images/s, GFLOP/s, peak memory) per backend vs the same model in PyTorch',
    usage: [
      'reclf bench train [--methods a,b] [--preset default|paper|default,paper] [--config FILE] [--backend NAME | --backends a,b]',
      '                         [--steps N] [--warmup N] [--no-torch] [--torch-device cpu|cuda] [--torch-threads N] [--python PY]',
      '                         [--torch-job] [--json]',
      '',
      'Examples:',
      '  reclf bench train --methods reclf,convirt --steps 10          # CPU default configs, wasm vs PyTorch on 2 threads',
      '  reclf bench train --backend webgpu --preset paper --torch-device cuda',
      '                                                                # the papers\' ResNet-50 + BERT-base, batch 48: WebGPU vs PyTorch CUDA',
      '  reclf bench train --backend webgpu --preset default,paper     # both presets side by side',
      '  reclf bench train --preset paper --torch-job > job.json       # the PyTorch job, for torch_train.py --device cuda --job job.json elsewhere',
      '',
      'Presets: default = the CPU default config (cnn-small 128 px, 2-layer BERT, batch 32). paper = ResNet-50 at 224 px,',
      'BERT-base (12 layers, hidden 768, 12 heads, intermediate 3072, 28,996-piece vocabulary, 112 pieces, dropout 0.1),',
      'MGCA heads (2048 -> 128), 97 words, batch 48: ~4.1 TFLOP per step, minutes per step on a CPU backend. A preset',
      'overrides only the model, vocabulary size and batch of --config (or of each method\'s defaults).',
      'Columns: step ms (each step ends in an awaited loss read, so GPU work is finished), images/s, GFLOP/s (3 x forward',
      'FLOP of encoders + heads), peak MB (peak live-tensor memory over the timed steps: TF.js tf.memory().numBytes tracked',
      'on every change / torch.cuda.max_memory_allocated), GPU MB (webgpu bufferManager.numBytesAllocated, buffers in use +',
      'free pool, max after each step / torch.cuda.max_memory_reserved), and the step-time ratio to the PyTorch row of the',
      'same method and preset. The PyTorch side runs in the same command; without torch its column is skipped with the reason.',
    ].join('\n'),
    flags: {
      methods: { type: 'list', value: 'A,B', description: `Methods whose default config is timed (${METHOD_NAMES.join(', ')}); default: reclf, or the --config's method` },
      preset: { type: 'list', value: 'P[,P]', description: `Model/batch preset(s), rows side by side (${TRAIN_BENCH_PRESETS.join(', ')}); paper = ResNet-50 224 px + BERT-base, batch 48`, default: ['default'] },
      config: { type: 'string', value: 'FILE', description: 'Bench this run config (*.reclf.json) instead of the defaults (a --preset other than default overrides its model and batch)' },
      backend: { type: 'string', value: 'NAME', description: `One TF.js backend (${BACKEND_ORDER.join(', ')}); same as --backends NAME` },
      backends: { type: 'list', value: 'A,B', description: `TF.js backends (${BACKEND_ORDER.join(', ')}); default: every available one except cpu (~50x slower)` },
      steps: { type: 'number', value: 'N', description: 'Timed training steps (median reported)', default: DEFAULT_TRAIN_BENCH.steps },
      warmup: { type: 'number', value: 'N', description: 'Untimed training steps first (kernel compilation, allocator warm-up)', default: DEFAULT_TRAIN_BENCH.warmup },
      seed: { type: 'number', value: 'S', description: 'Seed of the synthetic batch', default: DEFAULT_TRAIN_BENCH.seed },
      torch: { type: 'boolean', description: 'Also run the PyTorch peer (scripts/bench/torch_train.py) in the same command; --no-torch skips it', default: true },
      'torch-device': { type: 'string', value: 'DEV', description: 'Where the PyTorch peer runs: cpu, or cuda (synchronised timing, torch.cuda.max_memory_allocated/reserved; float32, TF32 off)', default: 'cpu' },
      'torch-threads': { type: 'number', value: 'N', description: 'PyTorch intra-op CPU threads', default: 2 },
      python: { type: 'string', value: 'PY', description: 'Python interpreter with torch for the peer (e.g. a CUDA build in a venv)', default: TORCH_PYTHON },
      'torch-job': { type: 'boolean', description: 'Print the JSON job(s) torch_train.py reads (--job FILE or stdin) and exit, to run the PyTorch side alone' },
      json: { type: 'boolean', description: 'Print {rows, notes} as JSON on stdout instead of a table' },
    },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const opts = {
      steps: Math.max(1, Math.floor(num(f, 'steps') ?? DEFAULT_TRAIN_BENCH.steps)),
      warmup: Math.max(0, Math.floor(num(f, 'warmup') ?? DEFAULT_TRAIN_BENCH.warmup)),
      seed: Math.max(0, Math.floor(num(f, 'seed') ?? DEFAULT_TRAIN_BENCH.seed)),
    };
    const torchDevice = str(f, 'torchDevice') ?? 'cpu';
    if (torchDevice !== 'cpu' && torchDevice !== 'cuda') throw new ConfigError(`--torch-device must be cpu or cuda, got ${torchDevice}`, 'torch-device');
    const peer = { threads: Math.max(1, Math.floor(num(f, 'torchThreads') ?? 2)), device: torchDevice as 'cpu' | 'cuda', python: str(f, 'python') ?? TORCH_PYTHON };
    const presets = parsePresets(list(f, 'preset'));
    const runs = presets.flatMap((preset) => benchRunConfigs(list(f, 'methods'), str(f, 'config'), preset).map((cfg) => ({ preset, cfg })));
    if (bool(f, 'torchJob')) {
      const jobs = runs.map(({ cfg }) => torchTrainJob(cfg, opts));
      process.stdout.write(JSON.stringify(jobs.length === 1 ? jobs[0] : jobs) + '\n');
      return 0;
    }
    const notes = [FLOP_NOTE, TIMING_NOTE, MEMORY_NOTE];
    const one = str(f, 'backend');
    let backends = list(f, 'backends');
    if (one && backends) throw new ConfigError('give --backend or --backends, not both', 'backend');
    if (one) backends = [one];
    if (backends) {
      for (const b of backends) await initBackend(b);
    } else {
      const probes = await probeBackends();
      for (const p of probes) if (!p.available) ctx.events.log(`skipping ${p.name}: ${p.reason}`);
      backends = probes.filter((p) => p.available && p.name !== 'cpu').map((p) => p.name);
      if (probes.some((p) => p.name === 'cpu' && p.available)) notes.push(CPU_NOTE);
      if (backends.length === 0) backends = ['cpu'];
    }
    const rows: TrainBenchRow[] = [];
    for (const { preset, cfg } of runs) {
      const m = cfg.method.name;
      const tag = presets.length > 1 || preset !== 'default' ? `${m} (${preset})` : m;
      const gflop = trainStepFlop(cfg) / 1e9;
      for (const name of backends) {
        const sel = await initBackend(name);
        if (gflop > CPU_HEAVY_GFLOP && sel.device.startsWith('cpu')) {
          ctx.events.log(`${tag}: ${gflop.toFixed(0)} GFLOP per step on a CPU backend (${name}): expect a long run`);
        }
        ctx.events.log(`${tag}: ${opts.warmup} + ${opts.steps} training steps of ${cfg.train.batchSize} on ${name} (${sel.device}) ...`);
        rows.push(await benchTrainActive(cfg, name, opts, preset));
      }
      if (f.torch !== false) {
        ctx.events.log(`${tag}: the same steps in PyTorch (${peer.device}) ...`);
        const torch = benchTrainTorch(cfg, opts, peer, preset);
        if (torch.row) {
          rows.push(torch.row);
          const dev = `${torch.row.backend}: ${torch.device ?? peer.device}${peer.device === 'cuda' ? ', float32 (TF32 off)' : ''}`;
          if (peer.device === 'cuda' && !notes.includes(dev)) notes.push(dev);
        } else if (torch.error && !notes.includes(torch.error)) {
          notes.push(torch.error);
        }
      }
    }
    if (bool(f, 'json')) process.stdout.write(JSON.stringify({ rows, notes }, null, 2) + '\n');
    else process.stdout.write([formatTrainTable(rows), '', ...notes].join('\n') + '\n');
    return 0;
  },
};

/** --model, else the bundled model; the info `reclf explain` would give it. */
async function benchModel(flag: string | undefined): Promise<{ file: string; info: Omit<ExplainModelInfo, 'method'> }> {
  const resolved = await resolveExplainModel({ model: flag }, () => {});
  if (!resolved) throw new ConfigError(`no model: give --model (the bundled ${BUNDLED_MODEL} is not in this install; build it with 'npm run build:model')`, 'model');
  return resolved;
}

function positiveInt(v: number | undefined, fallback: number, name: string, min = 1): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < min) throw new ConfigError(`--${name} must be an integer >= ${min}, got ${x}`, name);
  return x;
}

export const benchExplainCommand: Command = {
  spec: {
    name: 'bench explain',
    summary: 'Latency of one explanation (decode + tokenise + ONNX Runtime + payload), cold and warm',
    usage: 'reclf bench explain [--model M.onnx] [--image IMG [--report TXT]] [--repeats N] [--warmup N] [--json]',
    flags: {
      model: { type: 'string', value: 'FILE', description: 'ONNX model following the contract (default: the bundled models/reclf-default.onnx)' },
      image: { type: 'string', value: 'IMG', description: 'Time this image only (default: a synthetic 512 px study, plus a real IU X-ray from ../shared/data/real-cxr when present)' },
      report: { type: 'string', value: 'TXT', description: 'Report text file for --image (default: the synthetic study\'s report)' },
      repeats: { type: 'number', value: 'N', description: 'Timed explanations (median and p90 reported)', default: DEFAULT_EXPLAIN_BENCH.repeats },
      warmup: { type: 'number', value: 'N', description: 'Untimed explanations after the cold one', default: DEFAULT_EXPLAIN_BENCH.warmup },
      device: { type: 'string', value: 'NAME', default: 'cpu', description: 'ONNX Runtime execution provider: cpu, cuda or auto' },
      json: { type: 'boolean', description: 'Print the report as JSON on stdout instead of a table' },
    },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const device = str(f, 'device') ?? 'cpu';
    if (device !== 'auto' && device !== 'cpu' && device !== 'cuda') throw new ConfigError(`--device must be auto, cpu or cuda, got ${device}`, 'device');
    const opts = {
      repeats: positiveInt(num(f, 'repeats'), DEFAULT_EXPLAIN_BENCH.repeats, 'repeats'),
      warmup: positiveInt(num(f, 'warmup'), DEFAULT_EXPLAIN_BENCH.warmup, 'warmup', 0),
      device: device as 'auto' | 'cpu' | 'cuda',
    };
    const { file, info } = await benchModel(str(f, 'model'));
    const tmp = benchTempDir();
    try {
      const synthetic = syntheticExplainInput(tmp);
      const inputs: ExplainBenchInput[] = [];
      const image = str(f, 'image');
      const reportFile = str(f, 'report');
      if (reportFile && !image) throw new ConfigError('--report needs --image', 'report');
      if (image) {
        let report = synthetic.report;
        if (reportFile) {
          try {
            report = fs.readFileSync(reportFile, 'utf8');
          } catch (e) {
            throw new DataError(`${reportFile}: cannot read the report (${(e as Error).message})`, reportFile);
          }
        }
        inputs.push({ name: 'given', imagePath: path.resolve(image), report });
      } else {
        inputs.push(synthetic);
        const real = defaultRealCxrDir();
        const iu = real ? iuXrayInput(real) : undefined;
        if (iu) inputs.push(iu);
        else ctx.events.log('no real IU X-ray found (../shared/data/real-cxr/iu-xray): timing the synthetic study only');
      }
      const report = await benchExplain(file, inputs, opts, info, (m) => ctx.events.log(m));
      process.stdout.write(bool(f, 'json') ? JSON.stringify(report, null, 2) + '\n' : formatExplainReport(report) + '\n');
      return 0;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
};

export const benchEmbedCommand: Command = {
  spec: {
    name: 'bench embed',
    summary: 'Image/text encoder throughput in ONNX Runtime vs the same weights in PyTorch (parity-checked)',
    usage: 'reclf bench embed [--model M.onnx] [--batch 32] [--repeats N] [--warmup N] [--threads 2] [--no-torch] [--json]',
    flags: {
      model: { type: 'string', value: 'FILE', description: 'ONNX model (cnn-small + BERT, as `reclf export` writes; default: the bundled model)' },
      batch: { type: 'number', value: 'B', description: 'Images / reports per batch', default: DEFAULT_EMBED_BENCH.batch },
      repeats: { type: 'number', value: 'N', description: 'Timed batches per encoder (median reported)', default: DEFAULT_EMBED_BENCH.repeats },
      warmup: { type: 'number', value: 'N', description: 'Untimed batches first', default: DEFAULT_EMBED_BENCH.warmup },
      threads: { type: 'number', value: 'N', description: 'Intra-op threads for ONNX Runtime and PyTorch alike', default: DEFAULT_EMBED_BENCH.threads },
      seed: { type: 'number', value: 'S', description: 'Seed of the synthetic studies in the batch', default: DEFAULT_EMBED_BENCH.seed },
      tolerance: { type: 'number', value: 'T', description: 'Max |ORT - PyTorch| on every output before PyTorch is timed', default: DEFAULT_EMBED_BENCH.tolerance },
      torch: { type: 'boolean', description: 'Also run the PyTorch peer (/usr/bin/python3, scripts/bench/torch_embed.py)', default: true },
      json: { type: 'boolean', description: 'Print the report as JSON on stdout instead of a table' },
    },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const tolerance = num(f, 'tolerance') ?? DEFAULT_EMBED_BENCH.tolerance;
    if (!(tolerance > 0)) throw new ConfigError(`--tolerance must be > 0, got ${tolerance}`, 'tolerance');
    const opts = {
      batch: positiveInt(num(f, 'batch'), DEFAULT_EMBED_BENCH.batch, 'batch'),
      repeats: positiveInt(num(f, 'repeats'), DEFAULT_EMBED_BENCH.repeats, 'repeats'),
      warmup: positiveInt(num(f, 'warmup'), DEFAULT_EMBED_BENCH.warmup, 'warmup', 0),
      threads: positiveInt(num(f, 'threads'), DEFAULT_EMBED_BENCH.threads, 'threads'),
      seed: positiveInt(num(f, 'seed'), DEFAULT_EMBED_BENCH.seed, 'seed', 0),
      torch: f.torch !== false,
      tolerance,
    };
    const { file } = await benchModel(str(f, 'model'));
    const report = await benchEmbed(file, opts, (m) => ctx.events.log(m));
    process.stdout.write(bool(f, 'json') ? JSON.stringify(report, null, 2) + '\n' : formatEmbedReport(report) + '\n');
    return 0;
  },
};
