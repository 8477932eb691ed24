import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { createReclf } from '../../../src/core/align/reclf';
import { createGloria } from '../../../src/core/align/gloria';
import { defaultKnowledgeBase } from '../../../src/core/knowledge/kb';
import { ParamStore } from '../../../src/core/models/params';
import { Rng } from '../../../src/core/rng';
import { MASK, REGIONS, WORDS, close, closeArr, tinyInputs, useCpu } from './fixture';
import { diagCE, dot, gloriaPair, l2n, softmax, transpose, vecMat, type Mat, type Vec } from './ref';

const relu = (x: number) => Math.max(0, x);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

let previous: ParamStore | undefined;

/** tfjs variable names are global, so the previous store is disposed before names are reused. */
function build(config: Record<string, unknown>) {
  previous?.dispose();
  const params = new ParamStore(new Rng(11));
  previous = params;
  const method = createReclf({ params, dim: 3, config: { mDim: 4, ...config } });
  const w = (name: string) => params.get(`align.reclf.${name}`).arraySync() as Mat;
  return { params, method, w };
}

/** The RECLF chain for one (report t, image i) pair, written out with loops. */
function refPair(t: number, i: number, w: (n: string) => Mat, opts: {
  srm: boolean; irm: 'softmax' | 'sigmoid' | 'uniform'; concat?: boolean; bias?: number;
  relation?: 'words' | 'attention'; gammaR?: number; irmWords?: boolean; weighted?: boolean; weightedCosine?: boolean;
}) {
  const mask = MASK[t];
  const { ctx, attn } = gloriaPair(WORDS[t], REGIONS[i], mask, 4, 5);
  let m: Mat = WORDS[t].map((e, k) => {
    const c = ctx[k];
    const x = opts.concat ? [...e, ...c, ...e.map((v, d) => v * c[d])] : e.map((v, d) => (c[d] - v) ** 2);
    return l2n(vecMat(x, w('w_m')));
  });
  let relation: Mat = m.map((_, a) => m.map((__, b) => (a === b ? 1 : 0)));
  if (opts.srm) {
    if (opts.relation === 'attention') {
      // Cosine of two words' attention maps; a word is not related to itself.
      const an = attn.map((a) => l2n(a));
      relation = an.map((x, a) => softmax(an.map((y) => (opts.gammaR ?? 10) * dot(x, y)), mask.map((v, b) => (b === a ? 0 : v))));
    } else {
      const src = opts.relation === 'words' ? WORDS[t] : m;
      const q = src.map((r) => vecMat(r, w('srm.0.w_q')));
      const k = src.map((r) => vecMat(r, w('srm.0.w_k')));
      relation = q.map((qa) => softmax(k.map((kb) => dot(qa, kb) / Math.sqrt(src[0].length)), mask));
    }
    const em = relation.map((row) => m[0].map((_, d) => row.reduce((s, e, b) => s + e * m[b][d], 0)));
    m = m.map((r, a) => {
      const g = vecMat(em[a], w('srm.0.w_g'));
      return r.map((v, d) => v + relu(g[d]));
    });
  }
  let beta: Vec;
  if (opts.irm === 'uniform') beta = mask.map((v) => v / mask.reduce((s, x) => s + x, 0));
  else if (opts.irm === 'softmax') beta = softmax((opts.irmWords ? WORDS[t] : m).map((r) => vecMat(r, w('irm.w_a'))[0]), mask);
  else {
    const g = m.map((r, k) => sigmoid(vecMat(r, w('irm.w_a'))[0] + (opts.bias ?? 0)) * mask[k]);
    beta = g.map((v) => v / g.reduce((s, x) => s + x, 0));
  }
  const cos = (a: Vec, b: Vec): number => dot(l2n(a), l2n(b));
  if (opts.weightedCosine) return { relation, beta, s: WORDS[t].reduce((s, e, k) => s + beta[k] * cos(e, ctx[k]), 0) };
  if (opts.weighted) return { relation, beta, s: m.reduce((s, r, k) => s + beta[k] * vecMat(r, w('w_s'))[0], 0) };
  const agg = l2n(m[0].map((_, d) => m.reduce((s, r, k) => s + beta[k] * r[d], 0)));
  return { relation, beta, s: vecMat(agg, w('w_s'))[0] };
}

