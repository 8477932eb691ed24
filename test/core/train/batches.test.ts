import { test } from 'node:test';
import assert from 'node:assert/strict';
import { textVariantPieces } from '../../../src/core/train/batches';

// Two reports, T = 9, maxWords 4:
//   report 0: [CLS] right(10) effusion(11) , left(12 13) nodule(14) [SEP]   words 0..3 = right, effusion, left, nodule
//   report 1: [CLS] left(12 13) base(15) [SEP]
const T = 9, N = 4;
const hb = {
  inputIds: Int32Array.from([2, 10, 11, 12, 13, 14, 3, 0, 0, /**/ 2, 12, 13, 15, 3, 0, 0, 0, 0]),
  attentionMask: Float32Array.from([1, 1, 1, 1, 1, 1, 1, 0, 0, /**/ 1, 1, 1, 1, 1, 0, 0, 0, 0]),
  wordIndex: Int32Array.from([-1, 0, 1, 2, 2, 3, -1, -1, -1, /**/ -1, 0, 0, 1, -1, -1, -1, -1, -1]),
};
const identity = (): Int32Array => Int32Array.from({ length: 2 * N }, (_, k) => k);
const row = (a: ArrayLike<number>, r: number): number[] => Array.from(a).slice(r * T, (r + 1) * T);

test("text variants: a word slot takes its source slot's pieces, in the word's own place, specials kept", () => {
  const source = identity();
  source[0] = 2; // report 0: 'right' reads 'left' (two pieces) ...
  source[2] = 0; // ... and 'left' reads 'right'
  const v = textVariantPieces(hb, { source, reports: [0] }, T, N);
  assert.deepEqual(v.plan.reports, [0]);
  assert.deepEqual(row(v.inputIds, 0), [2, 12, 13, 11, 10, 14, 3, 0, 0]);
  assert.deepEqual(row(v.wordIndex, 0), [-1, 0, 0, 1, 2, 3, -1, -1, -1]);
  assert.deepEqual(row(v.attentionMask, 0), [1, 1, 1, 1, 1, 1, 1, 0, 0]);
});

test('text variants: a slot may read another report; a variant past maxLength pieces is left out', () => {
  const source = identity();
  source[N + 1] = 0; // report 1's 'base' reads report 0's 'right'
  const v = textVariantPieces(hb, { source, reports: [1] }, T, N);
  assert.deepEqual(row(v.inputIds, 0), [2, 12, 13, 10, 3, 0, 0, 0, 0]);
  assert.deepEqual(row(v.wordIndex, 0), [-1, 0, 0, 1, -1, -1, -1, -1, -1]);
  // Report 0 fills 7 of 9 pieces; each one-piece word that reads 'left' adds one.
  const long = identity();
  long[1] = 2;
  long[3] = 2;
  assert.deepEqual(textVariantPieces(hb, { source: long, reports: [0, 1] }, T, N).plan.reports, [0, 1], '9 pieces fit');
  long[0] = 2;
  const over = textVariantPieces(hb, { source: long, reports: [0, 1] }, T, N);
  assert.deepEqual(over.plan.reports, [1], 'report 0 would need 10 pieces');
  assert.equal(over.inputIds.length, T);
});

test('text variants: words past maxWords have no slot and stay in place, whatever the next report plans', () => {
  // Report 0 read with maxWords 3: 'nodule' (word 3) has no slot; its index would fall into
  // report 1's first slot, which here reads report 0's 'left'.
  const n = 3;
  const source = Int32Array.from({ length: 2 * n }, (_, k) => k);
  source[n] = 2;
  source[0] = 1; // 'right' reads 'effusion'
  const v = textVariantPieces(hb, { source, reports: [0] }, T, n);
  assert.deepEqual(row(v.inputIds, 0), [2, 11, 11, 12, 13, 14, 3, 0, 0]);
  assert.deepEqual(row(v.wordIndex, 0), [-1, 0, 1, 2, 2, 3, -1, -1, -1]);
});
