// Parity of the exported ONNX graphs (run by onnxruntime-node) with the TF.js eval-mode forward
// and explain, for every exportable method and every image encoder family, on tiny models.
import { imageEncoderMacs } from '../../../src/core/models/image-encoder';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../../src/core/runtime/backend';
import { exportModel, CONTRACT_OUTPUTS } from '../../../src/core/export/export-model';
import { ContractSession } from '../../../src/core/runtime/onnx-session';
import { maxRelDiff, tfReference, tinyBatch, tinyConfig, tinyModel, tinyTokenizer, TINY_MODEL, REPORTS } from './fixture';
import * as tf from '@tensorflow/tfjs-core';
import { defaultKnowledgeBase } from '../../../src/core/knowledge/kb';
import { reportEntityIds } from '../../../src/core/explain/explain';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-export-'));

before(async () => {
  await initBackend('cpu');
});

async function checkParity(label: string, method: string, methodCfg: Record<string, unknown>, model: Record<string, unknown> = TINY_MODEL, assign: Record<string, number[]> = {}): Promise<void> {
  const config = tinyConfig(method, methodCfg, model);
  const built = await tinyModel(config);
  // Parameters that start at zero (a bias) get values, or the export of their use goes untested.
  for (const [name, values] of Object.entries(assign)) built.params.get(name).assign(tf.tensor(values, built.params.get(name).shape));
  const tok = tinyTokenizer();
  const b = tinyBatch(config, tok);
  const ref = tfReference(built, b);
  const { bytes } = exportModel({ model: config.model, method: config.method, params: await built.params.toRecord(), tokenizer: tok });
  const file = path.join(tmp, `${label}.onnx`);
  fs.writeFileSync(file, bytes);
  const session = await ContractSession.open(file, { device: 'cpu' });
  try {
    const out = await session.run({
      batch: b.batch, pixels: b.pixels, imageSize: b.imageSize, seqLen: b.seqLen,
      inputIds: b.inputIds, attentionMask: b.attentionMask, wordIds: b.rawWordIds,
    });
    for (const name of CONTRACT_OUTPUTS) {
      const d = maxRelDiff(out[name].data, ref[name]);
      assert.ok(d <= 1e-4, `${label}: output ${name} differs from TF.js by ${d} (onnx ${Array.from(out[name].data.slice(0, 4))} vs tf ${Array.from(ref[name].slice(0, 4))})`);
    }
    assert.deepEqual(out.attention.dims, [2, config.model.maxWords, imageEncoderMacs(config.model.image).regions]);
    // Attention rows of real words are distributions over the regions.
    const m = out.attention.dims[2];
    for (let r = 0; r < 2; r++) {
      const s = out.attention.data.slice(r * m, (r + 1) * m).reduce((a, v) => a + v, 0);
      assert.ok(Math.abs(s - 1) < 1e-4, `${label}: attention row ${r} sums to ${s}`);
    }
  } finally {
    await session.close();
    built.params.dispose();
  }
}

