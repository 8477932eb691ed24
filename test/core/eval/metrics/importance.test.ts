import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importanceByThird, importanceMetrics } from '../../../../src/core/eval/metrics/importance';

test('importance AUROC of finding/location words against function words', () => {
  const r = importanceMetrics([
    // positives 0.4, 0.3 vs function 0.1 (modifier ignored) -> 1
    { importance: [0.1, 0.4, 0.3, 0.2], roles: ['function', 'finding', 'location', 'modifier'] },
    // positive 0.2 vs function 0.5, 0.3 -> 0
    { importance: [0.2, 0.5, 0.3], roles: ['finding', 'function', 'function'] },
    // no function word: no per-study AUROC
    { importance: [0.5, 0.5], roles: ['finding', 'location'] },
  ]);
  assert.equal(r.meanStudyAuroc, 0.5);
  assert.equal(r.studiesScored, 2);
  // pooled after scaling by word count: study 1 x4 -> pos 1.6, 1.2, neg 0.4;
  // study 2 x3 -> pos 0.6, neg 1.5, 0.9; study 3 x2 -> pos 1, 1.
  // pos [1.6,1.2,0.6,1,1] vs neg [0.4,1.5,0.9]: 1.6->3, 1.2->2, 0.6->1, 1->2, 1->2 = 10 / 15
  assert.equal(r.positiveWords, 5);
  assert.equal(r.negativeWords, 3);
  assert.ok(Math.abs(r.pooledAuroc - 10 / 15) < 1e-12);
});

test('importance AUROC is NaN without function words anywhere', () => {
  const r = importanceMetrics([{ importance: [0.5, 0.5], roles: ['finding', 'location'] }]);
  assert.ok(Number.isNaN(r.pooledAuroc));
  assert.ok(Number.isNaN(r.meanStudyAuroc));
});

test('importanceByThird: mean importance x word count per third of each report, by hand', () => {
  const r = (n: number) => Array.from({ length: n }, () => 'function' as const);
  // Uniform rows read 1 in every third, whatever the length.
  assert.deepEqual(importanceByThird([{ importance: [0.25, 0.25, 0.25, 0.25], roles: r(4) }, { importance: [0.2, 0.2, 0.2, 0.2, 0.2], roles: r(5) }]), [1, 1, 1]);
  // n = 6: words 0-1, 2-3, 4-5; weights x 6. Padding past the roles is ignored.
  const [a, b, c] = importanceByThird([{ importance: [0.3, 0.2, 0.2, 0.1, 0.1, 0.1, 0.9], roles: r(6) }]);
  assert.ok(Math.abs(a - 1.5) < 1e-9 && Math.abs(b - 0.9) < 1e-9 && Math.abs(c - 0.6) < 1e-9, `${a} ${b} ${c}`);
  // Pooled over words, not averaged over reports; reports of under 3 words are left out.
  const [p] = importanceByThird([{ importance: [1, 0, 0], roles: r(3) }, { importance: [0, 0.5, 0.5], roles: r(3) }, { importance: [1, 0], roles: r(2) }]);
  assert.equal(p, 1.5);
  assert.throws(() => importanceByThird([{ importance: [1], roles: r(3) }]), /study 0 has 3 roles but 1 importances/);
});
