import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDistribution, describeDistribution, readDistribution } from '../../../src/core/explain/image-distribution';
import { distributionNote } from '../../../src/protocol/explain';

test('describeDistribution: unit centroid of the directions, threshold at their low quantile', () => {
  // Four embeddings around +x (lengths differ: only directions count).
  const e = new Float32Array([2, 0.2, 0, 1, -0.1, 0, 3, 0, 0.3, 0.5, 0, -0.05]);
  const d = describeDistribution(e, 4, 3, 'test images', 0);
  assert.ok(Math.abs(Math.hypot(...d.centroid) - 1) < 1e-5);
  assert.ok(d.centroid[0] > 0.99);
  const cos = [0, 1, 2, 3].map((i) => checkDistribution(d, e.subarray(i * 3, i * 3 + 3)).cosine);
  assert.ok(Math.abs(d.min_cosine - Math.min(...cos)) < 1e-6, 'quantile 0 is the smallest cosine');
  assert.equal(cos.some((c) => c < d.min_cosine - 1e-6), false);
  const away = checkDistribution(d, [0, 1, 0]);
  assert.equal(away.outside, true);
  assert.match(distributionNote(away)!, /unlike the images this model was trained on \(test images; similarity 0\.\d\d/);
  assert.equal(distributionNote(checkDistribution(d, [1, 0, 0])), undefined);
  assert.throws(() => describeDistribution(new Float32Array(3), 1, 3, 'x'), RangeError);
});

test('readDistribution: absent is fine, malformed names the model and the key', () => {
  assert.equal(readDistribution({}, 'm.onnx'), undefined);
  const ok = readDistribution({ image_distribution: JSON.stringify({ source: 's', centroid: [1, 0], min_cosine: 0.9, images: 5 }) }, 'm.onnx', 2);
  assert.deepEqual(ok, { source: 's', centroid: [1, 0], min_cosine: 0.9, images: 5 });
  for (const [raw, re] of [
    ['{', /is not JSON/], [JSON.stringify({ centroid: [], min_cosine: 0 }), /numeric centroid/],
    [JSON.stringify({ centroid: [1, 'a'], min_cosine: 0 }), /numeric centroid/], [JSON.stringify({ centroid: [1], min_cosine: 2 }), /min_cosine in \[-1, 1\]/],
  ] as const) {
    assert.throws(() => readDistribution({ image_distribution: raw }, 'm.onnx'), (e: Error) => /^m\.onnx: ONNX metadata 'image_distribution' /.test(e.message) && re.test(e.message));
  }
  assert.throws(() => readDistribution({ image_distribution: JSON.stringify({ centroid: [1, 0, 0], min_cosine: 0 }) }, 'm.onnx', 2), /centroid of 3 values, the model's embedding has 2/);
});
