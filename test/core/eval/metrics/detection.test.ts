import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxIou, meanAveragePrecision, MGCA_IOU_THRESHOLDS, nms, type Detection } from '../../../../src/core/eval/metrics/detection';

const close = (a: number, b: number, eps = 1e-12): void => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('IoU of [x,y,w,h] boxes', () => {
  // overlap 1x1, union 4 + 4 - 1 = 7
  close(boxIou([0, 0, 2, 2], [1, 1, 2, 2]), 1 / 7);
  assert.equal(boxIou([0, 0, 2, 2], [0, 0, 2, 2]), 1);
  assert.equal(boxIou([0, 0, 2, 2], [2, 0, 2, 2]), 0); // touching edges
  assert.equal(boxIou([0, 0, 0, 0], [0, 0, 0, 0]), 0); // empty union
});

test('NMS: greedy by score, ties stable by input order, threshold inclusive, max boxes', () => {
  const a: Detection = { box: [0, 0, 10, 10], score: 0.9 };
  const b: Detection = { box: [1, 0, 10, 10], score: 0.8 }; // IoU with a = 90/110 = 0.818
  const c: Detection = { box: [20, 20, 10, 10], score: 0.8 };
  const twin: Detection = { box: [0, 0, 10, 10], score: 0.9 };
  assert.deepEqual(nms([b, c, a], { iouThreshold: 0.5 }), [a, c]);
  // equal scores: the one given first survives
  const kept = nms([twin, a], { iouThreshold: 0.5 });
  assert.equal(kept.length, 1);
  assert.equal(kept[0], twin);
  assert.equal(nms([a, twin], { iouThreshold: 0.5 })[0], a);
  // IoU exactly at the threshold suppresses (MGCA keeps only IoU < threshold): 1/(2+2-1) = 1/3
  const p: Detection = { box: [0, 0, 2, 1], score: 1 };
  const q: Detection = { box: [1, 0, 2, 1], score: 0.5 };
  assert.deepEqual(nms([p, q], { iouThreshold: 1 / 3 }), [p]);
  assert.deepEqual(nms([p, q], { iouThreshold: 0.34 }), [p, q]);
  assert.deepEqual(nms([a, b, c], { iouThreshold: 0.5, maxBoxes: 1 }), [a]);
  assert.deepEqual(nms([a, b, c], { iouThreshold: 0.95, scoreThreshold: 0.85 }), [a]);
  // different classes do not suppress each other
  const other: Detection = { box: [0, 0, 10, 10], score: 0.7, label: 1 };
  assert.deepEqual(nms([a, other], { iouThreshold: 0.5 }), [a, other]);
});

const GT1 = { box: [0, 0, 10, 10] as const };
const GT2 = { box: [50, 50, 10, 10] as const };

test('mAP: a perfect detector scores 1 at every threshold', () => {
  const r = meanAveragePrecision([
    { predictions: [{ box: [0, 0, 10, 10], score: 0.9 }], truths: [GT1] },
    { predictions: [{ box: [50, 50, 10, 10], score: 0.6 }], truths: [GT2] },
  ]);
  assert.equal(r.map, 1);
  assert.deepEqual(r.perThreshold.map((t) => t.iou), [...MGCA_IOU_THRESHOLDS]);
});

test('mAP: half right', () => {
  // pooled: TP (0.9), FP (0.8); 2 truths -> recall [0.5, 0.5], precision [1, 0.5]
  // envelope [1, 0.5]; recall points 0..0.50 (51 of 101) find precision 1, the rest none -> 51/101
  const r = meanAveragePrecision([
    { predictions: [{ box: [0, 0, 10, 10], score: 0.9 }], truths: [GT1] },
    { predictions: [{ box: [0, 0, 10, 10], score: 0.8 }], truths: [GT2] },
  ]);
  close(r.map, 51 / 101);
});

test('mAP: a false positive ranked first costs precision at every recall', () => {
  // one image, 2 truths; FP 0.9, TP 0.8, TP 0.7: recall [0, .5, 1], precision [0, 1/2, 2/3]
  // envelope -> [2/3, 2/3, 2/3]; every recall point gets 2/3 -> AP 2/3
  const r = meanAveragePrecision([{
    predictions: [{ box: [30, 30, 5, 5], score: 0.9 }, { box: [0, 0, 10, 10], score: 0.8 }, { box: [50, 50, 10, 10], score: 0.7 }],
    truths: [GT1, GT2],
  }]);
  close(r.map, 2 / 3);
});

test('mAP depends on the IoU threshold: IoU 0.6 matches at 0.40..0.60 only', () => {
  // [0,0,10,6] vs [0,0,10,10]: 60/100 = 0.6 -> AP 1 at 5 thresholds, 0 at 0.65, 0.7, 0.75 -> 5/8
  const r = meanAveragePrecision([{ predictions: [{ box: [0, 0, 10, 6], score: 0.9 }], truths: [GT1] }]);
  assert.equal(r.map, 5 / 8);
  assert.deepEqual(r.perThreshold.map((t) => t.ap), [1, 1, 1, 1, 1, 0, 0, 0]);
});

test('mAP with empty predictions and empty ground truth', () => {
  // no prediction: every truth missed -> 0; MGCA's skipping of such images leaves nothing -> NaN
  const none = [{ predictions: [], truths: [GT1] }];
  assert.equal(meanAveragePrecision(none).map, 0);
  const skipped = meanAveragePrecision(none, { skipImagesWithoutPredictions: true });
  assert.ok(Number.isNaN(skipped.map));
  assert.equal(skipped.imagesSkippedNoPrediction, 1);
  // images without truth are skipped: their false positives do not count
  const r = meanAveragePrecision([
    { predictions: [{ box: [0, 0, 10, 10], score: 0.5 }], truths: [GT1] },
    { predictions: [{ box: [5, 5, 10, 10], score: 0.99 }], truths: [] },
  ]);
  assert.equal(r.map, 1);
  assert.equal(r.imagesSkippedNoTruth, 1);
  assert.equal(r.imagesEvaluated, 1);
  // no truth anywhere -> NaN
  assert.ok(Number.isNaN(meanAveragePrecision([{ predictions: [{ box: [0, 0, 1, 1], score: 1 }], truths: [] }]).map));
});
