import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { createMethod, METHOD_NAMES, resolveMethodConfig } from '../../../src/core/align/registry';
import { ParamStore } from '../../../src/core/models/params';
import { Rng } from '../../../src/core/rng';
import { ConfigError } from '../../../src/core/errors';
import { close, randomInputs, useCpu } from './fixture';

const B = 3, N = 5, M = 4, D = 6;
const CONFIGS: Array<[string, Record<string, unknown>]> = [
  ['convirt', {}],
  ['gloria', {}],
  ['mgca', { prototypes: 7 }],
  ['reclf', {}],
  ['reclf', { reading: 'within' }],
  ['reclf', { irm: 'sigmoid', matching: 'concat', srmRounds: 3 }],
  ['reclf', { srmStage: 'query', irm: 'lse', score: 'cosine' }],
  ['reclf', { srmStage: 'spatial', srmOffsets: 2, irm: 'lse', score: 'cosine' }],
  ['reclf', { srmStage: 'spatial', relationLogits: 'cosine', irm: 'lse', score: 'cosine' }],
  ['reclf', { relationLogits: 'cosine', relation: 'words' }],
  ['reclf', { srmStage: 'query', relationLogits: 'cosine', relationBalance: 3, srmOffsets: 1, irm: 'lse', score: 'cosine' }],
  ['reclf', { srmStage: 'query', relationLogits: 'cosine', scoreWords: 'own', srmOffsets: 1, irm: 'lse', score: 'cosine' }],
];

test('registry lists the methods (mlip with its ablations) and rejects unknown names with a ConfigError', () => {
  assert.deepEqual([...METHOD_NAMES].sort(), ['convirt', 'gloria', 'mgca', 'mlip', 'mlip-no-category', 'mlip-no-div', 'mlip-no-knowledge', 'reclf']);
  assert.throws(() => createMethod('clip', { params: new ParamStore(new Rng(1)), dim: 4, config: {} }), (e: unknown) => e instanceof ConfigError && /method\.name/.test(e.message));
});

for (const [name, config] of CONFIGS) {
  test(`${name} ${JSON.stringify(config)}: finite loss, finite non-zero gradients, normalised explanations`, async () => {
    await useCpu();
    const params = new ParamStore(new Rng(5));
    const method = createMethod(name, { params, dim: D, config });
    assert.equal(method.name, name);
    for (const p of params.names()) assert.ok(p.startsWith(`align.${name}.`), p);
    const x = randomInputs(B, N, M, D, 17);
    const inputs = { words: tf.variable(x.words), regions: tf.variable(x.regions), imageGlobal: tf.variable(x.imageGlobal), textGlobal: tf.variable(x.textGlobal) };
    const batch = { ...x, ...inputs } as typeof x;
    const vars = [...params.trainable(), ...Object.values(inputs)];
    const { value, grads } = tf.variableGrads(() => {
      const out = method.loss(batch, { training: true, step: 0 });
      const sum = Object.values(out.terms).reduce((s, t) => s + t.dataSync()[0], 0);
      close(out.loss.dataSync()[0], sum, 1e-5, 'terms sum to loss');
      return out.loss;
    }, vars);
    assert.ok(Number.isFinite(value.dataSync()[0]));
    const mustMove = [...params.trainableNames(), inputs.imageGlobal.name, inputs.textGlobal.name];
    if (name !== 'convirt') mustMove.push(inputs.words.name, inputs.regions.name);
    for (const v of vars) {
      // variableGrads omits variables the loss never reads (ConVIRT's words and regions)
      const g = grads[v.name] ? Array.from(grads[v.name].dataSync()) : [];
      assert.ok(g.every(Number.isFinite), `finite gradient ${v.name}`);
      if (mustMove.includes(v.name)) assert.ok(g.some((a) => Math.abs(a) > 1e-9), `non-zero gradient ${v.name}`);
    }
    // padded words of the encoder output get no gradient from any method
    const gw = (grads[inputs.words.name]?.arraySync() ?? []) as number[][][];
    const mask = x.wordMask.arraySync() as number[][];
    for (let b = 0; b < gw.length; b++) for (let i = 0; i < N; i++) if (!mask[b][i]) assert.ok(gw[b][i].every((a) => Math.abs(a) < 1e-9), `padded word ${b},${i}`);

    const e = method.explain(batch);
    assert.deepEqual(e.attention.shape, [B, N, M]);
    assert.deepEqual(e.relation.shape, [B, N, N]);
    assert.deepEqual(e.importance.shape, [B, N]);
    assert.deepEqual(e.localScore.shape, [B]);
    const att = e.attention.arraySync() as number[][][];
    const rel = e.relation.arraySync() as number[][][];
    const imp = e.importance.arraySync() as number[][];
    for (let b = 0; b < B; b++) {
      close(imp[b].reduce((s, v) => s + v, 0), 1, 1e-5, 'importance sums to 1');
      for (let i = 0; i < N; i++) {
        const real = mask[b][i] > 0;
        close(att[b][i].reduce((s, v) => s + v, 0), real ? 1 : 0, 1e-5, `attention row ${b},${i}`);
        close(rel[b][i].reduce((s, v) => s + v, 0), real ? 1 : 0, 1e-5, `relation row ${b},${i}`);
        if (!real) close(imp[b][i], 0, 1e-6, 'padded importance');
        for (let j = 0; j < N; j++) if (!mask[b][j]) close(rel[b][i][j], 0, 1e-6, 'relation to a padded word');
      }
    }
    assert.ok(Array.from(e.localScore.dataSync()).every(Number.isFinite));
    const sim = method.similarity(batch);
    assert.deepEqual(sim.global.shape, [B, B]);
    if (name === 'gloria' || name === 'reclf') {
      assert.deepEqual(sim.local?.shape, [B, B]);
      const diag = (sim.local!.arraySync() as number[][]).map((row, i) => row[i]);
      const ls = Array.from(e.localScore.dataSync());
      for (let i = 0; i < B; i++) close(diag[i], ls[i], 1e-4, 'cross diagonal = matched local score');
    } else {
      assert.equal(sim.local, undefined);
    }
    params.dispose();
  });
}

