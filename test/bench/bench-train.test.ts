import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/runtime/backend';
import {
  benchConfig, benchTokenizer, benchTrainActive, benchTrainTorch, formatTrainTable, gpuAllocatedBytes, mergeRaw, presetOverride,
  syntheticHostBatch, TensorPeak, torchBackendLabel, torchParamCounts, torchTrainJob, torchTrainScriptPath, torchUnmirrored, trainableCount,
  trainStepFlop, type TrainBenchRow,
} from '../../src/bench/bench-train';
import { estimateFlops } from '../../src/core/models/model-config';
import { ConfigError } from '../../src/core/errors';
import { PAPER_PRESET, presetConfig } from '../../src/core/train/presets';
import { resolveRunConfig, type RunConfig } from '../../src/core/train/run-config';
import { buildModel } from '../../src/core/train/trainer';
import { webgpuSkipReason } from '../helpers/webgpu';

const TINY_MODEL = {
  image: { name: 'cnn-small', imageSize: 32, widths: [4, 8, 8, 16], blocks: [1, 0, 1, 1] },
  text: { layers: 1, hidden: 16, heads: 2, intermediate: 32, maxLength: 12 },
  projDim: 8,
  maxWords: 8,
  headHidden: 16,
};

function tiny(method: string, methodCfg: Record<string, unknown> = {}, model: Record<string, unknown> = TINY_MODEL): RunConfig {
  return resolveRunConfig({ model, text: { vocabSize: 40 }, train: { batchSize: 4 }, method: methodCfg }, method);
}

const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 }).status === 0;

test('benchTokenizer has exactly the requested vocabulary size', () => {
  assert.equal(benchTokenizer(40).vocabSize, 40);
  assert.equal(benchTokenizer(2000).vocabSize, 2000);
});

test('synthetic batch: [CLS]/[SEP] map to no word, words are contiguous and capped at maxWords', () => {
  const cfg = tiny('reclf');
  const hb = syntheticHostBatch(cfg, 40, 3);
  const B = 4;
  const T = 12;
  assert.equal(hb.pixels.length, B * 32 * 32);
  assert.equal(hb.inputIds.length, B * T);
  assert.ok(hb.attentionMask.every((m) => m === 1));
  assert.ok(hb.inputIds.every((id) => id >= 5 && id < 40), 'ids are ordinary tokens of the vocabulary');
  for (let b = 0; b < B; b++) {
    const row = Array.from(hb.wordIndex.subarray(b * T, (b + 1) * T));
    assert.equal(row[0], -1);
    assert.equal(row[T - 1], -1);
    assert.equal(row[1], 0);
    const words = row.slice(1, T - 1).filter((w) => w >= 0);
    for (let i = 1; i < words.length; i++) assert.ok(words[i] === words[i - 1] || words[i] === words[i - 1] + 1);
    assert.ok(Math.max(...words) < 8);
    // With 1-3 pieces per word, 10 inner pieces hold at least 4 words.
    assert.ok(new Set(words).size >= 4);
  }
  assert.deepEqual(syntheticHostBatch(cfg, 40, 3).wordIndex, hb.wordIndex, 'deterministic per seed');
});

test('trainStepFlop is three forward passes of the encoders and heads', () => {
  const cfg = tiny('reclf');
  assert.equal(trainStepFlop(cfg), 3 * estimateFlops(cfg.model, 4).batchMFlop * 1e6);
  assert.ok(trainStepFlop(cfg) > 0);
});

