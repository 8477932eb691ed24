import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createMethod, METHOD_NAMES, resolveMethodConfig } from '../../../../src/core/align/registry';
import { MLIP_VARIANTS } from '../../../../src/core/align/mlip/config';
import { ParamStore } from '../../../../src/core/models/params';
import { Rng } from '../../../../src/core/rng';
import { ConfigError } from '../../../../src/core/errors';
import { defaultKnowledgeBase } from '../../../../src/core/knowledge/kb';
import { WordPieceTokenizer, buildVocab } from '../../../../src/core/text';
import { linkStudyWords, prepareStudies } from '../../../../src/core/train/batches';
import { resolveRunConfig } from '../../../../src/core/train/run-config';
import { runTraining } from '../../../../src/core/train/trainer';
import { initBackend } from '../../../../src/core/runtime/backend';
import type { LoadedStudy } from '../../../../src/core/data/manifest-types';
import type { EngineEvent } from '../../../../src/protocol/events';
import { close, randomInputs, useCpu } from '../fixture';
import { tinyConfig, tinySynth } from '../../../helpers/tiny';

const B = 4, N = 6, M = 4, D = 8;

/** Entity rows for randomInputs(B, N, ...): findings and locations so every term has work. */
function entities(): { ids: Int32Array; negated: Uint8Array } {
  const kb = defaultKnowledgeBase();
  const row = (term: string) => kb.indexOf(kb.lookup(term)!.id);
  const [eff, ptx, right, left, upper] = ['pleural effusion', 'pneumothorax', 'right', 'left', 'upper zone'].map(row);
  const ids = new Int32Array(B * N).fill(-1);
  const negated = new Uint8Array(B * N);
  const put = (b: number, i: number, k: number, neg = 0) => ((ids[b * N + i] = k), (negated[b * N + i] = neg));
  put(0, 0, right); put(0, 1, eff);
  put(1, 0, left); put(1, 1, ptx); put(1, 2, upper);
  put(2, 0, eff, 1); put(2, 3, right);
  put(3, 1, ptx);
  return { ids, negated };
}

test('mlip and its ablations are registered methods; an ablation fixes its switch', () => {
  for (const v of ['mlip', 'mlip-no-div', 'mlip-no-knowledge', 'mlip-no-category']) assert.ok(METHOD_NAMES.includes(v), v);
  assert.equal(resolveMethodConfig('mlip').divergence, 'ema');
  assert.equal(resolveMethodConfig('mlip-no-div').divergence, 'off');
  assert.equal(resolveMethodConfig('mlip-no-knowledge').knowledge, false);
  assert.equal(resolveMethodConfig('mlip-no-category').category, false);
  assert.equal(resolveMethodConfig('mlip', { divergence: false }).divergence, 'off');
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['mlip-no-div', { divergence: 'ema' }, /^method\.divergence: method 'mlip-no-div' is the ablation/],
    ['mlip', { divDropout: 1.5 }, /^method\.divDropout: must be <= 0\.9/],
    ['mlip', { itm: 'yes' }, /^method\.itm: expected true or false/],
    ['mlip', { globalWeight: 0, divergence: 'off', knowledge: false, category: false, itm: false }, /every MLIP loss term is off/],
  ];
  for (const [name, cfg, re] of bad) assert.throws(() => resolveMethodConfig(name, cfg, 'method'), (e: unknown) => e instanceof ConfigError && re.test(e.message), `${name} ${JSON.stringify(cfg)}`);
  const run = resolveRunConfig({ method: { name: 'mlip-no-category', itm: false } });
  assert.equal(run.method.name, 'mlip-no-category');
});

