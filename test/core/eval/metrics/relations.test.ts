import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relationMetrics, type RelationWord } from '../../../../src/core/eval/metrics/relations';

const EFF = { finding: 'pleural effusion', location: 'left basal' };
// study 1: "left effusion is pneumothorax" (w3 = a finding without a location word: not scored)
const WORDS1: RelationWord[] = [
  { role: 'location', ...EFF }, { role: 'finding', ...EFF }, { role: 'function' }, { role: 'finding', finding: 'pneumothorax' },
];
const REL1 = [
  0.1, 0.6, 0.2, 0.1,
  0.5, 0.3, 0.1, 0.1, // row of "effusion": best j != 1 is j = 0, its own location -> hit
  0.25, 0.25, 0.25, 0.25,
  0.1, 0.2, 0.3, 0.4,
];
// study 2: "left effusion and": the finding's row peaks on the function word -> miss
const WORDS2: RelationWord[] = [{ role: 'location', ...EFF }, { role: 'finding', ...EFF }, { role: 'function' }];
const REL2 = [
  0.5, 0.2, 0.3,
  0.3, 0.3, 0.4,
  0.3, 0.3, 0.4,
];

test('top-1 relation accuracy of finding words', () => {
  const r = relationMetrics([{ relation: REL1, words: WORDS1 }, { relation: REL2, words: WORDS2 }]);
  assert.equal(r.scoredFindingWords, 2);
  assert.equal(r.top1Accuracy, 0.5);
});

test('top-1 per finding: each finding\'s own words, findings without a location word absent', () => {
  // study 3: "right pneumothorax": its row peaks on its location -> hit for pneumothorax alone
  const PTX = { finding: 'pneumothorax', location: 'right' };
  const words3: RelationWord[] = [{ role: 'location', ...PTX }, { role: 'finding', ...PTX }];
  const r = relationMetrics([{ relation: REL1, words: WORDS1 }, { relation: REL2, words: WORDS2 }, { relation: [0, 1, 1, 0], words: words3 }]);
  assert.deepEqual(r.top1ByFinding, { 'pleural effusion': { accuracy: 0.5, scored: 2 }, pneumothorax: { accuracy: 1, scored: 1 } });
  assert.equal(r.top1Accuracy, 2 / 3);
});

test('pair AUROC, all off-diagonal pairs as negatives, pooled over studies', () => {
  // study 1 alone: positives (1,0)=0.5, (0,1)=0.6 exceed all 10 other off-diagonal values -> 1
  assert.equal(relationMetrics([{ relation: REL1, words: WORDS1 }]).pairAuroc, 1);
  // study 2 alone: positives (1,0)=0.3, (0,1)=0.2; negatives (0,2)=0.3 (1,2)=0.4 (2,0)=0.3 (2,1)=0.3
  // 0.3: 1/2 + 0 + 1/2 + 1/2 = 1.5; 0.2: 0 -> 1.5/8 = 0.1875
  assert.equal(relationMetrics([{ relation: REL2, words: WORDS2 }]).pairAuroc, 0.1875);
  // pooled: positives [0.5, 0.6, 0.3, 0.2]; negatives: study 1's ten
  // [0.2,0.1,0.1,0.1,0.25,0.25,0.25,0.1,0.2,0.3] and study 2's [0.3,0.4,0.3,0.3] (14)
  // 0.5 -> 14, 0.6 -> 14, 0.3 -> 9 below + 4 ties/2 = 11, 0.2 -> 4 below + 2 ties/2 = 5
  // U = 44 / (4 * 14) = 11/14
  const r = relationMetrics([{ relation: REL1, words: WORDS1 }, { relation: REL2, words: WORDS2 }]);
  assert.equal(r.positivePairs, 4);
  assert.equal(r.negativePairs, 14);
  assert.ok(Math.abs(r.pairAuroc - 11 / 14) < 1e-12);
});

