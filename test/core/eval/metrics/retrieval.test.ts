import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactPairRetrieval, imageTextRetrieval, pairRanks, precisionAtK } from '../../../../src/core/eval/metrics/retrieval';

// sim[image][text]; texts 0 and 1 are the same report (identical columns 0 and 1).
const SIM = [
  [0.9, 0.9, 0.1],
  [0.8, 0.8, 0.2],
  [0.3, 0.2, 0.7],
];

test('exact pairs: a duplicate report at another index is not a hit', () => {
  // image 0: own 0.9, text 1 also 0.9 (tie counted against) -> rank 2
  // image 1: own 0.8, text 0 also 0.8 -> rank 2
  // image 2: own 0.7 > 0.3, 0.2 -> rank 1
  assert.deepEqual(pairRanks(SIM), [2, 2, 1]);
  const r = exactPairRetrieval(SIM, [1, 5]);
  assert.equal(r.recall[1], 1 / 3);
  assert.equal(r.recall[5], 1);
  assert.equal(r.meanRank, 5 / 3);
  assert.equal(r.medianRank, 2);
  // optimistic ties: both duplicates at rank 1 -> R@1 = 1
  assert.deepEqual(pairRanks(SIM, 'optimistic'), [1, 1, 1]);
});

test('text->image uses the columns', () => {
  // text 0 over images [0.9, 0.8, 0.3]: own 0.9 -> rank 1
  // text 1 over images [0.9, 0.8, 0.2]: own 0.8 < 0.9 -> rank 2
  // text 2 over images [0.1, 0.2, 0.7]: rank 1
  const r = imageTextRetrieval(SIM, [1, 5, 10]);
  assert.equal(r.textToImage.recall[1], 2 / 3);
  assert.equal(r.textToImage.meanRank, 4 / 3);
  assert.equal(r.imageToText.recall[10], 1);
  assert.throws(() => pairRanks([[1, 2]]), /square/);
});

test('precisionAtK counts candidates labelled 1 for the query class (ConVIRT)', () => {
  // candidate labels over 2 classes
  const cand = [[1, 0], [1, 1], [0, 1], [0, 0]];
  const sim = [
    [0.9, 0.1, 0.8, 0.5], // query of class 0: order c0, c2, c3, c1 -> hits 1,0 -> P@1 1, P@2 1/2
    [0.2, 0.3, 0.1, 0.9], // query of class 1: order c3, c1, c0, c2 -> hits 0,1 -> P@1 0, P@2 1/2
  ];
  const p = precisionAtK(sim, [0, 1], cand, [1, 2, 4]);
  assert.equal(p[1], 0.5); // (1 + 0) / 2
  assert.equal(p[2], 0.5); // (1/2 + 1/2) / 2
  // K = 4 takes every candidate: class 0 has 2 of 4, class 1 has 2 of 4 -> 1/2
  assert.equal(p[4], 0.5);
});

test('precisionAtK breaks score ties by candidate order', () => {
  // all equal: top-1 is candidate 0 (label 0 for class 1) -> 0; top-2 adds candidate 1 -> 1/2
  const p = precisionAtK([[0.5, 0.5, 0.5]], [1], [[0, 0], [0, 1], [0, 1]], [1, 2]);
  assert.equal(p[1], 0);
  assert.equal(p[2], 0.5);
});
