import { test } from 'node:test';
import assert from 'node:assert/strict';
import { textSwapPlan, withinReportSwapPlan, type SwapKind } from '../../../src/core/align/text-swap';
import { Rng } from '../../../src/core/rng';

// Entity rows: 0, 1 findings; 5, 6 locations; 9 a modifier.
const kindOf = (row: number): SwapKind | null => (row <= 1 ? 'finding' : row === 5 || row === 6 ? 'location' : null);

test('finding and location words are read from a partner report with different entities', () => {
  const n = 4;
  // report 0: "right(5) effusion(0) severe(9) pad"; report 1: "left(6) pneumothorax(1) x x";
  // report 2: "effusion(0) negated-pneumothorax(1) right(5) x" -> same entity sets as report 0 (never its partner)
  const ids = [5, 0, 9, -1, 6, 1, -1, -1, 0, 1, 5, -1];
  const neg = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0];
  const mask = [1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1];
  const plan = textSwapPlan(ids, neg, mask, 3, n, kindOf, new Rng(4));
  const partner = new Map(plan.reports.map((r, k) => [r, plan.partners[k]]));
  assert.equal(partner.get(0), 1, 'report 2 states the same entities as report 0');
  assert.equal(partner.get(2), 1);
  assert.ok(partner.get(1) === 0 || partner.get(1) === 2);
  // report 0 reads location and finding slots from report 1; the modifier and the padding stay
  assert.deepEqual(Array.from(plan.source.slice(0, 4)), [4, 5, 2, 3]);
  // report 2: its finding slot 8 <- report 1's finding 5; the negated slot 9 is untouched; location 10 <- 4
  assert.deepEqual(Array.from(plan.source.slice(8, 12)), [5, 9, 4, 11]);
});

test('no partner with different entities: no negative', () => {
  const plan = textSwapPlan([0, 0, -1, -1], undefined, [1, 1, 1, 1], 2, 2, kindOf, new Rng(1));
  assert.deepEqual(plan.reports, []);
  assert.deepEqual(Array.from(plan.source), [0, 1, 2, 3]);
  // a report with more words than its partner cycles through the partner's words
  const cyc = textSwapPlan([0, 0, 1, -1], undefined, [1, 1, 1, 1], 2, 2, kindOf, new Rng(1));
  assert.deepEqual(Array.from(cyc.source), [2, 2, 0, 3]);
  assert.deepEqual(cyc.reports, [0, 1]);
});

test('within a report, location words of one group are cycled among its entities; negated, padded and lone ones stay', () => {
  // Groups: 5, 6, 7 sides; 8, 9 zones; 0 a finding (no group).
  const groupOf = (row: number): string | null => (row >= 5 && row <= 7 ? 'side' : row >= 8 ? 'zone' : null);
  const n = 6;
  // report 0: right(5) zone8 effusion(0) left(6) zone9 left(6)   -> sides cycle 5 -> 6 -> 5, zones 8 <-> 9
  // report 1: right(5) effusion(0) negated-left(6) pad pad pad   -> one side left after negation: unchanged
  // report 2: bilateral(7) x x x x padded-right(5)               -> the padded word does not count: unchanged
  const ids = [5, 8, 0, 6, 9, 6, 5, 0, 6, -1, -1, -1, 7, -1, -1, -1, -1, 5];
  const neg = [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0];
  const plan = withinReportSwapPlan(ids, neg, mask, 3, n, groupOf);
  assert.deepEqual(plan.reports, [0]);
  assert.deepEqual(plan.partners, [0]);
  // right(0) reads left's first slot (3); left's slots (3, 5) read right's slot (0); zones swap.
  assert.deepEqual(Array.from(plan.source.slice(0, 6)), [3, 4, 2, 0, 1, 0]);
  assert.deepEqual(Array.from(plan.source.slice(6)), [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
});