function checkAgainstRef(config: Record<string, unknown>, opts: Parameters<typeof refPair>[3]) {
  const { method, w } = build(config);
  const x = tinyInputs();
  const e = method.explain(x);
  const rel = e.relation.arraySync() as Mat[];
  const imp = e.importance.arraySync() as Mat;
  for (let b = 0; b < 2; b++) {
    const ref = refPair(b, b, w, opts);
    for (let a = 0; a < 3; a++) if (MASK[b][a]) closeArr(rel[b][a], ref.relation[a], 1e-4, `relation[${b}][${a}]`);
    closeArr(imp[b], ref.beta, 1e-4, `importance[${b}]`);
    close(e.localScore.dataSync()[b], ref.s, 1e-4, `s[${b}]`);
  }
  const local = method.similarity(x).local!.arraySync() as Mat;
  const refS = [0, 1].map((i) => [0, 1].map((t) => refPair(t, i, w, opts).s));
  for (let i = 0; i < 2; i++) closeArr(local[i], refS[i], 1e-4, `cross s[${i}]`);
  const out = method.loss(x, { training: true, step: 0 });
  const logits = refS.map((row) => row.map((v) => v / 0.1));
  close(out.terms.local.dataSync()[0], diagCE(logits) + diagCE(transpose(logits)), 1e-4, 'local InfoNCE');
}

test('RECLF: m_i, one SRM round, IRM softmax beta and s = w_s^T m_agg match a hand loop (cross reading)', async () => {
  await useCpu();
  checkAgainstRef({ srmRounds: 1 }, { srm: true, irm: 'softmax' });
});

test('RECLF switches: no SRM (identity relation), uniform IRM, sigmoid IRM, concat matching', async () => {
  await useCpu();
  checkAgainstRef({ srm: false }, { srm: false, irm: 'softmax' });
  checkAgainstRef({ srmRounds: 1, irm: false }, { srm: true, irm: 'uniform' });
  checkAgainstRef({ srmRounds: 1, irm: 'sigmoid' }, { srm: true, irm: 'sigmoid', bias: 0 });
  checkAgainstRef({ srmRounds: 1, matching: 'concat' }, { srm: true, irm: 'softmax', concat: true });
});

test('RECLF relation sources (word features, attention overlap without self), IRM on word features and the IRM-weighted sum of word scores match the hand loop', async () => {
  await useCpu();
  checkAgainstRef({ srmRounds: 1, relation: 'words' }, { srm: true, irm: 'softmax', relation: 'words' });
  checkAgainstRef({ srmRounds: 1, relation: 'attention', gammaR: 3 }, { srm: true, irm: 'softmax', relation: 'attention', gammaR: 3 });
  checkAgainstRef({ srmRounds: 1, irmInput: 'words' }, { srm: true, irm: 'softmax', irmWords: true });
  checkAgainstRef({ srmRounds: 1, irmInput: 'words', score: 'weighted' }, { srm: true, irm: 'softmax', irmWords: true, weighted: true });
  checkAgainstRef({ srmRounds: 1, relation: 'attention', score: 'weighted-cosine' }, { srm: true, irm: 'softmax', relation: 'attention', weightedCosine: true });
  // The attention relation has no parameters: SRM keeps only w_g.
  const { params } = build({ srmRounds: 1, relation: 'attention' });
  assert.equal(params.has('align.reclf.srm.0.w_q'), false);
  assert.equal(params.has('align.reclf.srm.0.w_g'), true);
  const { method } = build({ srm: false, irm: 'uniform' });
  const e = method.explain(tinyInputs());
  closeArr(e.relation.dataSync(), [1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], 0, 'identity');
});

test('RECLF with SRM and IRM off and LogSumExp pooling of cosines is exactly GLoRIA', async () => {
  await useCpu();
  const { method, params } = build({ srm: false, irm: 'lse', score: 'cosine' });
  assert.equal(params.names().length, 0);
  const gloria = createGloria({ params: new ParamStore(new Rng(1)), dim: 3, config: {} });
  const x = tinyInputs();
  closeArr(method.similarity(x).local!.dataSync(), Array.from(gloria.similarity(x).local!.dataSync()), 1e-5, 'scores');
  close(method.loss(x, { training: true, step: 0 }).terms.local.dataSync()[0], gloria.loss(x, { training: true, step: 0 }).terms.local.dataSync()[0], 1e-4, 'loss');
  const imp = method.explain(x).importance.arraySync() as Mat;
  const ref = gloriaPair(WORDS[0], REGIONS[0], MASK[0], 4, 5);
  closeArr(imp[0], softmax(ref.r.map((r) => 5 * r), MASK[0]), 1e-5, 'LSE weights as importance');
});