test('convirt on cnn-small matches TF.js', () => checkParity('convirt', 'convirt', {}));
test('gloria on cnn-small matches TF.js', () => checkParity('gloria', 'gloria', {}));
test('mgca on cnn-small matches TF.js (clipped [CLS] word weights)', () => checkParity('mgca', 'mgca', { prototypes: 4 }));
test('reclf (cross, diff, SRM, softmax IRM, linear score) matches TF.js', () => checkParity('reclf', 'reclf', { mDim: 8 }));
test('reclf variants (within/concat/sigmoid, lse, lse-prior, SRM before attention, uniform, importance learned beside) match TF.js', async () => {
  await checkParity('reclf-within', 'reclf', { mDim: 8, reading: 'within', matching: 'concat', irm: 'sigmoid', srmRounds: 1 });
  await checkParity('reclf-lse', 'reclf', { mDim: 8, irm: 'lse', srm: false });
  await checkParity('reclf-lse-prior', 'reclf', { mDim: 8, irm: 'lse-prior', srm: false, score: 'cosine' });
  const offsets = [0.9, -0.4, 1.3, 0, 0.2, -1.1, 0.6];
  await checkParity('reclf-srm-query', 'reclf', { mDim: 8, srm: true, srmStage: 'query', srmRounds: 2, srmOffsets: 3, irm: 'lse', score: 'cosine' }, TINY_MODEL, {
    'align.reclf.srm.0.offset_bias': offsets, 'align.reclf.srm.1.offset_bias': offsets.map((v) => -v),
  });
  await checkParity('reclf-uniform', 'reclf', { mDim: 8, irm: 'uniform' });
  await checkParity('reclf-beside', 'reclf', { mDim: 8, srm: true, srmStage: 'query', srmRounds: 1, irm: 'beside', score: 'cosine' });
  await checkParity('reclf-beside-own', 'reclf', { mDim: 8, srm: true, srmStage: 'query', srmRounds: 1, irm: 'beside', importanceFrom: 'own', score: 'cosine' });
});
test('reclf with SRM on the attention maps (srmStage spatial) and cosine relation logits matches TF.js', async () => {
  const offsets = { 'align.reclf.srm.0.offset_bias': [0.9, -0.4, 1.3, 0, 0.2, -1.1, 0.6] };
  await checkParity('reclf-srm-spatial', 'reclf', { mDim: 8, srm: true, srmStage: 'spatial', srmOffsets: 3, attention: 'cosine', gamma1: 10, irm: 'lse', score: 'cosine' }, TINY_MODEL, offsets);
  await checkParity('reclf-srm-spatial-cosine', 'reclf', { mDim: 8, srm: true, srmStage: 'spatial', srmOffsets: 3, relationLogits: 'cosine', gammaR: 7, attention: 'cosine', gamma1: 10, irm: 'lse', score: 'cosine' }, TINY_MODEL, offsets);
  await checkParity('reclf-srm-query-cosine', 'reclf', { mDim: 8, srm: true, srmStage: 'query', srmRounds: 2, relationLogits: 'cosine', irm: 'lse', score: 'cosine' });
  await checkParity('reclf-srm-matching-cosine', 'reclf', { mDim: 8, relationLogits: 'cosine', gammaR: 5 });
});
test('reclf with a Sinkhorn-balanced relation (relationBalance), before attention and between the matching vectors, matches TF.js', async () => {
  await checkParity('reclf-srm-query-balance', 'reclf', { mDim: 8, srm: true, srmStage: 'query', srmRounds: 2, srmOffsets: 3, relationLogits: 'cosine', relationBalance: 3, irm: 'lse', score: 'cosine' }, TINY_MODEL, {
    'align.reclf.srm.0.offset_bias': [0.9, -0.4, 1.3, 0, 0.2, -1.1, 0.6], 'align.reclf.srm.1.offset_bias': [-0.9, 0.4, -1.3, 0, -0.2, 1.1, -0.6],
  });
  await checkParity('reclf-srm-matching-balance', 'reclf', { mDim: 8, relationBalance: 2 });
});
test('reclf with a fixed distance bias on the relation (srmLocality), before attention and on the attention maps, matches TF.js', async () => {
  await checkParity('reclf-srm-query-locality', 'reclf', { mDim: 8, srm: true, srmStage: 'query', srmRounds: 2, srmOffsets: 3, srmLocality: 0.8, relationLogits: 'cosine', irm: 'lse', score: 'cosine' }, TINY_MODEL, {
    'align.reclf.srm.0.offset_bias': [0.9, -0.4, 1.3, 0, 0.2, -1.1, 0.6], 'align.reclf.srm.1.offset_bias': [-0.9, 0.4, -1.3, 0, -0.2, 1.1, -0.6],
  });
  await checkParity('reclf-srm-spatial-locality', 'reclf', { mDim: 8, srm: true, srmStage: 'spatial', srmLocality: 1.5, relationLogits: 'cosine', attention: 'cosine', gamma1: 10, irm: 'lse', score: 'cosine' });
});
test("reclf scoring each word's own feature against the context its SRM-reasoned query attended (scoreWords own) matches TF.js", async () => {
  await checkParity('reclf-srm-query-own', 'reclf', { mDim: 8, srm: true, srmStage: 'query', srmRounds: 2, srmOffsets: 3, relationLogits: 'cosine', scoreWords: 'own', irm: 'lse', score: 'cosine' }, TINY_MODEL, {
    'align.reclf.srm.0.offset_bias': [0.9, -0.4, 1.3, 0, 0.2, -1.1, 0.6], 'align.reclf.srm.1.offset_bias': [-0.9, 0.4, -1.3, 0, -0.2, 1.1, -0.6],
  });
  await checkParity('reclf-srm-query-own-weighted', 'reclf', { mDim: 8, srm: true, srmStage: 'query', scoreWords: 'own', irm: 'softmax', irmInput: 'words', score: 'weighted-cosine' });
});
test('reclf with embedding-level word features (text.localLayer 0) and a centered context matches TF.js', () =>
  checkParity('reclf-local0', 'reclf', { mDim: 8, context: 'centered' }, { ...TINY_MODEL, text: { ...TINY_MODEL.text, localLayer: 0 } }));
test('reclf with embedding-level word features without their position rows (text.localPositions false) matches TF.js', () =>
  checkParity('reclf-local0-nopos', 'reclf', { mDim: 8, srm: true, srmStage: 'query', srmOffsets: 2, relationLogits: 'cosine', irm: 'lse', score: 'cosine' }, { ...TINY_MODEL, text: { ...TINY_MODEL.text, localLayer: 0, localPositions: false } }));
