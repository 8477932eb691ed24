import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { knowledgeAttention, selectLinkedTokens, slotEntityEmbeddings, tokenKnowledgeLoss } from '../../../../src/core/align/mlip/token-knowledge-patch';
import { MASK, REGIONS, WORDS, close, closeArr, useCpu } from '../fixture';
import { dot, l2n, logSumExp, softmax, type Mat, type Vec } from '../ref';

// Entity table (3 entities, D = 3) and the slots of the fixture batch (B = 2, N = 3).
const TABLE: Mat = [[0.9, 0.1, -0.2], [-0.3, 0.8, 0.4], [0.2, -0.5, 0.7]];
// report 0: word 0 -> entity 1, word 1 -> entity 2, word 2 padded (linked but must be ignored)
// report 1: word 0 -> entity 1, word 1 negated entity 0, word 2 -> entity 0
const IDS = new Int32Array([1, 2, 0, 1, 0, 0]);
const NEG = new Uint8Array([0, 0, 0, 0, 1, 0]);
const TAU = 0.5;

const mix = (att: Vec, rows: Mat): Vec => l2n(rows[0].map((_, d) => att.reduce((s, a, j) => s + a * rows[j][d], 0)));

function refAttention(b: number, i: number) {
  const q = l2n(TABLE[Math.max(0, IDS[b * 3 + i])]);
  const v = REGIONS[b].map(l2n);
  const e = WORDS[b].map(l2n);
  const pa = softmax(v.map((vj) => dot(q, vj) / TAU));
  const wa = softmax(e.map((ej) => dot(q, ej) / TAU), MASK[b]);
  return { pa, wa, pc: mix(pa, v), wc: mix(wa, e) };
}

test('linked tokens: real, linked, not negated', () => {
  const t = selectLinkedTokens(IDS, NEG, MASK.flat());
  assert.deepEqual(t.slots, [0, 1, 3, 5]);
  assert.deepEqual(t.entities, [1, 2, 1, 0]);
  assert.deepEqual(selectLinkedTokens([-1, 4], undefined, [1, 1]).slots, [1]);
});

test('entity embeddings attend over patches and over the real words of their report (hand loop)', async () => {
  await useCpu();
  const ent = slotEntityEmbeddings(tf.tensor2d(TABLE), IDS, 2, 3);
  const att = knowledgeAttention(ent, tf.tensor3d(WORDS), tf.tensor3d(REGIONS), tf.tensor2d(MASK), TAU);
  const pa = att.patchAttention.arraySync() as number[][][];
  const wa = att.wordAttention.arraySync() as number[][][];
  const pc = att.patchContext.arraySync() as number[][][];
  const wc = att.wordContext.arraySync() as number[][][];
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < 3; i++) {
      const r = refAttention(b, i);
      closeArr(pa[b][i], r.pa, 1e-5, `patch attention ${b},${i}`);
      closeArr(wa[b][i], r.wa, 1e-5, `word attention ${b},${i}`);
      closeArr(pc[b][i], r.pc, 1e-5, `patch context ${b},${i}`);
      closeArr(wc[b][i], r.wc, 1e-5, `word context ${b},${i}`);
    }
  }
  assert.equal(wa[0][0][2], 0, 'the padded word gets no attention');
});

test('token-level InfoNCE over linked tokens, same-entity pairs masked (hand loop)', async () => {
  await useCpu();
  const ent = slotEntityEmbeddings(tf.tensor2d(TABLE), IDS, 2, 3);
  const att = knowledgeAttention(ent, tf.tensor3d(WORDS), tf.tensor3d(REGIONS), tf.tensor2d(MASK), TAU);
  const tokens = selectLinkedTokens(IDS, NEG, MASK.flat());
  const loss = tokenKnowledgeLoss(att, tokens, TAU)!;
  const refs = tokens.slots.map((s) => refAttention(Math.floor(s / 3), s % 3));
  const T = refs.length;
  const S = refs.map((a) => refs.map((c) => dot(a.wc, c.pc) / TAU));
  // tokens 0 (report 0, entity 1) and 2 (report 1, entity 1) are not each other's negatives
  const keep = (i: number, j: number) => (i === j || tokens.entities[i] !== tokens.entities[j] ? 1 : 0);
  let ref = 0;
  for (let i = 0; i < T; i++) {
    const rowMask = S.map((_, j) => keep(i, j));
    ref += logSumExp(S[i], rowMask) - S[i][i];
    ref += logSumExp(S.map((row) => row[i]), rowMask) - S[i][i];
  }
  close(loss.dataSync()[0], ref / (2 * T), 1e-5, 'token loss');
  assert.equal(tokenKnowledgeLoss(att, { slots: [0], entities: [1] }, TAU), null, 'one token: nothing to contrast');
});