test('per-study pair AUROC: the mean of each study\'s own, studies without a positive left out', () => {
  // study 1 alone is 1, study 2 alone 0.1875 (above): the mean is 0.59375, not the pooled 11/14
  const r = relationMetrics([{ relation: REL1, words: WORDS1 }, { relation: REL2, words: WORDS2 }]);
  assert.equal(r.studiesScored, 2);
  assert.ok(Math.abs(r.meanStudyAuroc - (1 + 0.1875) / 2) < 1e-12);
  // A study with no finding-location pair has no AUROC of its own and does not count.
  const none = relationMetrics([{ relation: REL2, words: WORDS2 }, { relation: [0.5, 0.5, 0.5, 0.5], words: [{ role: 'function' }, { role: 'finding', finding: 'x' }] }]);
  assert.equal(none.studiesScored, 1);
  assert.equal(none.meanStudyAuroc, 0.1875);
  // Uniform rows of different lengths: pooled weights differ by length, each study's AUROC is 0.5.
  const uniform = (n: number): number[] => Array.from({ length: n * n }, () => 1 / n);
  const u = relationMetrics([{ relation: uniform(3), words: WORDS2 }, { relation: uniform(4), words: WORDS1 }]);
  assert.equal(u.meanStudyAuroc, 0.5);
  assert.notEqual(u.pairAuroc, 0.5);
});

test('finding-rows negatives and padded matrices', () => {
  // study 2, finding-rows: positives (1,0)=0.3 and (0,1)=0.2, negative (1,2)=0.4 only -> 0
  const r = relationMetrics([{ relation: REL2, words: WORDS2 }], 'finding-rows');
  assert.equal(r.negativePairs, 1);
  assert.equal(r.pairAuroc, 0);
  // the same study padded to stride 4 gives the same answer
  const padded = [0.5, 0.2, 0.3, 9, 0.3, 0.3, 0.4, 9, 0.3, 0.3, 0.4, 9, 9, 9, 9, 9];
  assert.equal(relationMetrics([{ relation: padded, words: WORDS2, stride: 4 }]).top1Accuracy, 0);
  assert.throws(() => relationMetrics([{ relation: [1, 2, 3], words: WORDS2 }]), /expected 3x3/);
});

test('hub share: rows that all pick the same words read near 1, rows that each pick their own read 2/n', () => {
  const words: RelationWord[] = Array.from({ length: 5 }, () => ({ role: 'function' as const }));
  const peaked = (pick: number[]): number[] => pick.flatMap((p, i) => Array.from({ length: 5 }, (_, j) => (j === i ? 0 : j === p ? 0.6 : 0.1)));
  // Every row on word 4 (its own row on word 0): the two most-picked words take all five rows.
  const hub = relationMetrics([{ relation: peaked([4, 4, 4, 4, 0]), words }]);
  assert.equal(hub.hubShare, 1);
  // Each row a different partner: two rows of five.
  const spread = relationMetrics([{ relation: peaked([1, 2, 3, 4, 0]), words }]);
  assert.equal(spread.hubShare, 0.4);
  // Mean over reports; reports of fewer than five rows (REL1, REL2) and all-zero rows are left out.
  const zeroRow = peaked([1, 2, 3, 4, 0]).map((v, k) => (k >= 20 ? 0 : v));
  const mixed = relationMetrics([
    { relation: REL1, words: WORDS1 }, { relation: peaked([4, 4, 4, 4, 0]), words }, { relation: zeroRow, words },
    { relation: peaked([1, 2, 3, 4, 0]), words },
  ]);
  // zeroRow keeps four rows with weight, under the five-row minimum: (1 + 0.4) / 2.
  assert.ok(Math.abs(mixed.hubShare - 0.7) < 1e-12);
  assert.ok(Number.isNaN(relationMetrics([{ relation: REL1, words: WORDS1 }]).hubShare));
});