test('reclf with relations from attention overlap or word features, and importance from word features, matches TF.js', async () => {
  await checkParity('reclf-rel-attention', 'reclf', { mDim: 8, relation: 'attention', gammaR: 7, irmInput: 'words' });
  await checkParity('reclf-rel-words', 'reclf', { mDim: 8, relation: 'words', irm: 'sigmoid' });
  await checkParity('reclf-cosine-attention', 'reclf', { mDim: 8, attention: 'cosine', gamma1: 10, relation: 'attention' });
});
test('reclf on cnn-small regions from stage 2 or 1 (pooled to the stage-3 grid, or stage 2 on its own grid) matches TF.js', async () => {
  await checkParity('reclf-stage2', 'reclf', { mDim: 8 }, { ...TINY_MODEL, image: { ...TINY_MODEL.image, localStage: 2 } });
  await checkParity('reclf-stage1', 'reclf', { mDim: 8 }, { ...TINY_MODEL, image: { ...TINY_MODEL.image, localStage: 1 } });
  await checkParity('reclf-stage2-native', 'reclf', { mDim: 8 }, { ...TINY_MODEL, image: { ...TINY_MODEL.image, localStage: 2, localPooling: false }, regionPositions: true });
});
test('reclf with learned region positions and the IRM-weighted sum of word scores matches TF.js', () =>
  checkParity('reclf-positions', 'reclf', { mDim: 8, attention: 'cosine', gamma1: 10, relation: 'attention', irmInput: 'words', score: 'weighted' }, { ...TINY_MODEL, regionPositions: true }));
test('reclf with the IRM-weighted sum of word cosines matches TF.js', () =>
  checkParity('reclf-weighted-cosine', 'reclf', { mDim: 8, attention: 'cosine', gamma1: 10, relation: 'attention', score: 'weighted-cosine' }));
test('reclf on resnet18 (32 px) matches TF.js', () =>
  checkParity('reclf-resnet18', 'reclf', { mDim: 8 }, { ...TINY_MODEL, image: { name: 'resnet18', imageSize: 32 } }));
test('reclf on vit-tiny (depth 1, patch 16, 32 px) matches TF.js', () =>
  checkParity('reclf-vit', 'reclf', { mDim: 8 }, { ...TINY_MODEL, image: { name: 'vit-tiny', imageSize: 32, patchSize: 16, depth: 1 } }));

// MLIP: the entity table is an initializer and entity_ids [B, N] an extra input (declared in the
// metadata); linked words take their entity's attention, so parity is checked with real links.
async function checkMlipParity(label: string, method: string, methodCfg: Record<string, unknown>): Promise<{ linked: number; extra: string | undefined }> {
  const config = tinyConfig(method, methodCfg);
  const built = await tinyModel(config);
  const tok = tinyTokenizer();
  const b = tinyBatch(config, tok);
  const N = config.model.maxWords;
  const kb = defaultKnowledgeBase();
  const entityIds = new Int32Array(b.batch * N);
  REPORTS.forEach((r, i) => entityIds.set(reportEntityIds(r, tok.encode(r, { maxLength: b.seqLen }).words, N, kb), i * N));
  const ref = tf.tidy(() => {
    const inputs = built.model.forward({
      pixels: tf.tensor4d(b.pixels, [b.batch, b.imageSize, b.imageSize, 1]),
      inputIds: tf.tensor2d(b.inputIds, [b.batch, b.seqLen], 'int32'),
      attentionMask: tf.tensor2d(b.attentionMask, [b.batch, b.seqLen]),
      wordIndex: b.wordIndex,
      entityIds,
      entityNegated: new Uint8Array(entityIds.length),
    }, false);
    const ex = built.method.explain(inputs);
    return {
      attention: ex.attention.dataSync() as Float32Array, relation: ex.relation.dataSync() as Float32Array,
      importance: ex.importance.dataSync() as Float32Array, local_score: ex.localScore.dataSync() as Float32Array,
    };
  });
  const { bytes, metadata } = exportModel({ model: config.model, method: config.method, params: await built.params.toRecord(), tokenizer: tok });
  const file = path.join(tmp, `${label}.onnx`);
  fs.writeFileSync(file, bytes);
  const session = await ContractSession.open(file, { device: 'cpu' });
  try {
    const out = await session.run({
      batch: b.batch, pixels: b.pixels, imageSize: b.imageSize, seqLen: b.seqLen,
      inputIds: b.inputIds, attentionMask: b.attentionMask, wordIds: b.rawWordIds, entityIds,
    });
    for (const name of ['attention', 'relation', 'importance', 'local_score'] as const) {
      const d = maxRelDiff(out[name].data, ref[name]);
      assert.ok(d <= 1e-4, `${label}: output ${name} differs from TF.js by ${d}`);
    }
    assert.equal(session.hasEntityIds, metadata.extra_inputs?.includes('entity_ids') ?? false);
    return { linked: Array.from(entityIds).filter((k) => k >= 0).length, extra: metadata.extra_inputs?.join(',') };
  } finally {
    await session.close();
    built.params.dispose();
  }
}

test('mlip (entity attention for linked words) and its ablations match TF.js', async () => {
  const full = await checkMlipParity('mlip', 'mlip', {});
  assert.ok(full.linked >= 3, `expected linked words in the tiny reports, got ${full.linked}`);
  assert.equal(full.extra, 'entity_ids');
  // Without an entity table the graph has no entity_ids input; the other ablations keep it.
  assert.equal((await checkMlipParity('mlip-no-knowledge', 'mlip-no-knowledge', {})).extra, undefined);
  assert.equal((await checkMlipParity('mlip-no-div', 'mlip-no-div', {})).extra, 'entity_ids');
});
