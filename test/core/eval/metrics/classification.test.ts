import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracy, argmaxRows, confusionMatrix, macroF1, poolPromptScores, zScoreColumns,
} from '../../../../src/core/eval/metrics/classification';

const close = (a: number, b: number, eps = 1e-9): void => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('accuracy counts exact matches', () => {
  // matches at 0, 2, 3 -> 3/4
  assert.equal(accuracy([0, 1, 2, 1], [0, 2, 2, 1]), 0.75);
  assert.ok(Number.isNaN(accuracy([], [])));
});

test('macroF1 by hand, over present classes and over numClasses', () => {
  const pred = [0, 0, 1, 1, 2];
  const truth = [0, 1, 1, 1, 2];
  // class 0: tp 1, fp 1 (item 1), fn 0 -> 2/(2+1) = 2/3
  // class 1: tp 2, fp 0, fn 1 (item 1) -> 4/5
  // class 2: tp 1 -> 1
  const r = macroF1(pred, truth);
  assert.deepEqual(r.classes, [0, 1, 2]);
  close(r.perClass[0], 2 / 3);
  close(r.perClass[1], 4 / 5);
  assert.equal(r.perClass[2], 1);
  close(r.macro, 37 / 45); // (10/15 + 12/15 + 15/15) / 3
  // a fourth class never seen scores 0 -> (2/3 + 4/5 + 1 + 0)/4 = 37/60
  close(macroF1(pred, truth, 4).macro, 37 / 60);
});

test('confusionMatrix rows are truth, columns predictions', () => {
  assert.deepEqual(confusionMatrix([0, 0, 1, 1, 2], [0, 1, 1, 1, 2], 3), [[1, 0, 0], [1, 2, 0], [0, 0, 1]]);
  assert.throws(() => confusionMatrix([3], [0], 3), />= numClasses/);
});

test('zScoreColumns uses the population std and zeroes constant columns', () => {
  // col 0: mean 2, std sqrt(((1-2)^2 + (3-2)^2)/2) = 1 -> [-1, 1]; col 1 constant -> 0
  assert.deepEqual(zScoreColumns([[1, 10], [3, 10]]), [[-1, 0], [1, 0]]);
  // one row is left as is (GLoRIA normalises only when there is more than one image)
  assert.deepEqual(zScoreColumns([[5, 7]]), [[5, 7]]);
});

test('z-scoring per class changes the argmax as in GLoRIA zero-shot', () => {
  const scores = [[0.9, 0.2], [0.8, 0.1], [0.85, 0.6]];
  // raw: class 0 wins every row
  assert.deepEqual(argmaxRows(scores), [0, 0, 0]);
  // col 0: mean 0.85, std sqrt((0.05^2+0.05^2+0)/3)=0.040825 -> z = [1.2247, -1.2247, 0]
  // col 1: mean 0.3, std sqrt((0.01+0.04+0.09)/3)=0.216025 -> z = [-0.4629, -0.9258, 1.3887]
  const z = zScoreColumns(scores);
  close(z[0][0], 0.05 / Math.sqrt(0.005 / 3), 1e-9);
  close(z[2][1], 0.3 / Math.sqrt(0.14 / 3), 1e-9);
  assert.deepEqual(argmaxRows(z), [0, 1, 1]);
});

test('poolPromptScores takes the max or the mean over a class prompts', () => {
  assert.deepEqual(poolPromptScores([[0.1, 0.5, 0.3], [0.2, 0.2, 0.8]], 'max'), [0.5, 0.8]);
  close(poolPromptScores([[0.1, 0.5, 0.3]], 'mean')[0], 0.3);
  assert.throws(() => poolPromptScores([[]], 'max'), /no prompt scores/);
});