for (const backend of ['wasm', 'cpu']) {
  test(`benchTrainActive times real trainer steps on ${backend}`, async () => {
    await initBackend(backend);
    const cfg = tiny('reclf');
    // Each step's loss is read and disposed: what stays behind (if anything) does not grow with steps.
    const left = async (steps: number): Promise<number> => {
      const before = tf.memory().numTensors;
      await benchTrainActive(cfg, backend, { steps, warmup: 0, seed: 0 });
      return tf.memory().numTensors - before;
    };
    assert.equal(await left(3), await left(1), 'no tensor left behind per step');
    const row = await benchTrainActive(cfg, backend, { steps: 2, warmup: 1, seed: 0 });
    assert.equal(row.backend, backend);
    assert.equal(row.method, 'reclf');
    assert.equal(row.preset, 'default');
    assert.equal(row.steps, 2);
    assert.equal(row.batch, 4);
    assert.ok(Number.isFinite(row.loss) && row.loss > 0, `loss ${row.loss}`);
    assert.ok(row.stepMsMedian > 0);
    assert.ok(Math.abs(row.imagesPerS - 4000 / row.stepMsMedian) < 1e-9);
    assert.ok(Math.abs(row.gflops - trainStepFlop(cfg) / (row.stepMsMedian * 1e6)) < 1e-12);
    const tok = benchTokenizer(40);
    const built = buildModel(benchConfig(cfg, tok), tok);
    assert.equal(row.params, trainableCount(built));
    built.params.dispose();
    // Weights and AdamW's two moments are live through every step; activations add to that.
    assert.ok(row.peakTensorMB !== undefined && row.peakTensorMB * 2 ** 20 >= 3 * 4 * row.params, `peak ${row.peakTensorMB} MiB`);
    assert.equal(row.gpuMB, undefined, 'no GPU allocator on a CPU backend');
    assert.equal(gpuAllocatedBytes(), undefined);
  });
}

test('benchTrainActive on webgpu awaits each step and reports the buffer manager\'s GPU memory', { timeout: 300_000 }, async (t) => {
  const why = await webgpuSkipReason();
  if (why) return t.skip(why);
  await initBackend('webgpu');
  const row = await benchTrainActive(tiny('convirt'), 'webgpu', { steps: 2, warmup: 1, seed: 0 }, 'paper');
  for (const r of [row]) {
    assert.equal(r.preset, 'paper');
    assert.equal(r.backend, 'webgpu');
    assert.ok(Number.isFinite(r.loss) && r.loss > 0, `loss ${r.loss}`);
    assert.ok(r.stepMsMedian > 0);
    assert.ok(r.peakTensorMB !== undefined && r.peakTensorMB > 0);
    assert.ok(r.gpuMB !== undefined && r.gpuMB > 0, `GPU MB ${r.gpuMB}`);
  }
  await initBackend('cpu');
});

test('TensorPeak sees a peak between samples and restores the engine counter', async () => {
  await initBackend('cpu');
  const peak = new TensorPeak();
  assert.ok(peak.exact, 'the engine counter can be watched');
  const base = tf.memory().numBytes;
  tf.tidy(() => { tf.add(tf.ones([1000]), 1); });
  assert.equal(tf.memory().numBytes, base);
  assert.ok(peak.peak >= base + 2 * 4000, `peak ${peak.peak} vs base ${base}`);
  peak.reset();
  assert.equal(peak.peak, base);
  peak.stop();
  const d = Object.getOwnPropertyDescriptor(tf.engine().state, 'numBytes');
  assert.ok(d && 'value' in d && d.writable, 'a plain data property again');
  const t = tf.ones([10]);
  assert.equal(tf.memory().numBytes, base + 40);
  t.dispose();
  assert.equal(peak.peak, base, 'no longer tracking');
});

test('the paper preset: ResNet-50 at 224 px, BERT-base, batch 48, over any config', () => {
  const cfg = resolveRunConfig(mergeRaw({}, presetOverride('paper')), 'reclf');
  assert.equal(cfg.model.image.name, 'resnet50');
  assert.equal(cfg.model.image.imageSize, 224);
  assert.deepEqual(
    { layers: cfg.model.text.layers, hidden: cfg.model.text.hidden, heads: cfg.model.text.heads, intermediate: cfg.model.text.intermediate },
    { layers: 12, hidden: 768, heads: 12, intermediate: 3072 },
  );
  assert.equal(cfg.train.batchSize, 48);
  assert.equal(cfg.text.vocabSize, PAPER_PRESET.text.vocabSize);
  // A few TFLOP per step (ResNet-50 ~8 GFLOP and BERT-base at 112 pieces ~20 GFLOP forward per pair).
  const tflop = trainStepFlop(cfg) / 1e12;
  assert.ok(tflop > 2.5 && tflop < 6, `${tflop} TFLOP`);
  // The default preset changes nothing; a user config keeps what the preset does not set.
  assert.deepEqual(presetOverride('default'), {});
  const user = { method: { tau: 0.2 }, train: { lr: 1e-4, batchSize: 8 }, model: { projDim: 64 } };
  const merged = resolveRunConfig(mergeRaw(user, presetOverride('paper')), 'convirt');
  assert.equal(merged.method.tau, 0.2);
  assert.equal(merged.train.lr, 1e-4);
  assert.equal(merged.train.batchSize, 48);
  assert.equal(merged.model.projDim, 128);
  assert.equal(merged.model.image.name, 'resnet50');
  assert.deepEqual(user.train, { lr: 1e-4, batchSize: 8 }, 'the raw config is not mutated');
  assert.throws(() => presetOverride('huge'), /cannot be benchmarked/);
  // No PyTorch mirror of the grounding preset's switches: its column would time another model.
  assert.throws(() => presetOverride('grounding'), /cannot be benchmarked against PyTorch/);
});