test('RECLF lse-prior: LogSumExp of cosines under a prior learned from the words, written out', async () => {
  await useCpu();
  const { method, params, w } = build({ srm: false, irm: 'lse-prior', score: 'cosine' });
  // Only the prior's projection: no matching vectors, no w_s.
  assert.deepEqual(params.names(), ['align.reclf.irm.w_a']);
  const x = tinyInputs();
  const sim = method.similarity(x).local!.arraySync() as Mat;
  const imp = method.explain(x).importance.arraySync() as Mat;
  for (let t = 0; t < WORDS.length; t++) {
    const mask = MASK[t];
    const prior = softmax(WORDS[t].map((e) => vecMat(e, w('irm.w_a'))[0]), mask);
    for (let i = 0; i < REGIONS.length; i++) {
      const { r } = gloriaPair(WORDS[t], REGIONS[i], mask, 4, 5);
      // s = log sum_k pi_k exp(gamma2 r_k) over the real words.
      const s = Math.log(r.reduce((acc, rk, k) => acc + (mask[k] ? prior[k] * Math.exp(5 * rk) : 0), 0));
      close(sim[i][t], s, 1e-4, `score image ${i} report ${t}`);
      if (i === t) {
        const post = r.map((rk, k) => (mask[k] ? prior[k] * Math.exp(5 * rk) : 0));
        const sum = post.reduce((a, b) => a + b, 0);
        closeArr(imp[t], post.map((v) => v / sum), 1e-5, `importance of pair ${t}`);
      }
    }
  }
  // A zero prior is the uniform one: GLoRIA's score less log(real words).
  params.get('align.reclf.irm.w_a').assign(tf.zerosLike(params.get('align.reclf.irm.w_a')));
  const gloria = createGloria({ params: new ParamStore(new Rng(1)), dim: 3, config: {} });
  const flat = method.similarity(x).local!.arraySync() as Mat;
  const ref = gloria.similarity(x).local!.arraySync() as Mat;
  for (let i = 0; i < REGIONS.length; i++) for (let t = 0; t < WORDS.length; t++) {
    close(flat[i][t], ref[i][t] - Math.log(MASK[t].reduce((a, b) => a + b, 0)), 1e-4, `zero prior ${i},${t}`);
  }
});

test("RECLF irm 'beside': the score pools uniformly; importance softmax(w_a^T e) learns from its own InfoNCE over the stopped cosines and moves nothing else", async () => {
  await useCpu();
  const x = tinyInputs();
  const lossOf = (m: ReturnType<typeof build>['method']) => (words: tf.Tensor, regions: tf.Tensor) =>
    m.loss({ ...tinyInputs(), words: words as tf.Tensor3D, regions: regions as tf.Tensor3D }, { training: true, step: 0 }).loss;
  // The uniform pooling's gradient to the encoders' outputs, for comparison.
  const uniform = build({ srm: false, irm: 'uniform', score: 'cosine' });
  assert.equal(uniform.params.names().length, 0);
  const [uw, ur] = tf.grads(lossOf(uniform.method))([x.words, x.regions]).map((g) => Array.from(g.dataSync()));

  const { method, params, w } = build({ srm: false, irm: 'beside', score: 'cosine' });
  assert.deepEqual(params.names(), ['align.reclf.irm.w_a']);
  const sim = method.similarity(x).local!.arraySync() as Mat;
  const beta = [0, 1].map((t) => softmax(WORDS[t].map((e) => vecMat(e, w('irm.w_a'))[0]), MASK[t]));
  const logits: Mat = [[0, 0], [0, 0]];
  for (let i = 0; i < 2; i++) for (let t = 0; t < 2; t++) {
    const { ctx, r } = gloriaPair(WORDS[t], REGIONS[i], MASK[t], 4, 5);
    // The uniform pooling's score: cos(mean e, mean c) over the real words.
    const real = MASK[t].reduce((a, v) => a + v, 0);
    const mean = (rows: Mat) => rows[0].map((_, d) => rows.reduce((acc, row, k) => acc + MASK[t][k] * row[d], 0) / real);
    close(sim[i][t], dot(l2n(mean(WORDS[t])), l2n(mean(ctx))), 1e-4, `score image ${i} report ${t}`);
    logits[i][t] = r.reduce((acc, rk, k) => acc + beta[t][k] * rk, 0) / 0.1;
  }
  const imp = method.explain(x).importance.arraySync() as Mat;
  for (let t = 0; t < 2; t++) closeArr(imp[t], beta[t], 1e-5, `importance of report ${t}`);
  const out = method.loss(x, { training: true, step: 0 });
  close(out.terms.importance.dataSync()[0], diagCE(logits) + diagCE(transpose(logits)), 1e-4, "importance's InfoNCE");
  // The word features and regions get exactly the uniform pooling's gradient; only w_a learns from importance.
  const [gw, gr] = tf.grads(lossOf(method))([x.words, x.regions]);
  closeArr(gw.dataSync(), uw, 1e-5, 'd loss / d words');
  closeArr(gr.dataSync(), ur, 1e-5, 'd loss / d regions');
  const { grads } = tf.variableGrads(() => method.loss(x, { training: true, step: 0 }).loss, params.trainable());
  assert.ok(Array.from(grads['align.reclf.irm.w_a'].dataSync()).some((v) => Math.abs(v) > 1e-6), 'w_a learns');
  assert.throws(() => build({ reading: 'within', irm: 'beside' }), /irm: 'beside'/);
});

