import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { drawWeighted, itmLogits, itmLoss, pairFeatures, sampleNegatives, sampleNegativesOnDevice, type ItmHead } from '../../../../src/core/align/mlip/itm';
import { Rng } from '../../../../src/core/rng';
import { IMG, MASK, REGIONS, TXT, WORDS, close, closeArr, useCpu } from '../fixture';
import { dot, l2n, softmax, type Mat, type Vec } from '../ref';

const GAMMA1 = 4;

/** GLoRIA attention (softmax over real words, then over regions of gamma1 *) and the fused pair feature. */
function refFeature(img: number, txt: number): Vec {
  const e = WORDS[txt];
  const v = REGIONS[img];
  const mask = MASK[txt];
  const overWords = v.map((vj) => softmax(e.map((ei) => dot(ei, vj)), mask)); // [M][N]
  const local = [0, 0, 0];
  let real = 0;
  e.forEach((ei, i) => {
    if (!mask[i]) return;
    real++;
    const a = softmax(v.map((_, j) => GAMMA1 * overWords[j][i]));
    const c = l2n([0, 1, 2].map((d) => a.reduce((s, aj, j) => s + aj * v[j][d], 0)));
    const en = l2n(ei);
    for (let d = 0; d < 3; d++) local[d] += en[d] * c[d];
  });
  const g = l2n(IMG[img]).map((x, d) => x * l2n(TXT[txt])[d]);
  return [...local.map((x) => x / real), ...g];
}

const W1: Mat = [[0.2, -0.1], [0.4, 0.3], [-0.5, 0.2], [0.1, 0.1], [0.3, -0.4], [-0.2, 0.6]];
const HEAD = (): ItmHead => ({ w1: tf.tensor2d(W1), b1: tf.tensor1d([0.05, -0.02]), w2: tf.tensor2d([[1.5], [-0.7]]), b2: tf.tensor1d([0.1]) });

function inputs() {
  return { regions: tf.tensor3d(REGIONS), imageGlobal: tf.tensor2d(IMG), words: tf.tensor3d(WORDS), wordMask: tf.tensor2d(MASK), textGlobal: tf.tensor2d(TXT) };
}

test('ITM pair features and logits match a hand loop (matched and mismatched pairs)', async () => {
  await useCpu();
  const pairs: [number, number][] = [[0, 0], [1, 1], [0, 1], [1, 0]];
  const f = pairFeatures(inputs(), pairs.map((p) => p[0]), pairs.map((p) => p[1]), GAMMA1);
  const got = f.arraySync() as number[][];
  const logits = itmLogits(HEAD(), f).dataSync();
  pairs.forEach(([i, t], p) => {
    const ref = refFeature(i, t);
    closeArr(got[p], ref, 1e-5, `feature ${i},${t}`);
    const h = [0, 1].map((k) => Math.max(0, ref.reduce((s, x, d) => s + x * W1[d][k], 0) + [0.05, -0.02][k]));
    close(logits[p], h[0] * 1.5 - h[1] * 0.7 + 0.1, 1e-5, `logit ${i},${t}`);
  });
});

test('ITM loss: half BCE on matched pairs, half on negatives', async () => {
  await useCpu();
  const sp = (x: number) => Math.log1p(Math.exp(x));
  const l = itmLoss(tf.tensor1d([2, -1]), tf.tensor1d([0.5, -3, 1])).dataSync()[0];
  close(l, ((sp(-2) + sp(1)) / 2 + (sp(0.5) + sp(-3) + sp(1)) / 3) / 2, 1e-6, 'balanced');
  close(itmLoss(tf.tensor1d([2]), tf.tensor1d([])).dataSync()[0], sp(-2), 1e-6, 'no negatives');
});

test('negative sampling never returns the matched pair; hard sampling follows the similarity', () => {
  assert.equal(drawWeighted([0, 0, 0], new Rng(1)), -1);
  assert.equal(drawWeighted([0, 3, 0], new Rng(1)), 1);
  const b = 4;
  // image 0 is far more similar to report 2 than to 1 or 3; report 3 to image 1
  const sim = new Float32Array(b * b).fill(-0.5);
  for (let i = 0; i < b; i++) sim[i * b + i] = 1;
  sim[0 * b + 2] = 0.9;
  sim[1 * b + 3] = 0.9;
  const rng = new Rng(11);
  let hits = 0;
  let hitsT = 0;
  for (let r = 0; r < 200; r++) {
    const { textForImage, imageForText } = sampleNegatives(sim, b, 0.07, rng);
    textForImage.forEach((t, i) => assert.notEqual(t, i));
    imageForText.forEach((i, t) => assert.notEqual(i, t));
    if (textForImage[0] === 2) hits++;
    if (imageForText[3] === 1) hitsT++;
  }
  assert.ok(hits > 190 && hitsT > 190, `hard negatives drawn ${hits}, ${hitsT} / 200`);
  const uniform = Array.from({ length: 300 }, () => sampleNegatives(null, b, 0.07, rng).textForImage[0]);
  for (const t of [1, 2, 3]) assert.ok(uniform.filter((x) => x === t).length > 70, `uniform draw of ${t}`);
});

test('negatives drawn on the device equal the host draws from the same uniforms (hard and uniform)', async () => {
  await useCpu();
  const b = 6;
  const dataRng = new Rng(21);
  const img = Array.from({ length: b * 4 }, () => dataRng.normal(0, 1));
  const txt = Array.from({ length: b * 4 }, () => dataRng.normal(0, 1));
  for (let seed = 0; seed < 20; seed++) {
    for (const hard of [true, false]) {
      const hostRng = new Rng(seed);
      const sim = hard ? tf.tidy(() => {
        const a = tf.tensor2d(img, [b, 4]);
        const t = tf.tensor2d(txt, [b, 4]);
        const n = (x: tf.Tensor2D) => tf.div(x, tf.norm(x, 'euclidean', 1, true));
        return tf.matMul(n(a), n(t), false, true).dataSync();
      }) : null;
      const host = sampleNegatives(sim, b, 0.5, hostRng);
      const devRng = new Rng(seed);
      const u = tf.tensor1d(Array.from({ length: 2 * b }, () => devRng.next()));
      const dev = sampleNegativesOnDevice(hard ? tf.tensor2d(img, [b, 4]) : null, hard ? tf.tensor2d(txt, [b, 4]) : null, b, 0.5, u);
      assert.deepEqual(Array.from(dev.textForImage.dataSync()), host.textForImage, `seed ${seed} hard ${hard} textForImage`);
      assert.deepEqual(Array.from(dev.imageForText.dataSync()), host.imageForText, `seed ${seed} hard ${hard} imageForText`);
      assert.equal(devRng.next(), hostRng.next(), 'the rng is left in the same state');
    }
  }
});
