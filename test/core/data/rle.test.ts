import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSiimRle, encodeSiimRle, maskBoundingBox, unionMask } from '../../../src/core/data/rle';
import { DataError } from '../../../src/core/errors';

// Rows of a row-major mask as strings, for readable expectations.
function rows(m: { width: number; height: number; data: Uint8Array }): string[] {
  const out: string[] = [];
  for (let y = 0; y < m.height; y++) out.push(Array.from(m.data.subarray(y * m.width, (y + 1) * m.width)).join(''));
  return out;
}

test('relative starts and column-major order (hand-worked 4 wide x 3 high)', () => {
  // Column-major pixel p -> (x = floor(p / 3), y = p % 3).
  // "1 2": pixels 1,2 -> (0,1),(0,2).  "3 2": next start = 3 + 3 = 6 -> pixels 6,7 -> (2,0),(2,1).
  const m = decodeSiimRle('1 2 3 2', 4, 3);
  assert.deepEqual(rows(m), ['0010', '1010', '1000']);
  assert.deepEqual(maskBoundingBox(m), [0, 0, 3, 3]);
});

test('a run crossing a column boundary continues at the top of the next column', () => {
  const m = decodeSiimRle(' 2 3', 2, 3); // pixels 2,3,4 -> (0,2),(1,0),(1,1)
  assert.deepEqual(rows(m), ['01', '01', '10']);
});

test('" -1" and empty strings are empty masks; encode gives "-1"', () => {
  for (const s of [' -1', '-1', '']) assert.equal(decodeSiimRle(s, 3, 3).data.reduce((a, b) => a + b, 0), 0);
  assert.equal(encodeSiimRle(decodeSiimRle(' -1', 3, 3)), '-1');
  assert.equal(maskBoundingBox(decodeSiimRle('-1', 3, 3)), undefined);
});

test('encode is the inverse of decode, including a run reaching the last pixel', () => {
  for (const rle of ['1 2 3 2', '0 1', '0 12', '5 7', '2 1 1 1 1 1']) {
    assert.equal(encodeSiimRle(decodeSiimRle(rle, 4, 3)), rle);
  }
});

test('several rows of one image are unioned', () => {
  const a = decodeSiimRle('0 1', 2, 2);
  unionMask(a, decodeSiimRle('3 1', 2, 2));
  assert.deepEqual(rows(a), ['10', '01']);
});

test('malformed RLE throws DataError', () => {
  assert.throws(() => decodeSiimRle('1 2 3', 4, 3), (e: unknown) => e instanceof DataError && /odd/.test(e.message));
  assert.throws(() => decodeSiimRle('10 5', 4, 3), (e: unknown) => e instanceof DataError && /past the 4x3/.test(e.message));
  assert.throws(() => decodeSiimRle('a 1', 4, 3), DataError);
  assert.throws(() => decodeSiimRle('-2 1', 4, 3), DataError);
});