test("RECLF irm 'beside', importanceFrom 'own': importance reads each word's own feature, not the SRM-reasoned query it attended with", async () => {
  await useCpu();
  const cfg = { srm: true, srmStage: 'query', srmRounds: 1, irm: 'beside', score: 'cosine' };
  const x = tinyInputs();
  const scored = build(cfg);
  const fromQueries = scored.method.explain(x).importance.arraySync() as Mat;
  const own = build({ ...cfg, importanceFrom: 'own' });
  const imp = own.method.explain(x).importance.arraySync() as Mat;
  for (let t = 0; t < 2; t++) {
    closeArr(imp[t], softmax(WORDS[t].map((e) => vecMat(e, own.w('irm.w_a'))[0]), MASK[t]), 1e-5, `importance of report ${t}`);
    assert.ok(fromQueries[t].some((v, k) => Math.abs(v - imp[t][k]) > 1e-3), `the reasoned queries weigh report ${t}'s words otherwise`);
  }
  assert.throws(() => build({ importanceFrom: 'own' }), /importanceFrom: 'own'.*irm 'beside'/);
});

test("RECLF srmStage 'query': SRM between the words (self left out, a bias per word offset) before attention, then GLoRIA's chain on the reasoned words", async () => {
  await useCpu();
  const { method, params, w } = build({ srm: true, srmStage: 'query', srmRounds: 1, srmOffsets: 1, irm: 'lse', score: 'cosine' });
  // SRM on the word features (dim 3), nothing on matching vectors.
  assert.deepEqual(params.names().sort(), ['align.reclf.srm.0.offset_bias', 'align.reclf.srm.0.w_g', 'align.reclf.srm.0.w_k', 'align.reclf.srm.0.w_q']);
  // Offsets -1, 0, +1 (and beyond, clipped): the word before, itself (masked anyway), the word after.
  const offsetBias = [0.7, 5, -0.4];
  params.get('align.reclf.srm.0.offset_bias').assign(tf.tensor1d(offsetBias));
  const reasoned: Mat[] = [];
  const relations: Mat[] = [];
  for (let t = 0; t < WORDS.length; t++) {
    const e = WORDS[t];
    const q = e.map((r) => vecMat(r, w('srm.0.w_q')));
    const k = e.map((r) => vecMat(r, w('srm.0.w_k')));
    const rel = q.map((qa, a) => softmax(k.map((kb, b) => dot(qa, kb) / Math.sqrt(3) + offsetBias[Math.min(1, Math.max(-1, b - a)) + 1]), MASK[t].map((v, b) => (b === a ? 0 : v))));
    relations.push(rel);
    reasoned.push(e.map((r, a) => {
      const g = vecMat(e[0].map((_, d) => rel[a].reduce((s, x, b) => s + x * e[b][d], 0)), w('srm.0.w_g'));
      return r.map((v, d) => v + relu(g[d]));
    }));
  }
  const x = tinyInputs();
  const gloria = createGloria({ params: new ParamStore(new Rng(1)), dim: 3, config: {} });
  const onReasoned = tinyInputs({ words: reasoned });
  closeArr(method.similarity(x).local!.dataSync(), Array.from(gloria.similarity(onReasoned).local!.dataSync()), 1e-5, 'scores = GLoRIA on the reasoned words');
  close(method.loss(x, { training: true, step: 0 }).terms.local.dataSync()[0], gloria.loss(onReasoned, { training: true, step: 0 }).terms.local.dataSync()[0], 1e-4, 'local loss');
  const ex = method.explain(x);
  const rel = ex.relation.arraySync() as Mat[];
  const att = ex.attention.arraySync() as Mat[];
  for (let t = 0; t < WORDS.length; t++) {
    for (let a = 0; a < 3; a++) if (MASK[t][a]) closeArr(rel[t][a], relations[t][a], 1e-5, `relation[${t}][${a}]`);
    const ref = gloriaPair(reasoned[t], REGIONS[t], MASK[t], 4, 5);
    for (let a = 0; a < 3; a++) if (MASK[t][a]) closeArr(att[t][a], ref.attn[a], 1e-5, `attention[${t}][${a}] from the reasoned word`);
  }
  // No word relates to itself, and a padded word is no one's relation.
  assert.equal(rel[0][0][0], 0);
  assert.equal(rel[0][1][2], 0);
  // A report with one real word has nothing to reason with: its row is zero, its word unchanged.
  const one = tinyInputs({ mask: [[1, 0, 0], [1, 1, 1]] });
  const r1 = method.explain(one).relation.arraySync() as Mat[];
  closeArr(r1[0][0], [0, 0, 0], 0, 'lone word');
  const g1 = gloria.similarity(tinyInputs({ mask: [[1, 0, 0], [1, 1, 1]], words: [WORDS[0], reasoned[1]] })).local!.arraySync() as Mat;
  close((method.similarity(one).local!.arraySync() as Mat)[0][0], g1[0][0], 1e-5, 'lone word scores as in GLoRIA');
});

