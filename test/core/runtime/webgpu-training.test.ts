// The webgpu tier (Dawn; Mesa's software llvmpipe in CI): every method and encoder computes the
// same loss and gradients as the cpu backend, trains, and holds its memory steady. Skips with the
// reason where no WebGPU adapter is found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { readAll } from '../../../src/core/runtime/host-read';
import { RunAhead } from '../../../src/core/runtime/run-ahead';
import { AdamW } from '../../../src/core/train/adamw';
import { buildModel, trainStep } from '../../../src/core/train/trainer';
import { disposeModelBatch, toModelBatch, type HostBatch } from '../../../src/core/train/batches';
import type { RunConfig } from '../../../src/core/train/run-config';
import { hostBatch, makeFixture, smallConfig, useBackend, webgpuSkipReason, type Fixture } from '../../helpers/webgpu';

const BATCH = 4;
const TOL = 1e-3;

interface LossAndGrads {
  loss: number;
  grads: Map<string, Float32Array>;
}

async function lossAndGrads(backend: 'cpu' | 'wasm' | 'webgpu', fx: Fixture, config: RunConfig, hb: HostBatch, imageBatchStats = true): Promise<LossAndGrads> {
  await useBackend(backend);
  const built = buildModel(config, fx.tokenizer);
  const size = config.model.image.imageSize;
  const T = config.model.text.maxLength;
  const batch = toModelBatch(hb, size, T);
  try {
    // Methods create some parameters on first use (as in the trainer's warm-up).
    tf.tidy(() => { built.method.loss(built.model.forward(batch, false), { training: false, step: 0 }); });
    const vars = built.params.trainable();
    const forward = () => (imageBatchStats
      ? built.model.forward(batch, true)
      : { ...built.model.encodeImage(batch.pixels, false), ...built.model.encodeText(batch, true) });
    const { value, grads } = tf.variableGrads(() => built.method.loss(forward(), { training: true, step: 0 }).loss, vars);
    const names = vars.map((v) => v.name).filter((n) => grads[n]);
    const data = await readAll([value, ...names.map((n) => grads[n])]);
    tf.dispose([value, ...Object.values(grads)]);
    built.model.discardBatchNormUpdates();
    return { loss: data[0][0], grads: new Map(names.map((n, k) => [n, data[k + 1]])) };
  } finally {
    disposeModelBatch(batch);
    built.params.dispose();
  }
}

function norm(a: Float32Array): number {
  let s = 0;
  for (const x of a) s += x * x;
  return Math.sqrt(s);
}