test('resolveMethodConfig fills defaults from the papers', () => {
  assert.equal(resolveMethodConfig('convirt').imageToTextWeight, 0.75);
  const g = resolveMethodConfig('gloria', {});
  assert.deepEqual([g.tau, g.gamma1, g.gamma2, g.gamma3], [0.1, 4, 5, 10]);
  const m = resolveMethodConfig('mgca', { prototypes: 20 });
  assert.deepEqual([m.tau, m.localTau, m.prototypes, m.sinkhornEps, m.sinkhornIters, m.protoTemp], [0.07, 0.1, 20, 0.05, 3, 0.2]);
  const r = resolveMethodConfig('reclf', { irm: false, name: 'reclf' });
  assert.equal(r.irm, 'uniform');
  assert.equal(r.score, 'linear');
  assert.equal(resolveMethodConfig('reclf', { reading: 'within' }).score, 'cosine');
  assert.deepEqual(resolveMethodConfig('reclf', r), r);
});

test('resolveMethodConfig names the bad field', () => {
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['gloria', { tau: 0 }, /^model\.align\.tau: must be > 0/],
    ['gloria', { gamma9: 1 }, /^model\.align\.gamma9: unknown parameter/],
    ['mgca', { prototypes: 2.5 }, /^model\.align\.prototypes: expected an integer/],
    ['mgca', { clipLow: 0.95 }, /^model\.align\.clipLow/],
    ['reclf', { srm: 'yes' }, /^model\.align\.srm: expected true or false/],
    ['reclf', { irm: 'max' }, /^model\.align\.irm: expected one of/],
    ['reclf', { reading: 'within', score: 'linear' }, /^model\.align\.score/],
    ['reclf', { irm: 'uniform', score: 'cosine' }, /^model\.align\.srm/],
    ['reclf', { srmOffsets: 4 }, /^model\.align\.srmOffsets: the per-offset bias is for srmStage 'query' or 'spatial'/],
    ['reclf', { srmLocality: 1 }, /^model\.align\.srmLocality: the distance bias is for srmStage 'query' or 'spatial'/],
    ['reclf', { srm: false, srmStage: 'query' }, /^model\.align\.srmStage: 'query' is SRM's placement, but srm is false/],
    ['reclf', { srm: false, srmStage: 'spatial' }, /^model\.align\.srmStage: 'spatial' is SRM's placement, but srm is false/],
    ['reclf', { srmStage: 'query', relation: 'attention' }, /^model\.align\.relation: srmStage 'query' learns its relation from the word features/],
    ['reclf', { srmStage: 'spatial', relation: 'attention' }, /^model\.align\.relation: srmStage 'spatial' learns its relation from the word features/],
    ['reclf', { relationLogits: 'cosine', relation: 'attention' }, /^model\.align\.relationLogits: 'cosine' is for a learned SRM relation/],
    ['reclf', { relationLogits: 'cosine', srm: false, irm: 'lse', score: 'cosine' }, /^model\.align\.relationLogits: 'cosine' is for a learned SRM relation/],
    ['reclf', { relationBalance: 3, relation: 'attention' }, /^model\.align\.relationBalance: balancing is for a learned SRM relation/],
    ['reclf', { relationBalance: 3, srm: false, irm: 'lse', score: 'cosine' }, /^model\.align\.relationBalance: balancing is for a learned SRM relation/],
    ['reclf', { scoreWords: 'own' }, /^model\.align\.scoreWords: 'own' tells the word's own feature from its SRM-reasoned query, which only srmStage 'query'/],
    ['reclf', { scoreWords: 'own', srmStage: 'spatial', irm: 'lse', score: 'cosine' }, /^model\.align\.scoreWords: 'own'/],
    ['reclf', { reading: 'within', locationSwap: true }, /^model\.align\.locationSwap: the swapped report is a negative of the 'cross' reading/],
    ['reclf', { swapAt: 'tokens' }, /^model\.align\.swapAt: 'tokens' says how the location-swap negative is encoded, but locationSwap is 'off'/],
    ['reclf', { name: 'gloria' }, /^model\.align\.name/],
    ['simclr', {}, /^model\.align\.name: unknown alignment method/],
  ];
  for (const [name, cfg, re] of bad) {
    assert.throws(() => resolveMethodConfig(name, cfg, 'model.align'), (e: unknown) => e instanceof ConfigError && re.test(e.message), `${name} ${JSON.stringify(cfg)}`);
  }
});

test('every method stays finite when one report has no real word at all', async () => {
  await useCpu();
  for (const [name, config] of CONFIGS) {
    const params = new ParamStore(new Rng(5));
    const method = createMethod(name, { params, dim: D, config });
    const x = randomInputs(B, N, M, D, 3);
    const maskRows = x.wordMask.arraySync() as number[][];
    maskRows[1] = maskRows[1].map(() => 0);
    const batch = { ...x, wordMask: tf.tensor2d(maskRows) };
    assert.ok(Number.isFinite(method.loss(batch, { training: true, step: 0 }).loss.dataSync()[0]), `${name} loss`);
    const e = method.explain(batch);
    for (const [k, t] of Object.entries(e)) assert.ok(Array.from((t as tf.Tensor).dataSync()).every(Number.isFinite), `${name} ${k}`);
    params.dispose();
  }
});

test('similarity scores any number of reports against any number of images (zero-shot prompts)', async () => {
  await useCpu();
  for (const [name, config] of CONFIGS) {
    const params = new ParamStore(new Rng(5));
    const method = createMethod(name, { params, dim: D, config });
    const x = randomInputs(B, N, M, D, 9);
    const prompts = { ...x, words: x.words.slice(0, 2), wordMask: x.wordMask.slice(0, 2), textGlobal: x.textGlobal.slice(0, 2) };
    const sim = method.similarity(prompts);
    assert.deepEqual(sim.global.shape, [B, 2], name);
    if (sim.local) {
      assert.deepEqual(sim.local.shape, [B, 2], name);
      const full = method.similarity(x).local!.arraySync() as number[][];
      const part = sim.local.arraySync() as number[][];
      for (let i = 0; i < B; i++) for (let t = 0; t < 2; t++) close(part[i][t], full[i][t], 1e-4, `${name} [${i}][${t}]`);
    }
    params.dispose();
  }
});