test("RECLF scoreWords 'own': the reasoned queries attend, each word's own feature scores against what its query attended", async () => {
  await useCpu();
  const { method, w } = build({ srm: true, srmStage: 'query', srmRounds: 1, irm: 'lse', score: 'cosine', scoreWords: 'own' });
  const reasoned = WORDS.map((e, t) => {
    const q = e.map((r) => vecMat(r, w('srm.0.w_q')));
    const k = e.map((r) => vecMat(r, w('srm.0.w_k')));
    const rel = q.map((qa, a) => softmax(k.map((kb) => dot(qa, kb) / Math.sqrt(3)), MASK[t].map((v, b) => (b === a ? 0 : v))));
    return e.map((r, a) => {
      const g = vecMat(e[0].map((_, d) => rel[a].reduce((s, x, b) => s + x * e[b][d], 0)), w('srm.0.w_g'));
      return r.map((v, d) => v + relu(g[d]));
    });
  });
  const cos = (a: Vec, b: Vec): number => dot(l2n(a), l2n(b));
  // Report t against image i: attention (and context) from the reasoned words, per-word cosines of the own words.
  const ref = (t: number, i: number, scored: Mat) => {
    const { attn, ctx } = gloriaPair(reasoned[t], REGIONS[i], MASK[t], 4, 5);
    const z = scored.map((e, k) => 5 * cos(e, ctx[k]));
    return { attn, beta: softmax(z, MASK[t]), s: Math.log(z.reduce((s, v, k) => s + (MASK[t][k] ? Math.exp(v) : 0), 0)) };
  };
  const x = tinyInputs();
  const local = method.similarity(x).local!.arraySync() as Mat;
  const ex = method.explain(x);
  const att = ex.attention.arraySync() as Mat[];
  const imp = ex.importance.arraySync() as Mat;
  for (let i = 0; i < 2; i++) {
    for (let t = 0; t < 2; t++) {
      close(local[i][t], ref(t, i, WORDS[t]).s, 1e-4, `cross s[${i}][${t}]`);
      // The queries' own scores differ: the switch is what the scores read.
      assert.ok(Math.abs(local[i][t] - ref(t, i, reasoned[t]).s) > 1e-3, `s[${i}][${t}] is not the reasoned words' score`);
    }
    const r = ref(i, i, WORDS[i]);
    closeArr(imp[i], r.beta, 1e-4, `importance[${i}]`);
    for (let a = 0; a < 3; a++) if (MASK[i][a]) closeArr(att[i][a], r.attn[a], 1e-5, `attention[${i}][${a}] from the reasoned word`);
  }
});

