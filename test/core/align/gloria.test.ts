import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gloriaCrossScores, gloriaPaired, createGloria } from '../../../src/core/align/gloria';
import { crossAttention, pairedAttention } from '../../../src/core/align/local-attention';
import { ParamStore } from '../../../src/core/models/params';
import { Rng } from '../../../src/core/rng';
import { MASK, REGIONS, WORDS, close, closeArr, tinyInputs, useCpu } from './fixture';
import { diagCE, gloriaPair, transpose } from './ref';

test('GLoRIA attention (words first, then gamma1 over regions), r_i and LogSumExp score match a hand loop', async () => {
  await useCpu();
  const x = tinyInputs();
  const got = gloriaPaired(x, 4, 5);
  const att = got.attention.arraySync() as number[][][];
  const r = got.r.arraySync() as number[][];
  const z = got.z.dataSync();
  for (let b = 0; b < 2; b++) {
    const ref = gloriaPair(WORDS[b], REGIONS[b], MASK[b], 4, 5);
    for (let i = 0; i < 3; i++) {
      if (!MASK[b][i]) continue;
      closeArr(att[b][i], ref.attn[i], 1e-5, `attn[${b}][${i}]`);
      close(r[b][i], ref.r[i], 1e-5, `r[${b}][${i}]`);
    }
    close(z[b], ref.z, 1e-5, `z[${b}]`);
  }
});

test('cross-pair scores equal the per-pair loop, and the paired path is their diagonal', async () => {
  await useCpu();
  const x = tinyInputs();
  const s = gloriaCrossScores(x, 4, 5).arraySync() as number[][];
  for (let i = 0; i < 2; i++) for (let t = 0; t < 2; t++) close(s[i][t], gloriaPair(WORDS[t], REGIONS[i], MASK[t], 4, 5).z, 1e-5, `Z[${i}][${t}]`);
  const cross = crossAttention(x.words, x.regions, x.wordMask, 4).attention.arraySync() as number[][][][];
  const paired = pairedAttention(x.words, x.regions, x.wordMask, 4).attention.arraySync() as number[][][];
  for (let b = 0; b < 2; b++) closeArr(cross[b][b].flat(), paired[b].flat(), 1e-6, `diag ${b}`);
});

test('GLoRIA loss = global + symmetric CE of gamma3 * Z', async () => {
  await useCpu();
  const x = tinyInputs();
  const m = createGloria({ params: new ParamStore(new Rng(1)), dim: 3, config: {} });
  const out = m.loss(x, { training: true, step: 0 });
  const z = [0, 1].map((i) => [0, 1].map((t) => 10 * gloriaPair(WORDS[t], REGIONS[i], MASK[t], 4, 5).z));
  close(out.terms.local.dataSync()[0], diagCE(z) + diagCE(transpose(z)), 1e-4, 'local');
  close(out.loss.dataSync()[0], out.terms.local.dataSync()[0] + out.terms.global.dataSync()[0], 1e-5, 'sum');
});

test('padded words change nothing; a report with a single real word still works', async () => {
  await useCpu();
  const m = createGloria({ params: new ParamStore(new Rng(1)), dim: 3, config: {} });
  const a = tinyInputs();
  const changed = WORDS.map((w) => w.map((row) => [...row]));
  changed[0][2] = [-3, 0.5, 100];
  const b = tinyInputs({ words: changed });
  close(m.loss(b, { training: true, step: 0 }).loss.dataSync()[0], m.loss(a, { training: true, step: 0 }).loss.dataSync()[0], 1e-6, 'loss');
  closeArr(m.explain(b).attention.dataSync(), Array.from(m.explain(a).attention.dataSync()), 1e-6, 'attention');

  const single = tinyInputs({ mask: [[1, 0, 0], [1, 1, 1]] });
  const out = m.loss(single, { training: true, step: 0 }).loss.dataSync()[0];
  assert.ok(Number.isFinite(out));
  const att = m.explain(single).attention.arraySync() as number[][][];
  // one real word takes all of every region's word-softmax, so its attention is uniform
  closeArr(att[0][0], [0.5, 0.5], 1e-6, 'uniform');
  closeArr(att[0][1], [0, 0], 0, 'padded row');
  close(m.explain(single).localScore.dataSync()[0], gloriaPair(WORDS[0], REGIONS[0], [1, 0, 0], 4, 5).z, 1e-5, 'z single');
});

test('no NaN when every word of a report is masked', async () => {
  await useCpu();
  const m = createGloria({ params: new ParamStore(new Rng(1)), dim: 3, config: {} });
  const x = tinyInputs({ mask: [[0, 0, 0], [1, 1, 1]] });
  const e = m.explain(x);
  for (const t of [e.attention, e.relation, e.importance, e.localScore]) assert.ok(Array.from(t.dataSync()).every(Number.isFinite));
  assert.ok(Array.from(m.similarity(x).local!.dataSync()).every((v) => !Number.isNaN(v)));
});
