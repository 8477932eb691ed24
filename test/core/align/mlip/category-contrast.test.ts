import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { categoryLoss, categoryMeans, findingCategories, knowledgeTargets } from '../../../../src/core/align/mlip/category-contrast';
import { prototypeLoss } from '../../../../src/core/align/mgca';
import { defaultKnowledgeBase } from '../../../../src/core/knowledge/kb';
import { IMG, TXT, close, closeArr, useCpu } from '../fixture';
import { dot, l2n, logSumExp, type Mat } from '../ref';

test('one prototype per knowledge-base category that has findings; every finding maps to one', () => {
  const kb = defaultKnowledgeBase();
  const { ids, ofEntity } = findingCategories(kb);
  assert.ok(ids.includes('fluid') && ids.includes('air') && ids.includes('opacity-type'));
  assert.ok(!ids.includes('device') && !ids.includes('laterality'));
  kb.entities.forEach((e, row) => {
    if (e.kind === 'finding') assert.equal(ids[ofEntity[row]], e.category, e.id);
    else assert.equal(ofEntity[row], -1, e.id);
  });
  const effusion = kb.lookup('pleural effusion')!;
  assert.equal(ids[ofEntity[kb.indexOf(effusion.id)]], effusion.category);
});

test('prototype initialisation: mean entity embedding of each category', () => {
  // 4 entities, D = 2; entities 0 and 2 in category 1, entity 3 in category 0, entity 1 none.
  const table = new Float32Array([1, 2, 9, 9, 3, -4, 0.5, 0.5]);
  const out = categoryMeans(table, 2, new Int32Array([1, -1, 1, 0]), 3);
  closeArr(out, [0.5, 0.5, 2, -1, 0, 0], 1e-7, 'means');
});

test('knowledge targets: uniform over the categories of stated (not negated) findings', () => {
  // B = 2, N = 3; entity rows 0..3 -> categories [0, 1, 1, -1]
  const ofEntity = new Int32Array([0, 1, 1, -1]);
  const ids = [0, 1, 3, 2, 0, -1];
  const neg = [0, 0, 0, 0, 1, 0];
  const mask = [1, 1, 1, 1, 1, 1];
  const k = knowledgeTargets(ids, neg, mask, 2, 3, ofEntity, 2);
  closeArr(k.targets, [0.5, 0.5, 0, 1], 1e-7, 'targets');
  closeArr(k.has, [1, 1], 0, 'has');
  const none = knowledgeTargets([3, -1, 0, -1], [0, 0, 1, 0], [1, 1, 1, 1], 2, 2, ofEntity, 2);
  closeArr(none.has, [0, 0], 0, 'no stated finding');
});

test('category loss with prior 1: swapped prediction of the knowledge targets (hand loop)', async () => {
  await useCpu();
  const P: Mat = [[0.3, -0.7, 0.2], [0.5, 0.5, 0.1]];
  const targets = [[0.5, 0.5], [0, 1]];
  const temp = 0.2;
  const loss = categoryLoss(tf.tensor2d(IMG), tf.tensor2d(TXT), tf.tensor2d(P), {
    eps: 0.05, iters: 3, temp, prior: 1, knowledge: { targets: new Float32Array(targets.flat()), has: new Float32Array([1, 1]) },
  });
  const p = P.map(l2n);
  const logp = (x: number[]) => {
    const s = p.map((pk) => dot(l2n(x), pk) / temp);
    const z = logSumExp(s);
    return s.map((v) => v - z);
  };
  let i2t = 0;
  let t2i = 0;
  for (let b = 0; b < 2; b++) {
    const lt = logp(TXT[b]);
    const li = logp(IMG[b]);
    i2t -= targets[b].reduce((s, q, k) => s + q * lt[k], 0) / 2;
    t2i -= targets[b].reduce((s, q, k) => s + q * li[k], 0) / 2;
  }
  close(loss.dataSync()[0], (i2t + t2i) / 2, 1e-5, 'loss');
});

test('category loss without knowledge (or prior 0) is MGCA prototype loss on the category prototypes', async () => {
  await useCpu();
  const P = tf.tensor2d([[0.3, -0.7, 0.2], [0.5, 0.5, 0.1], [-0.2, 0.1, 0.9]]);
  const img = tf.tensor2d(IMG);
  const txt = tf.tensor2d(TXT);
  const ref = prototypeLoss(img, txt, P, 0.05, 3, 0.2).dataSync()[0];
  close(categoryLoss(img, txt, P, { eps: 0.05, iters: 3, temp: 0.2, prior: 0.5 }).dataSync()[0], ref, 1e-6, 'no knowledge');
  const knowledge = { targets: new Float32Array([1, 0, 0, 0, 1, 0]), has: new Float32Array([1, 1]) };
  close(categoryLoss(img, txt, P, { eps: 0.05, iters: 3, temp: 0.2, prior: 0, knowledge }).dataSync()[0], ref, 1e-6, 'prior 0');
  const guided = categoryLoss(img, txt, P, { eps: 0.05, iters: 3, temp: 0.2, prior: 0.5, knowledge }).dataSync()[0];
  assert.ok(Number.isFinite(guided) && Math.abs(guided - ref) > 1e-4, 'the prior changes the targets');
});