test('the PyTorch peer refuses a method switch its mirror does not implement, naming it, instead of timing another model', () => {
  const reclf = (method: Record<string, unknown>) => resolveRunConfig(mergeRaw({}, { method: { name: 'reclf', ...method } }), 'reclf');
  assert.equal(torchUnmirrored(reclf({})), undefined);
  assert.equal(torchUnmirrored(reclf({ reading: 'within', irm: 'sigmoid', matching: 'concat' })), undefined);
  assert.equal(torchUnmirrored(reclf({ irm: 'lse', score: 'cosine', srm: false, learnTemperature: true })), undefined);
  assert.equal(torchUnmirrored(resolveRunConfig(mergeRaw({}, presetOverride('paper')), 'gloria')), undefined);
  assert.match(torchUnmirrored(reclf({ attention: 'cosine', gamma1: 10 })) ?? '', /does not mirror method\.attention = "cosine" \(mirrored: "gloria"\)/);
  assert.match(torchUnmirrored(reclf({ srmStage: 'spatial', irm: 'lse', score: 'cosine' })) ?? '', /method\.srmStage = "spatial"/);
  assert.match(torchUnmirrored(reclf({ locationSwap: 'other-report' })) ?? '', /method\.locationSwap/);
  assert.match(torchUnmirrored(reclf({ relationBalance: 3 })) ?? '', /method\.relationBalance = 3/);
  const noPositions = reclf({});
  assert.match(torchUnmirrored({ ...noPositions, model: { ...noPositions.model, text: { ...noPositions.model.text, localLayer: 0, localPositions: false } } }) ?? '', /model\.text\.localPositions = false/);
  assert.match(torchUnmirrored(resolveRunConfig(mergeRaw({}, {}), 'mlip')) ?? '', /no mirror of 'mlip'/);
  // The grounding preset's config (as `reclf train --preset grounding` resolves it) is one of them.
  const grounding = resolveRunConfig(mergeRaw({}, presetConfig('grounding')), 'reclf');
  assert.match(torchUnmirrored(grounding) ?? '', /does not mirror method\./);
  // The refusal comes before any Python runs, and the --torch-job path refuses alike.
  assert.match(benchTrainTorch(grounding, { steps: 1, warmup: 0, seed: 0 }, { python: '/nonexistent/python' }).error ?? '', /^PyTorch peer: .*does not mirror/);
  assert.throws(() => torchTrainJob(grounding, { steps: 1, warmup: 0, seed: 0 }), (e: unknown) => e instanceof ConfigError && /does not mirror method\./.test(e.message));
});

test('the PyTorch job carries the preset\'s architecture and batch', () => {
  const cfg = resolveRunConfig(mergeRaw({}, presetOverride('paper')), 'reclf');
  const job = torchTrainJob(cfg, { steps: 1, warmup: 0, seed: 0 });
  assert.equal(job.batch, 48);
  assert.equal(job.vocabSize, 28996);
  assert.equal(job.config.model.text.vocabSize, 28996);
  assert.equal(job.wordIndex.length, 48 * 112);
  assert.equal(torchBackendLabel('cuda', 2), 'torch(cuda)');
  assert.equal(torchBackendLabel('cpu', 2), 'torch(2)');
});

