// Train warns when the budget passes over a small training split too often, and says what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetWarning, countTrainStudies, trainingBudget } from '../../src/extension/train-budget';

test('the issue\'s case (150 steps of 32 on 160 studies) warns; 10000 studies do not', () => {
  const small = trainingBudget({ train: { epochs: 30, maxSteps: 150, batchSize: 32 } }, 160)!;
  assert.deepEqual([small.totalSteps, small.epochs], [150, 30]);
  const w = budgetWarning(small)!;
  assert.match(w, /30 passes over a training split of 160 studies/);
  assert.match(w, /at least 240 training studies/);
  assert.match(w, /Generate Synthetic Dataset offers 10000/);
  assert.equal(budgetWarning(trainingBudget({ train: { epochs: 30, maxSteps: 150, batchSize: 32 } }, 8000)!), undefined);
  assert.match(budgetWarning(trainingBudget({ train: { epochs: 5, batchSize: 32 } }, 20)!)!, /fewer than one batch/);
  assert.equal(countTrainStudies('{"id":"a","split":"train"}\n{"id":"b","split": "valid"}\n{"id":"c", "split" : "train"}\n'), 2);
});
