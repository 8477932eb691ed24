// The grid's ceilings for grounding: what a perfect attention over the regions could score.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oracleAttention, oracleCanPoint } from '../../../src/core/eval/grounding';
import { attentionMassInside, gridGeometry } from '../../../src/core/eval/metrics';

// A 32 px image seen as 2x2 regions of 16 px, centres at (8, 8), (24, 8), (8, 24), (24, 24).
const g = gridGeometry(32, 32, 32, 2, 2);

test('a box smaller than a region that misses every centre cannot be pointed at; its best mass is its coverage', () => {
  const box = { box: [0, 0, 4, 4] as [number, number, number, number] };
  assert.equal(oracleCanPoint(g, box, 4), false);
  const a = oracleAttention(g, box, 4);
  assert.deepEqual(Array.from(a), [1, 0, 0, 0]);
  assert.equal(attentionMassInside(a, g, box), 16 / 256);
});

test('a target over some region centre can be pointed at, even when the region it covers most has its centre outside', () => {
  // A mask filling region 0 except the pixel under its centre, plus the pixel under region 1's centre.
  const data = new Uint8Array(32 * 32);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) data[y * 32 + x] = 1;
  data[8 * 32 + 8] = 0;
  data[8 * 32 + 24] = 1;
  const mask = { mask: { width: 32, height: 32, data } };
  assert.deepEqual(Array.from(oracleAttention(g, mask, 4)), [1, 0, 0, 0]);
  assert.equal(oracleCanPoint(g, mask, 4), true);
  data[8 * 32 + 24] = 0;
  assert.equal(oracleCanPoint(g, mask, 4), false);
});