test("RECLF srmStage 'spatial': one relation between the words (self left out, a bias per word offset) weighs each word's attention by its related words'; the words themselves are unchanged", async () => {
  await useCpu();
  const { method, params, w } = build({ srm: true, srmStage: 'spatial', srmOffsets: 1, irm: 'lse', score: 'cosine' });
  // A relation and nothing else: no feature update (w_g), no matching vectors.
  assert.deepEqual(params.names().sort(), ['align.reclf.srm.0.offset_bias', 'align.reclf.srm.0.w_k', 'align.reclf.srm.0.w_q']);
  const offsetBias = [0.7, 5, -0.4];
  params.get('align.reclf.srm.0.offset_bias').assign(tf.tensor1d(offsetBias));
  const x = tinyInputs();
  const ex = method.explain(x);
  const rel = ex.relation.arraySync() as Mat[];
  const att = ex.attention.arraySync() as Mat[];
  const local = method.similarity(x).local!.arraySync() as Mat;
  for (let t = 0; t < WORDS.length; t++) {
    const e = WORDS[t];
    const q = e.map((r) => vecMat(r, w('srm.0.w_q')));
    const k = e.map((r) => vecMat(r, w('srm.0.w_k')));
    const relation = q.map((qa, a) => softmax(k.map((kb, b) => dot(qa, kb) / Math.sqrt(3) + offsetBias[Math.min(1, Math.max(-1, b - a)) + 1]), MASK[t].map((v, b) => (b === a ? 0 : v))));
    // Attention of every image for report t: GLoRIA's a_i times (sum_k E_ik a_k + 0.1 / M), renormalised.
    for (let i = 0; i < REGIONS.length; i++) {
      const { attn } = gloriaPair(e, REGIONS[i], MASK[t], 4, 5);
      const m = attn[0].length;
      const weighed = attn.map((a, r) => {
        const v = a.map((aj, j) => aj * (relation[r].reduce((s, er, o) => s + er * attn[o][j], 0) + 0.1 / m));
        const sum = v.reduce((s, y) => s + y, 0);
        return v.map((y) => y / sum);
      });
      const ctx = weighed.map((a) => REGIONS[i][0].map((_, d) => a.reduce((s, aj, j) => s + aj * REGIONS[i][j][d], 0)));
      const z = Math.log(e.reduce((s, ea, a) => s + (MASK[t][a] ? Math.exp(5 * dot(l2n(ea), l2n(ctx[a]))) : 0), 0));
      close(local[i][t], z, 1e-4, `score of image ${i}, report ${t}`);
      if (i === t) {
        for (let a = 0; a < 3; a++) {
          if (!MASK[t][a]) continue;
          closeArr(rel[t][a], relation[a], 1e-5, `relation[${t}][${a}]`);
          closeArr(att[t][a], weighed[a], 1e-5, `attention[${t}][${a}]`);
        }
      }
    }
  }
  // A report of one word has no related word: its attention and score are GLoRIA's.
  const one = tinyInputs({ mask: [[1, 0, 0], [1, 1, 1]] });
  const lone = gloriaPair(WORDS[0], REGIONS[0], [1, 0, 0], 4, 5);
  closeArr((method.explain(one).attention.arraySync() as Mat[])[0][0], lone.attn[0], 1e-5, 'lone word attention');
  close((method.similarity(one).local!.arraySync() as Mat)[0][0], lone.z, 1e-5, 'lone word score');
  // The relation learns: the local loss has a gradient on w_q, w_k and the offset bias.
  const { grads } = tf.variableGrads(() => method.loss(x, { training: true, step: 0 }).terms.local, params.trainable());
  for (const name of params.trainableNames()) {
    const g = Array.from(grads[name].dataSync());
    assert.ok(g.every(Number.isFinite) && g.some((v) => Math.abs(v) > 1e-9), `gradient of ${name}`);
  }
});

test("RECLF relationLogits 'cosine': the learned relation is a softmax of gammaR * cos(x W_q, x W_k), whatever the features' scale", async () => {
  await useCpu();
  const { method, w } = build({ srm: true, srmStage: 'spatial', relationLogits: 'cosine', gammaR: 6, irm: 'lse', score: 'cosine' });
  const cos = (a: Vec, b: Vec): number => dot(l2n(a), l2n(b));
  for (const scale of [1, 50]) {
    const words = WORDS.map((r) => r.map((v) => v.map((y) => y * scale)));
    const rel = method.explain(tinyInputs({ words })).relation.arraySync() as Mat[];
    for (let t = 0; t < WORDS.length; t++) {
      const q = words[t].map((r) => vecMat(r, w('srm.0.w_q')));
      const k = words[t].map((r) => vecMat(r, w('srm.0.w_k')));
      for (let a = 0; a < 3; a++) {
        if (!MASK[t][a]) continue;
        closeArr(rel[t][a], softmax(k.map((kb) => 6 * cos(q[a], kb)), MASK[t].map((v, b) => (b === a ? 0 : v))), 1e-5, `relation[${t}][${a}] at scale ${scale}`);
      }
    }
  }
});

