import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auroc, multiLabelAuroc } from '../../../../src/core/eval/metrics/auroc';

test('auroc without ties is the fraction of positive-negative pairs ordered correctly', () => {
  // positives 0.35, 0.8; negatives 0.1, 0.4.
  // pairs: (0.35>0.1)=1, (0.35>0.4)=0, (0.8>0.1)=1, (0.8>0.4)=1 -> 3/4
  assert.equal(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
});

test('auroc counts ties as one half (Mann-Whitney)', () => {
  // positives 0.5, 0.9; negatives 0.5, 0.5.
  // (0.5 vs 0.5)=1/2 twice, (0.9 vs 0.5)=1 twice -> (0.5+0.5+1+1)/4 = 0.75
  assert.equal(auroc([0.5, 0.5, 0.5, 0.9], [1, 0, 0, 1]), 0.75);
  // everything tied: every pair 1/2 -> 0.5
  assert.equal(auroc([3, 3, 3], [1, 0, 1]), 0.5);
  // perfectly inverted ranking -> 0
  assert.equal(auroc([0.9, 0.1], [0, 1]), 0);
});

test('auroc is NaN when all labels are positive or all negative', () => {
  assert.ok(Number.isNaN(auroc([0.1, 0.2], [1, 1])));
  assert.ok(Number.isNaN(auroc([0.1, 0.2], [0, 0])));
  assert.ok(Number.isNaN(auroc([], [])));
});

test('auroc rejects malformed input', () => {
  assert.throws(() => auroc([0.1], [1, 0]), /lengths differ/);
  assert.throws(() => auroc([0.1, 0.2], [1, 2]), /must be 0 or 1/);
  assert.throws(() => auroc([NaN, 0.2], [1, 0]), /not finite/);
});

test('multiLabelAuroc averages the defined classes only', () => {
  // class 0: positives 0.9 (row 0), negatives 0.2, 0.4 -> 1
  // class 1: all labels 1 -> NaN, left out of the mean
  // class 2: positive 0.3 (row 2) vs negatives 0.5, 0.3 -> (0 + 1/2)/2 = 0.25
  const r = multiLabelAuroc(
    [[0.9, 0.1, 0.5], [0.2, 0.2, 0.3], [0.4, 0.3, 0.3]],
    [[1, 1, 0], [0, 1, 0], [0, 1, 1]],
  );
  assert.equal(r.perClass[0], 1);
  assert.ok(Number.isNaN(r.perClass[1]));
  assert.equal(r.perClass[2], 0.25);
  assert.deepEqual(r.undefinedClasses, [1]);
  assert.equal(r.mean, (1 + 0.25) / 2);
});