for (const variant of MLIP_VARIANTS) {
  test(`${variant}: every term finite, gradients reach every parameter, explanation normalised`, async () => {
    await useCpu();
    const params = new ParamStore(new Rng(5));
    const method = createMethod(variant, { params, dim: D, config: {} });
    assert.equal(method.name, variant);
    assert.equal(method.needsEntities, true);
    for (const p of params.names()) assert.ok(p.startsWith('align.mlip.'), p);
    const x = { ...randomInputs(B, N, M, D, 17), ...entities() };
    const enc = { words: tf.variable(x.words), regions: tf.variable(x.regions), imageGlobal: tf.variable(x.imageGlobal), textGlobal: tf.variable(x.textGlobal) };
    const batch = { ...x, ...enc, wordMaskValues: x.wordMask.dataSync() as Float32Array, entityIds: x.ids, entityNegated: x.negated };
    const vars = [...params.trainable(), ...Object.values(enc)];
    let termNames: string[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const out = method.loss(batch, { training: true, step: 3 });
      termNames = Object.keys(out.terms).sort();
      const sum = Object.values(out.terms).reduce((s, t) => s + t.dataSync()[0], 0);
      close(out.loss.dataSync()[0], sum, 1e-5, 'terms sum to loss');
      return out.loss;
    }, vars);
    const expected = {
      mlip: ['category', 'divergence', 'global', 'itm', 'knowledge'],
      'mlip-no-div': ['category', 'global', 'itm', 'knowledge'],
      'mlip-no-knowledge': ['category', 'divergence', 'global', 'itm'],
      'mlip-no-category': ['divergence', 'global', 'itm', 'knowledge'],
    }[variant];
    assert.deepEqual(termNames, expected);
    assert.ok(Number.isFinite(value.dataSync()[0]));
    for (const v of vars) {
      const g = grads[v.name] ? Array.from(grads[v.name].dataSync()) : [];
      assert.ok(g.length && g.every(Number.isFinite), `finite gradient ${v.name}`);
      assert.ok(g.some((a) => Math.abs(a) > 1e-9), `non-zero gradient ${v.name}`);
    }
    if (params.has('align.mlip.entity_embed')) {
      // only the rows of linked, stated entities are trained by the token loss
      const kb = defaultKnowledgeBase();
      const g = grads['align.mlip.entity_embed'].arraySync() as number[][];
      const unused = kb.indexOf(kb.lookup('cardiomegaly')!.id);
      assert.ok(g[unused].every((a) => a === 0));
    }

    const e = method.explain(batch);
    const att = e.attention.arraySync() as number[][][];
    const rel = e.relation.arraySync() as number[][][];
    const imp = e.importance.arraySync() as number[][];
    const mask = x.wordMask.arraySync() as number[][];
    for (let b = 0; b < B; b++) {
      close(imp[b].reduce((s, v) => s + v, 0), 1, 1e-5, 'importance sums to 1');
      for (let i = 0; i < N; i++) {
        const real = mask[b][i] > 0;
        close(att[b][i].reduce((s, v) => s + v, 0), real ? 1 : 0, 1e-5, `attention row ${b},${i}`);
        close(rel[b][i].reduce((s, v) => s + v, 0), real ? 1 : 0, 1e-5, `relation row ${b},${i}`);
        for (let j = 0; j < N; j++) if (!mask[b][j]) close(rel[b][i][j], 0, 1e-6, 'relation to a padded word');
      }
    }
    // a linked word relates to other words through its entity; an unlinked one only to itself
    if (variant !== 'mlip-no-knowledge') assert.ok(rel[0][1][1] < 1 - 1e-6, 'entity co-attention row');
    close(rel[3][0][0], 1, 1e-6, 'unlinked word: identity row');
    assert.ok(Array.from(e.localScore.dataSync()).every(Number.isFinite));
    assert.deepEqual(method.similarity(batch).global.shape, [B, B]);
    // without entity ids (e.g. a caller that never linked) the method still trains and explains
    const plain = method.loss(x, { training: false, step: 0 });
    assert.ok(Number.isFinite(plain.loss.dataSync()[0]));
    assert.deepEqual(method.explain(x).attention.shape, [B, N, M]);
    params.dispose();
  });
}

test('afterStep moves the momentum divergence projection towards the trained one', async () => {
  await useCpu();
  const params = new ParamStore(new Rng(2));
  const method = createMethod('mlip', { params, dim: D, config: { emaMomentum: 0.5 } });
  const online = params.get('align.mlip.div_proj');
  const ema = params.get('align.mlip.div_proj_ema');
  assert.deepEqual(Array.from(ema.dataSync()), Array.from(online.dataSync()), 'starts as a copy');
  assert.ok(!params.trainableNames().includes('align.mlip.div_proj_ema'));
  const before = Array.from(online.dataSync());
  online.assign(tf.add(online, 1));
  method.afterStep!();
  const after = Array.from(ema.dataSync());
  after.forEach((v, i) => close(v, before[i] + 0.5, 1e-6, 'ema'));
  params.dispose();
});

test('linkStudyWords maps tokenizer words to knowledge-base entities with negation', () => {
  const report = 'Small right pleural effusion. No pneumothorax.';
  const study = { id: 's1', report, split: 'train', imagePath: '/nonexistent.png' } as unknown as LoadedStudy;
  const tok = WordPieceTokenizer.fromTokens(buildVocab([report], { size: 200, minFrequency: 1, lowerCase: true }), { lowerCase: true });
  const [p] = prepareStudies([study], tok, 32);
  linkStudyWords([p], defaultKnowledgeBase());
  const kb = defaultKnowledgeBase();
  const byWord = p.enc.words.map((w, i) => [w.text.toLowerCase(), p.entities!.ids[i] >= 0 ? kb.entities[p.entities!.ids[i]].id : null, p.entities!.negated[i]]);
  const find = (w: string) => byWord.find((r) => r[0] === w)!;
  assert.equal(find('pleural')[1], find('effusion')[1]);
  assert.equal(find('effusion')[1], kb.lookup('pleural effusion')!.id);
  assert.equal(find('right')[1], kb.lookup('right')!.id);
  assert.equal(find('pneumothorax')[1], kb.lookup('pneumothorax')!.id);
  assert.equal(find('pneumothorax')[2], 1);
  assert.equal(find('effusion')[2], 0);
  assert.equal(find('no')[1], null);
});

test('reclf train --method mlip and each ablation: a few steps on a tiny synthetic set without NaN', async () => {
  const data = await tinySynth(24, 4, 64);
  const backend = await initBackend(process.env.RECLF_TEST_BACKEND ?? 'wasm');
  for (const variant of MLIP_VARIANTS) {
    const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 3, batchSize: 6 } }), variant);
    const events: EngineEvent[] = [];
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-mlip-'));
    const result = await runTraining({
      runDir, dataDir: data, config, resume: false, listener: { emit: (e) => events.push(e), log: () => {} },
      cancel: { requested: false }, backend: backend.name, device: backend.device,
    });
    assert.equal(result.status, 'ok', variant);
    const losses = events.filter((e) => e.type === 'progress').map((e) => (e as { loss: number }).loss);
    assert.equal(losses.length, 3, variant);
    assert.ok(losses.every(Number.isFinite), `${variant}: ${losses}`);
    assert.ok(result.validation && Number.isFinite(result.validation.loss), variant);
    fs.rmSync(runDir, { recursive: true, force: true });
  }
  fs.rmSync(data, { recursive: true, force: true });
});