test('RECLF location swap: each image against its report with the location words of another report, or its own permuted, written out', async () => {
  await useCpu();
  const kb = defaultKnowledgeBase();
  // Report 0's word 1 is 'left', report 1's word 0 is 'right': each report swaps in the other's.
  const entityIds = Int32Array.from([-1, kb.indexOf('left'), -1, kb.indexOf('right'), -1, -1]);
  const swappedWords: Mat[] = [[WORDS[0][0], WORDS[1][0], WORDS[0][2]], [WORDS[0][1], WORDS[1][1], WORDS[1][2]]];
  for (const config of [{ srmRounds: 1 }, { srm: true, srmStage: 'query', srmRounds: 1, irm: 'lse', score: 'cosine' }]) {
    const { method } = build({ ...config, locationSwap: true, swapWeight: 0.5 });
    assert.equal(method.needsEntities, true);
    const x = { ...tinyInputs(), entityIds, entityNegated: new Uint8Array(6), wordMaskValues: Float32Array.from(MASK.flat()) };
    const out = method.loss(x, { training: true, step: 3 });
    const s = method.similarity(x).local!.arraySync() as Mat;
    const sSwapped = method.similarity(tinyInputs({ words: swappedWords })).local!.arraySync() as Mat;
    const softplus = (v: number) => Math.log1p(Math.exp(v));
    const ref = (softplus((sSwapped[0][0] - s[0][0]) / 0.1) + softplus((sSwapped[1][1] - s[1][1]) / 0.1)) / 2;
    close(out.terms.swap.dataSync()[0], 0.5 * ref, 1e-4, `swap term ${JSON.stringify(config)}`);
    close(out.loss.dataSync()[0], out.terms.global.dataSync()[0] + out.terms.local.dataSync()[0] + out.terms.swap.dataSync()[0], 1e-5, 'loss = global + local + swap');
    // Without entity ids (evaluation batches) there is no swap term; with no location word, a zero one.
    assert.equal(method.loss(tinyInputs(), { training: true, step: 3 }).terms.swap, undefined);
    const none = method.loss({ ...x, entityIds: new Int32Array(6).fill(-1) }, { training: true, step: 3 });
    assert.equal(none.terms.swap.dataSync()[0], 0);
  }
  // Within the report: report 1 names 'left' (word 0) and 'right' (word 2), so they trade places;
  // report 0 names one side only and gets no negative.
  {
    const { method } = build({ locationSwap: 'within-report' });
    const ids = Int32Array.from([-1, kb.indexOf('left'), -1, kb.indexOf('left'), -1, kb.indexOf('right')]);
    const x = { ...tinyInputs(), entityIds: ids, entityNegated: new Uint8Array(6), wordMaskValues: Float32Array.from(MASK.flat()) };
    const out = method.loss(x, { training: true, step: 0 });
    const s = method.similarity(x).local!.arraySync() as Mat;
    const permuted = method.similarity(tinyInputs({ words: [WORDS[0], [WORDS[1][2], WORDS[1][1], WORDS[1][0]]] })).local!.arraySync() as Mat;
    close(out.terms.swap.dataSync()[0], Math.log1p(Math.exp((permuted[1][1] - s[1][1]) / 0.1)), 1e-4, 'within-report swap term');
  }
  // Only a finding word to swap: not a location, so no negative.
  const { method } = build({ locationSwap: true });
  const findingOnly = Int32Array.from([-1, kb.indexOf('pneumothorax'), -1, kb.indexOf('nodule'), -1, -1]);
  assert.ok(findingOnly[1] >= 0 && findingOnly[3] >= 0);
  const r = method.loss({ ...tinyInputs(), entityIds: findingOnly, entityNegated: new Uint8Array(6), wordMaskValues: Float32Array.from(MASK.flat()) }, { training: true, step: 0 });
  assert.equal(r.terms.swap.dataSync()[0], 0);
});

test("RECLF within-report swap of the word features: a permutation of the same features, so the scores cannot tell it (why swapAt 'tokens')", async () => {
  await useCpu();
  const kb = defaultKnowledgeBase();
  const ids = Int32Array.from([-1, kb.indexOf('left'), -1, kb.indexOf('left'), -1, kb.indexOf('right')]);
  for (const config of [{}, { srm: true, srmStage: 'query', relationLogits: 'cosine', irm: 'lse', score: 'cosine' }]) {
    const { method } = build({ ...config, locationSwap: 'within-report' });
    const x = { ...tinyInputs(), entityIds: ids, entityNegated: new Uint8Array(6), wordMaskValues: Float32Array.from(MASK.flat()) };
    close(method.loss(x, { training: true, step: 0 }).terms.swap.dataSync()[0], Math.log(2), 1e-5, `swap term ${JSON.stringify(config)}`);
  }
});

test("RECLF swapAt 'tokens': the method plans the within-report swap on the host and scores the re-encoded reports it is given", async () => {
  await useCpu();
  const kb = defaultKnowledgeBase();
  const ids = Int32Array.from([-1, kb.indexOf('left'), -1, kb.indexOf('left'), -1, kb.indexOf('right')]);
  const { method } = build({ srm: true, srmStage: 'query', relationLogits: 'cosine', irm: 'lse', score: 'cosine', locationSwap: 'within-report', swapAt: 'tokens', swapWeight: 0.5 });
  const plan = method.planTextVariants!({ b: 2, n: 3, entityIds: ids, entityNegated: new Uint8Array(6), wordMask: Float32Array.from(MASK.flat()), step: 0 });
  assert.deepEqual(plan?.reports, [1], "report 1 names 'left' and 'right'; report 0 one side only");
  assert.deepEqual(Array.from(plan!.source), [0, 1, 2, 5, 4, 3]);
  assert.equal(method.planTextVariants!({ b: 2, n: 3, entityIds: new Int32Array(6).fill(-1), wordMask: Float32Array.from(MASK.flat()), step: 0 }), null);
  // What the encoder would give for report 1 read from its swapped tokens: other features than a permutation.
  const reencoded = [[[0.3, -1, 2], [0.5, 0.5, 0.1], [-2, 0.4, 1]]];
  const x = {
    ...tinyInputs(), entityIds: ids, entityNegated: new Uint8Array(6), wordMaskValues: Float32Array.from(MASK.flat()),
    textVariants: { plan: plan!, words: tf.tensor3d(reencoded), wordMask: tf.tensor2d([MASK[1]]) },
  };
  const out = method.loss(x, { training: true, step: 0 });
  const s = method.similarity(x).local!.arraySync() as Mat;
  const sNeg = method.similarity(tinyInputs({ words: [WORDS[0], reencoded[0]] })).local!.arraySync() as Mat;
  close(out.terms.swap.dataSync()[0], 0.5 * Math.log1p(Math.exp((sNeg[1][1] - s[1][1]) / 0.1)), 1e-4, 'swap term');
  // Batches without variants (validation, the word-level probe) have no swap term, entity ids or not.
  assert.equal(method.loss({ ...x, textVariants: undefined }, { training: true, step: 0 }).terms.swap, undefined);
  const { method: features } = build({ locationSwap: 'within-report' });
  assert.equal(features.planTextVariants, undefined, "swapAt 'features' needs no re-encoding");
});

