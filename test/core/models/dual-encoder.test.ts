import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DualEncoder, type ModelBatch } from '../../../src/core/models/dual-encoder';
import { defaultModelConfig, type ModelConfig } from '../../../src/core/models/model-config';
import { ParamStore } from '../../../src/core/models/params';
import { Rng } from '../../../src/core/rng';

// The default model's parameters do not depend on the image size (cnn-small is fully
// convolutional), so tests run it at 64 px to keep the cpu backend's conv gradients quick.
function testConfig(): ModelConfig {
  const cfg = defaultModelConfig();
  cfg.image.imageSize = 64;
  return cfg;
}

// Two reports, T = 8: [CLS] w0 w1 ##w1 w2 [SEP] pad pad / [CLS] w0 w1 [SEP] pad pad pad pad
function makeBatch(cfg: ModelConfig): ModelBatch {
  const T = 8;
  return {
    pixels: tf.randomNormal([2, cfg.image.imageSize, cfg.image.imageSize, 1], 0, 1, 'float32', 11) as tf.Tensor4D,
    inputIds: tf.tensor2d([[2, 40, 41, 42, 43, 3, 0, 0], [2, 50, 51, 3, 0, 0, 0, 0]], [2, T], 'int32'),
    attentionMask: tf.tensor2d([[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0]], [2, T]),
    wordIndex: Int32Array.from([-1, 0, 1, 1, 2, -1, -1, -1, -1, 0, 1, -1, -1, -1, -1, -1]),
  };
}

function withModel<T>(cfg: ModelConfig, seed: number, fn: (m: DualEncoder, ps: ParamStore) => T): T {
  const ps = new ParamStore(new Rng(seed));
  try {
    return fn(new DualEncoder(cfg, ps), ps);
  } finally {
    ps.dispose();
  }
}

test('dual encoder: AlignInputs shapes, word mask and per-word [CLS] attention', async () => {
  await tf.setBackend('cpu');
  const cfg = testConfig();
  withModel(cfg, 1, (m) => {
    const out = m.forward(makeBatch(cfg), false);
    const D = cfg.projDim;
    const N = cfg.maxWords;
    assert.deepEqual(m.grid, [4, 4]);
    assert.deepEqual(out.regions.shape, [2, 16, D]);
    assert.deepEqual(out.imageGlobal.shape, [2, D]);
    assert.deepEqual(out.words.shape, [2, N, D]);
    assert.deepEqual(out.textGlobal.shape, [2, D]);
    assert.deepEqual(out.wordMask.shape, [2, N]);
    const mask = out.wordMask.arraySync() as number[][];
    assert.deepEqual(mask[0].slice(0, 4), [1, 1, 1, 0]);
    assert.deepEqual(mask[1].slice(0, 3), [1, 1, 0]);
    assert.equal(mask[0].reduce((a, b) => a + b, 0), 3);
    const att = out.clsAttention!.arraySync() as number[][];
    assert.ok(att[0].slice(3).every((v) => v === 0), 'no weight on empty word slots');
    assert.ok(att[0][1] > 0);
    // [CLS] and [SEP] are no words, so per-word weights sum to less than 1.
    assert.ok(att[0].reduce((a, b) => a + b, 0) < 1);
    assert.equal(m.pendingBatchNormUpdates(), 0, 'eval mode records no BN updates');
  });
});

test('dual encoder: gradients reach every trainable parameter; BN updates apply after the step', async () => {
  await tf.setBackend('cpu');
  const cfg = testConfig();
  withModel(cfg, 2, (m, ps) => {
    const batch = makeBatch(cfg);
    const D = cfg.projDim;
    // Fixed random read-outs: a plain sum of a BN(affine=false) output is 0 whatever the input.
    const r = (shape: number[], seed: number): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed);
    const wr = r([2, 16, D], 1);
    const wi = r([2, D], 2);
    const ww = r([2, cfg.maxWords, D], 3);
    const wt = r([2, D], 4);
    const wa = r([2, cfg.maxWords], 5);
    const { value, grads } = tf.variableGrads(() => {
      const o = m.forward(batch, true);
      const words = tf.mul(o.words, tf.expandDims(o.wordMask, 2));
      return tf.addN([
        tf.sum(tf.mul(o.regions, wr)),
        tf.sum(tf.mul(o.imageGlobal, wi)),
        tf.sum(tf.mul(words, ww)),
        tf.sum(tf.mul(o.textGlobal, wt)),
        tf.sum(tf.mul(o.clsAttention!, wa)),
      ]) as tf.Scalar;
    }, ps.trainable());
    assert.ok(Number.isFinite(value.dataSync()[0]));
    const names = ps.trainableNames();
    assert.equal(Object.keys(grads).length, names.length);
    for (const name of names) {
      const g = grads[name];
      assert.ok(g, `no gradient for ${name}`);
      const data = g.dataSync();
      assert.ok(data.every(Number.isFinite), `non-finite gradient for ${name}`);
      assert.ok(data.some((v) => v !== 0), `zero gradient for ${name}`);
    }
    assert.ok(!names.some((n) => n.includes('running_')), 'running statistics are not trainable');
    // 12 backbone BNs + 4 heads x 2 BNs, each recorded once.
    assert.equal(m.pendingBatchNormUpdates(), 20);
    const rm = ps.get('img_encoder.global_embed.head.4.running_mean');
    assert.ok(rm.dataSync().every((v) => v === 0));
    m.applyBatchNormUpdates();
    assert.equal(m.pendingBatchNormUpdates(), 0);
    assert.ok(rm.dataSync().some((v) => v !== 0));
  });
});