function diffNorm(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** Relative differences: loss, all gradients together, and the worst parameter among those carrying >= 1% of the largest gradient norm. */
function compare(cpu: LossAndGrads, gpu: LossAndGrads): { loss: number; global: number; worst: number; worstName: string } {
  assert.deepEqual([...gpu.grads.keys()].sort(), [...cpu.grads.keys()].sort(), 'same parameters get gradients');
  let num = 0;
  let den = 0;
  const largest = Math.max(...[...cpu.grads.values()].map(norm));
  let worst = 0;
  let worstName = '';
  for (const [name, g] of cpu.grads) {
    const d = diffNorm(g, gpu.grads.get(name)!);
    const n = norm(g);
    num += d * d;
    den += n * n;
    if (n >= 0.01 * largest && d / n > worst) { worst = d / n; worstName = name; }
  }
  return { loss: Math.abs(gpu.loss - cpu.loss) / Math.max(Math.abs(cpu.loss), 1e-6), global: Math.sqrt(num / den), worst, worstName };
}

const METHODS: [string, Record<string, unknown>][] = [
  ['convirt', { name: 'convirt' }],
  ['gloria', { name: 'gloria' }],
  ['mgca', { name: 'mgca' }],
  ['reclf', { name: 'reclf' }],
  ['reclf srm off', { name: 'reclf', srm: false }],
  ['reclf irm uniform', { name: 'reclf', irm: 'uniform' }],
  ['reclf within reading, concat matching', { name: 'reclf', reading: 'within', matching: 'concat' }],
  ['reclf learned temperature', { name: 'reclf', learnTemperature: true }],
  ['mlip', { name: 'mlip' }],
  ['mlip-no-div', { name: 'mlip-no-div' }],
  ['mlip-no-knowledge', { name: 'mlip-no-knowledge' }],
  ['mlip-no-category', { name: 'mlip-no-category' }],
];

interface CaseOptions {
  /** Batch of the comparison (default BATCH). */
  batch?: number;
  /**
   * The reference backend: cpu, except for the ResNets, where the cpu backend's pure-JS convolution
   * gradients take 70-110 s for one step at 64 px; wasm (XNNPACK, itself tested against cpu in
   * wasm-kernels.test.ts) takes a few seconds.
   */
  reference?: 'cpu' | 'wasm';
  /** Model overrides and batch for the 20 training steps, when smaller than the comparison's (llvmpipe time). */
  trainModel?: Record<string, unknown>;
  trainBatch?: number;
  /**
   * false: the image side's BatchNorms use running statistics in the comparison (the 20 training
   * steps still use batch statistics). For the ResNets: with batch statistics over the few values
   * per channel their last stages see at a test-sized input, float32 rounding differences between
   * any two backends are amplified (ResNet-50: 4e-2 between wasm and webgpu at 64 px, batch 4;
   * ResNet-18: 0.9 at 32 px, batch 2; while every convolution's gradients agree to 1e-6); the
   * batch-statistics gradient is compared on cnn-small, whose stages see more values.
   */
  imageBatchStats?: boolean;
}

const ENCODERS: [string, Record<string, unknown>, CaseOptions][] = [
  ['resnet18', { image: { name: 'resnet18', imageSize: 64 } }, { reference: 'wasm', imageBatchStats: false, trainModel: { image: { name: 'resnet18', imageSize: 32 } }, trainBatch: 2 }],
  ['resnet50', { image: { name: 'resnet50', imageSize: 64 } }, { reference: 'wasm', imageBatchStats: false, trainModel: { image: { name: 'resnet50', imageSize: 32 } }, trainBatch: 2 }],
  ['vit-tiny', { image: { name: 'vit-tiny', imageSize: 32, patchSize: 16, depth: 2 } }, {}],
  ['vit-small', { image: { name: 'vit-small', imageSize: 32, patchSize: 16, depth: 2 } }, {}],
  ['BERT 2 layers, dropout 0.1', { text: { layers: 2, hidden: 64, heads: 4, intermediate: 128, maxLength: 40, dropout: 0.1 } }, {}],
];

let fixture: Fixture | undefined;
async function fx(): Promise<Fixture> {
  fixture ??= await makeFixture();
  return fixture;
}

function withModel(f: Fixture, method: Record<string, unknown>, model: Record<string, unknown>): RunConfig {
  const base = smallConfig(f, method);
  return smallConfig(f, method, { ...model, text: { ...base.model.text, ...((model.text as object) ?? {}) } });
}

function parityCase(label: string, method: Record<string, unknown>, model: Record<string, unknown>, o: CaseOptions = {}): void {
  const reference = o.reference ?? 'cpu';
  test(`webgpu = ${reference} (loss, gradients) and the loss falls over 20 steps: ${label}`, async (t) => {
    const skip = await webgpuSkipReason();
    if (skip) { t.skip(skip); return; }
    const f = await fx();
    const config = withModel(f, method, model);
    const needsEntities = String(method.name).startsWith('mlip');
    const hb = await hostBatch(f, config, o.batch ?? BATCH, needsEntities);
    const cpu = await lossAndGrads(reference, f, config, hb, o.imageBatchStats ?? true);
    const gpu = await lossAndGrads('webgpu', f, config, hb, o.imageBatchStats ?? true);
    const r = compare(cpu, gpu);
    t.diagnostic(`loss ${cpu.loss.toFixed(5)} vs ${gpu.loss.toFixed(5)}: rel ${r.loss.toExponential(2)}; gradients rel ${r.global.toExponential(2)}, worst ${r.worst.toExponential(2)} (${r.worstName})`);
    assert.ok(r.loss <= TOL, `loss relative difference ${r.loss}`);
    assert.ok(r.global <= TOL, `gradient relative difference ${r.global}`);
    assert.ok(r.worst <= 10 * TOL, `worst parameter gradient relative difference ${r.worst} (${r.worstName})`);

    // 20 steps on webgpu on this batch: the loss falls.
    const trainConfig = o.trainModel ? withModel(f, method, o.trainModel) : config;
    const trainBatch = o.trainModel || o.trainBatch ? await hostBatch(f, trainConfig, o.trainBatch ?? o.batch ?? BATCH, needsEntities) : hb;
    await useBackend('webgpu');
    const built = buildModel(trainConfig, f.tokenizer);
    const t0 = trainConfig.train;
    const opt = new AdamW({ beta1: t0.beta1, beta2: t0.beta2, eps: t0.eps, weightDecay: t0.weightDecay });
    const losses: number[] = [];
    const runAhead = new RunAhead();
    try {
      for (let step = 0; step < 20; step++) {
        const loss = trainStep(built, opt, trainBatch, { lr: 3e-3, clipNorm: t0.clipNorm, step, imageSize: trainConfig.model.image.imageSize, maxLength: trainConfig.model.text.maxLength }).loss;
        // The first and last three: with dropout one step's loss is one random mask's, so the trend is read from means.
        if (step < 3 || step >= 17) losses.push((await loss.data())[0]);
        loss.dispose();
        await runAhead.step();
      }
    } finally {
      built.params.dispose();
      opt.dispose();
    }
    const mean = (v: number[]): number => v.reduce((x, y) => x + y, 0) / v.length;
    const [head, tail] = [mean(losses.slice(0, 3)), mean(losses.slice(3))];
    t.diagnostic(`webgpu loss steps 1-3 ${head.toFixed(4)} -> steps 18-20 ${tail.toFixed(4)}`);
    assert.ok(Number.isFinite(tail) && tail < head, `loss did not fall: ${losses}`);
  });
}

for (const [label, method] of METHODS) parityCase(label, method, {});
for (const [label, model, o] of ENCODERS) parityCase(`${label} (reclf)`, { name: 'reclf' }, model, o);

test('webgpu memory does not grow: tf.memory() after step 10 equals after step 60', async (t) => {
  const skip = await webgpuSkipReason();
  if (skip) { t.skip(skip); return; }
  const f = await fx();
  const config = smallConfig(f, { name: 'reclf' });
  // Batch 2 and 50 steps after the warm-up: a leak of one tensor per step shows as 50 tensors, and
  // neither the batch nor more steps change that; steps on llvmpipe are the cost.
  const hb = await hostBatch(f, config, 2, false);
  await useBackend('webgpu');
  const built = buildModel(config, f.tokenizer);
  const c = config.train;
  const opt = new AdamW({ beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay });
  let at10: tf.MemoryInfo | undefined;
  const runAhead = new RunAhead();
  try {
    for (let step = 1; step <= 60; step++) {
      const loss = trainStep(built, opt, hb, { lr: 1e-3, clipNorm: c.clipNorm, step, imageSize: config.model.image.imageSize, maxLength: config.model.text.maxLength }).loss;
      // A logged step's read, as the trainer does every logEvery steps.
      if (step % 5 === 0) await loss.data();
      loss.dispose();
      await runAhead.step();
      if (step === 10) at10 = tf.memory();
    }
    const atEnd = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    const ten = at10 as tf.MemoryInfo & { numBytesInGPU?: number };
    t.diagnostic(`step 10: ${ten.numTensors} tensors, ${ten.numBytes} B (GPU ${ten.numBytesInGPU}); step 60: ${atEnd.numTensors}, ${atEnd.numBytes} B (GPU ${atEnd.numBytesInGPU})`);
    assert.equal(atEnd.numTensors, ten.numTensors);
    assert.equal(atEnd.numBytes, ten.numBytes);
    if (ten.numBytesInGPU !== undefined) assert.equal(atEnd.numBytesInGPU, ten.numBytesInGPU);
  } finally {
    built.params.dispose();
    opt.dispose();
  }
});
