import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkDistribution, describeDistribution, distributionDistance, invert, pixelStatistics, readDistribution, squareStatistics, PIXEL_STATISTIC, STATISTIC_LENGTH,
} from '../../../src/core/explain/image-distribution';
import { distributionNote } from '../../../src/protocol/explain';
import { Rng } from '../../../src/core/rng';

const S = 64;
const image = (f: (x: number, y: number) => number) => {
  const data = new Float32Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) data[y * S + x] = f(x, y);
  return { width: S, height: S, data };
};

/** A family of smooth "radiographs": a vertical ramp of random brightness, a bright disc somewhere, faint noise. */
function smooth(rng: Rng) {
  const b = 0.3 + 0.4 * rng.next();
  const [cx, cy, r] = [16 + 32 * rng.next(), 16 + 32 * rng.next(), 6 + 6 * rng.next()];
  return image((x, y) => Math.min(1, b * (0.5 + y / S) + ((x - cx) ** 2 + (y - cy) ** 2 < r * r ? 0.3 : 0) + 0.02 * rng.next()));
}

test('squareStatistics: cell means for layout, neighbour differences per block and scale for texture', () => {
  const half = squareStatistics(image((x) => (x < S / 2 ? 0 : 1)));
  assert.equal(half.length, STATISTIC_LENGTH);
  // Layout: the left four columns of the 8x8 grid are dark, the right four bright.
  for (let c = 0; c < 64; c++) assert.equal(half[c], c % 8 < 4 ? 0 : 1);
  // Texture at full scale: only the blocks left of the edge see a difference, one per row of 16 px.
  const full = half.subarray(64, 80);
  for (let b = 0; b < 16; b++) assert.ok(Math.abs(full[b] - (b % 4 === 1 ? 1 / 16 : 0)) < 1e-12, `block ${b}: ${full[b]}`);
  // A one-pixel checkerboard is all texture at full scale and flat once halved.
  const checker = squareStatistics(image((x, y) => (x + y) % 2));
  for (let b = 0; b < 16; b++) assert.equal(checker[64 + b], 2);
  for (let k = 80; k < STATISTIC_LENGTH; k++) assert.equal(checker[k], 0);
  assert.throws(() => squareStatistics({ width: 32, height: 32, data: new Float32Array(32 * 32) }), /at least 64 px, got 32x32/);
  assert.throws(() => squareStatistics({ width: 64, height: 65, data: new Float32Array(64 * 65) }), /square/);
  // Any decoded image is first resized and padded to the statistic's own size.
  const resized = pixelStatistics(image((x) => (x < S / 2 ? 0 : 1)));
  for (let c = 0; c < 64; c++) assert.ok(Math.abs(resized[c] - half[c]) < 0.05, `cell ${c}: ${resized[c]}`);
});

test('invert: a symmetric positive-definite matrix times its inverse is the identity', () => {
  const rng = new Rng(3);
  const n = 12;
  const b = Float64Array.from({ length: n * n }, () => rng.next() - 0.5);
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    for (let k = 0; k < n; k++) m[i * n + j] += b[i * n + k] * b[j * n + k];
    if (i === j) m[i * n + j] += 0.1;
  }
  const inv = invert(m, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += m[i * n + k] * inv[k * n + j];
    assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-8, `(${i}, ${j}) = ${s}`);
  }
  assert.throws(() => invert(new Float64Array(4), 2), /singular/);
});

test('describeDistribution: images of the family lie inside, other layouts and textures outside', () => {
  const rng = new Rng(11);
  const fit = Array.from({ length: 300 }, () => pixelStatistics(smooth(rng)));
  const heldOut = Array.from({ length: 60 }, () => pixelStatistics(smooth(rng)));
  const d = describeDistribution(fit, heldOut, 'smooth test images');
  assert.equal(d.statistic, PIXEL_STATISTIC);
  assert.equal(d.images, 300);
  assert.ok(Math.abs(d.threshold - 1.25 * d.held_out_max) < 1e-4 * d.threshold);
  assert.ok(Math.abs(d.held_out_max - Math.max(...heldOut.map((x) => distributionDistance(d, x)))) < 1e-4);
  // New images of the family are inside.
  for (let i = 0; i < 50; i++) assert.equal(checkDistribution(d, smooth(rng)).outside, false);
  // The same ramp upside down (layout), and the family with coarse grain (texture), are not.
  const flipped = checkDistribution(d, image((x, y) => 0.5 * (1.5 - y / S)));
  assert.equal(flipped.outside, true, `flipped ${flipped.distance} vs ${flipped.threshold}`);
  const grainy = smooth(rng);
  for (let i = 0; i < grainy.data.length; i++) grainy.data[i] = Math.min(1, grainy.data[i] + (Math.floor(i / 2) % 2 ? 0.15 : 0));
  const g = checkDistribution(d, grainy);
  assert.equal(g.outside, true, `grainy ${g.distance} vs ${g.threshold}`);
  assert.match(distributionNote(g)!, /^This image is unlike the images this model was trained on \(smooth test images; pixel-statistics distance \d+\.\d\d, threshold \d+\.\d\d\)/);
  assert.equal(distributionNote(checkDistribution(d, smooth(rng))), undefined);
  assert.throws(() => describeDistribution(fit.slice(0, 1), heldOut, 'x'), RangeError);
});

test('readDistribution: absent or of another statistic claims nothing, malformed names the model and the key', () => {
  assert.equal(readDistribution({}, 'm.onnx'), undefined);
  // Models exported before this check described embeddings; that entry is not read.
  assert.equal(readDistribution({ image_distribution: JSON.stringify({ source: 's', centroid: [1, 0], min_cosine: 0.9, images: 5 }) }, 'm.onnx'), undefined);
  const f = STATISTIC_LENGTH;
  const ok = { source: 's', statistic: PIXEL_STATISTIC, mean: new Array(f).fill(0.5), precision: new Array(f * f).fill(0), threshold: 2, held_out_max: 1.6, images: 9 };
  assert.deepEqual(readDistribution({ image_distribution: JSON.stringify(ok) }, 'm.onnx'), ok);
  for (const [raw, re] of [
    ['{', /is not JSON/], ['3', /must be an object/],
    [JSON.stringify({ ...ok, mean: [1, 2] }), new RegExp(`mean of ${f} numbers`)],
    [JSON.stringify({ ...ok, precision: ok.precision.slice(1) }), /precision matrix/],
    [JSON.stringify({ ...ok, threshold: -1 }), /positive threshold/],
  ] as const) {
    assert.throws(() => readDistribution({ image_distribution: raw }, 'm.onnx'), (e: Error) => /^m\.onnx: ONNX metadata 'image_distribution' /.test(e.message) && re.test(e.message));
  }
});