test('dual encoder: parameter names follow torchvision-like / HF / MGCA prefixes', async () => {
  await tf.setBackend('cpu');
  withModel(testConfig(), 3, (_m, ps) => {
    for (const name of [
      'img_encoder.model.stem.0.weight',
      'img_encoder.model.stages.2.blocks.0.bn2.running_var',
      'img_encoder.local_embed.head.0.weight',
      'img_encoder.global_embed.head.4.running_mean',
      'text_encoder.model.embeddings.word_embeddings.weight',
      'text_encoder.model.encoder.layer.1.output.LayerNorm.bias',
      'text_encoder.local_embed.head.3.bias',
    ]) {
      assert.ok(ps.has(name), name);
    }
    assert.ok(!ps.has('img_encoder.global_embed.head.4.weight'), 'final BN has no affine parameters');
  });
});

test('dual encoder: a fixed seed gives identical parameters and outputs', async () => {
  await tf.setBackend('cpu');
  const cfg = testConfig();
  const run = (seed: number): number[] =>
    withModel(cfg, seed, (m) => {
      const o = m.forward(makeBatch(cfg), false);
      return [...Array.from(o.regions.dataSync().slice(0, 64)), ...Array.from(o.words.dataSync().slice(0, 64)), ...Array.from(o.textGlobal.dataSync())];
    });
  const a = run(7);
  const b = run(7);
  const c = run(8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('dual encoder: text variants are encoded in the same pass, each as if alone, and leave the batch as it was', async () => {
  await tf.setBackend('cpu');
  const cfg = testConfig();
  withModel(cfg, 3, (m) => {
    const batch = makeBatch(cfg);
    // Report 0 with words 0 and 2 trading tokens: [CLS] w2 w1 ##w1 w0 [SEP].
    const variant = { inputIds: [2, 43, 41, 42, 40, 3, 0, 0], attentionMask: [1, 1, 1, 1, 1, 1, 0, 0], wordIndex: [-1, 0, 1, 1, 2, -1, -1, -1] };
    const plan = { source: Int32Array.from({ length: 2 * cfg.maxWords }, (_, k) => k), reports: [0] };
    const withVariants = m.forward({
      ...batch,
      textVariants: { inputIds: tf.tensor2d([variant.inputIds], [1, 8], 'int32'), attentionMask: tf.tensor2d([variant.attentionMask], [1, 8]), wordIndex: Int32Array.from(variant.wordIndex), plan },
    }, false);
    const plain = m.forward(batch, false);
    closeTo(withVariants.words, plain.words, 'batch words');
    closeTo(withVariants.textGlobal, plain.textGlobal, 'batch report embeddings');
    assert.deepEqual(Array.from(withVariants.wordMaskValues!), Array.from(plain.wordMaskValues!));
    assert.deepEqual(withVariants.textVariants?.plan.reports, [0]);
    const alone = m.encodeText({ inputIds: tf.tensor2d([variant.inputIds], [1, 8], 'int32'), attentionMask: tf.tensor2d([variant.attentionMask], [1, 8]), wordIndex: Int32Array.from(variant.wordIndex) }, false);
    closeTo(withVariants.textVariants!.words, alone.words, 'variant words');
    // Position embeddings make a word's features depend on where it stands: the variant's word 0
    // (w2's token at w0's place) is not report 0's word 2.
    const v = withVariants.textVariants!.words.arraySync() as number[][][];
    const w = plain.words.arraySync() as number[][][];
    assert.ok(v[0][0].some((x, d) => Math.abs(x - w[0][2][d]) > 1e-3), 'a moved token takes its new position');
  });
});

function closeTo(a: tf.Tensor, b: tf.Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, what);
  const x = a.dataSync(), y = b.dataSync();
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) < 1e-4, `${what}[${i}]: ${x[i]} vs ${y[i]}`);
}
