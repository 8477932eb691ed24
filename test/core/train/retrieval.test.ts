import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inBatchTopK, inBatchTopKColumns } from '../../../src/core/train/retrieval';

test('in-batch top-k on a hand-made similarity matrix, ties count against', () => {
  // Row 0: own 0.9 is best. Row 1: own 0.5 < 0.7 (rank 2). Row 2: own ties with another (0.4 = 0.4) -> rank 2.
  const sim = [
    0.9, 0.1, 0.2,
    0.7, 0.5, 0.0,
    0.4, 0.1, 0.4,
  ];
  assert.equal(inBatchTopK(sim, 3, 1), 1 / 3);
  assert.equal(inBatchTopK(sim, 3, 2), 1);
  // Columns: col0 own 0.9 best; col1 own 0.5 best; col2 own 0.4 best (0.2, 0.0 below).
  assert.equal(inBatchTopKColumns(sim, 3, 1), 1);
});