test('scripts/bench/torch_train.py --help works without torch and documents --device', () => {
  const script = torchTrainScriptPath();
  assert.ok(script && path.basename(script) === 'torch_train.py', 'found from src/bench');
  const r = spawnSync('python3', [script!, '--help'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return; // no python3 on PATH
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /--device \{cpu,cuda\}/);
  assert.match(r.stdout, /--job FILE/);
  assert.match(r.stdout, /max_memory_allocated/);
});

test('the paper preset\'s PyTorch mirror has exactly the TS model\'s parameters (ResNet-50 + BERT-base)', { skip: torchOk ? false : 'PyTorch unavailable (/usr/bin/python3 -c "import torch" failed)', timeout: 300_000 }, async () => {
  await initBackend('cpu');
  const cfg = resolveRunConfig(mergeRaw({}, presetOverride('paper')), 'reclf');
  const r = torchParamCounts([cfg]);
  assert.equal(r.error, undefined);
  const tok = benchTokenizer(cfg.text.vocabSize, cfg.text.lowerCase);
  const built = buildModel(benchConfig(cfg, tok), tok);
  const trainable = trainableCount(built);
  assert.ok(trainable > 140e6, `${trainable} parameters`);
  assert.deepEqual(r.counts![0], { params: trainable, buffers: built.params.count() - trainable });
  built.params.dispose();
});

test('formatTrainTable puts each backend next to the PyTorch row of its method', () => {
  const mk = (backend: string, ms: number, preset = 'default', mem: Partial<TrainBenchRow> = {}): TrainBenchRow => ({
    method: 'reclf', preset, backend, batch: 32, imageSize: 128, params: 1000, steps: 5, stepMsMedian: ms, imagesPerS: 32000 / ms,
    gflopPerStep: 10, gflops: 10 / (ms / 1000), loss: 1, ...mem,
  });
  const lines = formatTrainTable([
    mk('wasm', 3000, 'default', { peakTensorMB: 123.4 }), mk('torch(2)', 1000),
    mk('webgpu', 200, 'paper', { peakTensorMB: 20480, gpuMB: 30000.2 }), mk('torch(cuda)', 100, 'paper', { peakTensorMB: 9000, gpuMB: 9500 }),
  ]).split('\n');
  assert.equal(lines.length, 5);
  assert.match(lines[0], /^method\s+preset\s+backend\s+batch.*GFLOP\/s\s+peak MB\s+GPU MB\s+vs torch$/);
  assert.match(lines[1], /^reclf\s+default\s+wasm\s+32x128px.*3000\s+10\.7\s+3\.3\s+123\s+-\s+3\.0x$/);
  assert.match(lines[2], /torch\(2\).*-\s+-\s+1\.0x$/);
  assert.match(lines[3], /^reclf\s+paper\s+webgpu.*20,480\s+30,000\s+2\.0x$/, 'ratio to the torch row of the same preset');
  assert.match(lines[4], /torch\(cuda\).*9,000\s+9,500\s+1\.0x$/);
});

test('the PyTorch mirror has exactly the TS model\'s parameters and BatchNorm buffers', { skip: torchOk ? false : 'PyTorch unavailable (/usr/bin/python3 -c "import torch" failed)', timeout: 120_000 }, async () => {
  await initBackend('cpu');
  const configs = [
    tiny('reclf'),
    tiny('reclf', { reading: 'cross', matching: 'concat', irm: 'sigmoid', learnTemperature: true, srmRounds: 3 }),
    tiny('reclf', { reading: 'within' }),
    tiny('reclf', { irm: 'lse', srm: false }),
    tiny('gloria'),
    // The grounding preset's model switches: stage-2 regions pooled to stage 3's grid, a learned position per cell, embedding-level words.
    tiny('gloria', {}, { ...TINY_MODEL, image: { ...TINY_MODEL.image, localStage: 2 }, regionPositions: true, text: { ...TINY_MODEL.text, localLayer: 0 } }),
    tiny('mgca', { prototypes: 10 }),
    tiny('convirt'),
    tiny('convirt', {}, { ...TINY_MODEL, image: { name: 'vit-tiny', imageSize: 32, patchSize: 8, depth: 1 } }),
    tiny('convirt', {}, { ...TINY_MODEL, image: { name: 'resnet18', imageSize: 32 } }),
  ];
  const r = torchParamCounts(configs);
  assert.equal(r.error, undefined);
  const counts = r.counts!;
  configs.forEach((cfg, i) => {
    const tok = benchTokenizer(cfg.text.vocabSize);
    const built = buildModel(benchConfig(cfg, tok), tok);
    const trainable = trainableCount(built);
    const label = `${cfg.method.name} ${JSON.stringify(cfg.method)} ${cfg.model.image.name}`;
    assert.equal(counts[i].params, trainable, `trainable parameters: ${label}`);
    assert.equal(counts[i].buffers, built.params.count() - trainable, `running statistics: ${label}`);
    built.params.dispose();
  });
});
