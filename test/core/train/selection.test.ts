import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectionScore, type ValidationMetrics } from '../../../src/core/train/trainer';

const v = (loss: number, a: number, b: number): ValidationMetrics =>
  ({ loss, i2t_acc1: a, t2i_acc1: b, i2t_acc5: 0, t2i_acc5: 0, batch: 32, pairs: 96 });

test('best checkpoint: retrieval by default (higher mean acc@1 wins even when the loss rose), or loss', () => {
  const early = v(9.0, 0.10, 0.12);
  const late = v(9.7, 0.18, 0.20);
  assert.ok(selectionScore(late, 'retrieval') > selectionScore(early, 'retrieval'));
  assert.ok(selectionScore(early, 'loss') > selectionScore(late, 'loss'));
  assert.equal(selectionScore(late, 'retrieval'), 0.19);
});
