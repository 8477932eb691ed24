import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { initBackend } from '../../../src/core/runtime/backend';
import {
  benchConfig, benchTokenizer, benchTrainActive, formatTrainTable, syntheticHostBatch, torchParamCounts, trainableCount,
  trainStepFlop, type TrainBenchRow,
} from '../../../src/core/runtime/bench-train';
import { estimateFlops } from '../../../src/core/models/model-config';
import { resolveRunConfig, type RunConfig } from '../../../src/core/train/run-config';
import { buildModel } from '../../../src/core/train/trainer';

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
    const row = benchTrainActive(cfg, backend, { steps: 2, warmup: 1, seed: 0 });
    assert.equal(row.backend, backend);
    assert.equal(row.method, 'reclf');
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
  });
}

test('formatTrainTable puts each backend next to the PyTorch row of its method', () => {
  const mk = (backend: string, ms: number): TrainBenchRow => ({
    method: 'reclf', backend, batch: 32, imageSize: 128, params: 1000, steps: 5, stepMsMedian: ms, imagesPerS: 32000 / ms,
    gflopPerStep: 10, gflops: 10 / (ms / 1000), loss: 1,
  });
  const lines = formatTrainTable([mk('wasm', 3000), mk('torch(2)', 1000)]).split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0], /method\s+backend\s+batch/);
  assert.match(lines[1], /^reclf\s+wasm\s+32x128px.*3000\s+10\.7\s+3\.3\s+3\.0x$/);
  assert.match(lines[2], /torch\(2\).*1\.0x$/);
});

test('the PyTorch mirror has exactly the TS model\'s parameters and BatchNorm buffers', { skip: torchOk ? false : 'PyTorch unavailable (/usr/bin/python3 -c "import torch" failed)', timeout: 120_000 }, async () => {
  await initBackend('cpu');
  const configs = [
    tiny('reclf'),
    tiny('reclf', { reading: 'cross', matching: 'concat', irm: 'sigmoid', learnTemperature: true, srmRounds: 3 }),
    tiny('reclf', { reading: 'within' }),
    tiny('reclf', { irm: 'lse', srm: false }),
    tiny('gloria'),
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