test('RECLF masking: a padded word changes nothing; one real word works', async () => {
  await useCpu();
  for (const reading of ['cross', 'within']) {
    const { method } = build({ reading });
    const changed = WORDS.map((w) => w.map((row) => [...row]));
    changed[0][2] = [4, -7, 0.5];
    const a = tinyInputs();
    const b = tinyInputs({ words: changed });
    close(method.loss(b, { training: true, step: 0 }).loss.dataSync()[0], method.loss(a, { training: true, step: 0 }).loss.dataSync()[0], 1e-5, `${reading} loss`);
    const ea = method.explain(a);
    const eb = method.explain(b);
    for (const k of ['attention', 'relation', 'importance', 'localScore'] as const) closeArr(eb[k].dataSync(), Array.from(ea[k].dataSync()), 1e-5, `${reading} ${k}`);
    const single = tinyInputs({ mask: [[0, 1, 0], [1, 1, 1]] });
    const es = method.explain(single);
    closeArr((es.importance.arraySync() as Mat)[0], [0, 1, 0], 1e-6, `${reading} single importance`);
    closeArr((es.relation.arraySync() as Mat[])[0].flat(), [0, 0, 0, 0, 1, 0, 0, 0, 0], 1e-6, `${reading} single relation`);
    assert.ok(Number.isFinite(method.loss(single, { training: true, step: 0 }).loss.dataSync()[0]));
  }
});

test('RECLF within reading: IRM importances weight the token loss and train W_m, SRM and w_a', async () => {
  await useCpu();
  const { method, params } = build({ reading: 'within' });
  assert.ok(!params.has('align.reclf.w_s'), 'a cosine score has no w_s');
  const x = tinyInputs();
  const { value, grads } = tf.variableGrads(() => method.loss(x, { training: true, step: 0 }).loss, params.trainable());
  assert.ok(Number.isFinite(value.dataSync()[0]));
  for (const name of params.trainableNames()) {
    const g = Array.from(grads[name].dataSync());
    assert.ok(g.every(Number.isFinite) && g.some((v) => Math.abs(v) > 1e-9), `gradient of ${name}`);
  }
});

test('RECLF learned temperature is a parameter and receives a gradient', async () => {
  await useCpu();
  const { method, params } = build({ learnTemperature: true });
  const { grads } = tf.variableGrads(() => method.loss(tinyInputs(), { training: true, step: 0 }).loss, params.trainable());
  assert.ok(Math.abs(grads['align.reclf.log_inv_tau'].dataSync()[0]) > 0);
});

test('RECLF cosine attention: each word softmaxes gamma1 * cos(e_i, v_j) over regions, the same in the cross and paired forms', async () => {
  await useCpu();
  const { method } = build({ attention: 'cosine', gamma1: 7, srmRounds: 1 });
  const x = tinyInputs();
  const att = method.explain(x).attention.arraySync() as Mat[];
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < 3; i++) {
      if (!MASK[b][i]) continue;
      const e = l2n(WORDS[b][i]);
      const ref = softmax(REGIONS[b].map((v) => 7 * dot(e, l2n(v))), REGIONS[b].map(() => 1));
      closeArr(att[b][i], ref, 1e-5, `attention[${b}][${i}]`);
    }
  }
  // The cross form scores pair (i, i) exactly as the paired form does.
  const cross = method.similarity(x).local!.arraySync() as Mat;
  const paired = method.explain(x).localScore.arraySync() as number[];
  for (let b = 0; b < 2; b++) close(cross[b][b], paired[b], 1e-5, `s[${b}]`);
});
