import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  attentionMassInside, gridGeometry, pointingGameHit, regionCoverage,
} from '../../../../src/core/eval/metrics/grounding';

const close = (a: number, b: number, eps = 1e-12): void => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('pointing game on a 2x2 grid without padding', () => {
  // 100x100 image, input 100: regions are the quadrants, centres (25,25) (75,25) (25,75) (75,75)
  const g = gridGeometry(100, 100, 100, 2, 2);
  const topRight = { box: [50, 0, 50, 50] as const };
  assert.equal(pointingGameHit([0.1, 0.6, 0.2, 0.1], g, topRight), true); // argmax 1 -> (75,25) inside
  assert.equal(pointingGameHit([0.6, 0.1, 0.2, 0.1], g, topRight), false); // (25,25) outside
  // tie between regions 1 and 2: the first (1) wins -> hit
  assert.equal(pointingGameHit([0.1, 0.4, 0.4, 0.1], g, topRight), true);
  // mass: coverage [0,1,0,0] -> 0.6 / (0.1+0.6+0.2+0.1)
  close(attentionMassInside([0.1, 0.6, 0.2, 0.1], g, topRight), 0.6);
  // a centred 60x60 box [20,80) covers 30x30 of each 50x50 quadrant (0.36) and every centre
  const centre = { box: [20, 20, 60, 60] as const };
  for (const c of regionCoverage(g, centre)) close(c, 0.36);
  // boxes are half-open: [25,75) excludes the centres at x = 75
  assert.equal(pointingGameHit([0, 1, 0, 0], g, { box: [25, 25, 50, 50] }), false);
  for (let r = 0; r < 4; r++) assert.equal(pointingGameHit([0, 1, 2, 3].map((i) => (i === r ? 1 : 0)), g, centre), true);
});

test('grid geometry follows resize-and-pad: padding regions cover nothing', () => {
  // 200x100 image into 100: placed 100x50 at top 25. Canvas centres (25,25),(75,25),(25,75),(75,75)
  // map to image (2cx, 2(cy-25)) = (50,0),(150,0),(50,100),(150,100); y = 100 is outside the image.
  const g = gridGeometry(200, 100, 100, 2, 2);
  const whole = { box: [0, 0, 200, 100] as const };
  assert.equal(pointingGameHit([1, 0, 0, 0], g, whole), true);
  assert.equal(pointingGameHit([0, 0, 0, 1], g, whole), false);
  // the image covers canvas rows 25..75: half of each 50x50 region
  assert.deepEqual(Array.from(regionCoverage(g, whole)), [0.5, 0.5, 0.5, 0.5]);
  close(attentionMassInside([1, 1, 1, 1], g, whole), 0.5);
});

test('mask targets: coverage by pixel count, pointing by the pixel under the centre', () => {
  // 4x4 image and input, 2x2 grid of 2x2-pixel regions. Mask pixels (2,0), (3,0), (3,1):
  // 3 of the 4 pixels of the top-right region -> coverage 0.75
  const data = new Uint8Array(16);
  data[0 * 4 + 2] = 1; data[0 * 4 + 3] = 1; data[1 * 4 + 3] = 1;
  const g = gridGeometry(4, 4, 4, 2, 2);
  const target = { mask: { width: 4, height: 4, data } };
  assert.deepEqual(Array.from(regionCoverage(g, target)), [0, 0.75, 0, 0]);
  close(attentionMassInside([0, 1, 0, 0], g, target), 0.75);
  // top-right centre is canvas (3,1) -> pixel (3,1), which is set -> hit
  assert.equal(pointingGameHit([0, 1, 0, 0], g, target), true);
  assert.equal(pointingGameHit([0, 0, 1, 0], g, target), false);
});

test('grounding rejects shapes that do not match the grid or image', () => {
  const g = gridGeometry(4, 4, 4, 2, 2);
  assert.throws(() => pointingGameHit([1, 0, 0], g, { box: [0, 0, 1, 1] }), /expected 2x2/);
  assert.throws(() => regionCoverage(g, { mask: { width: 3, height: 4, data: new Uint8Array(12) } }), /mask is 3x4/);
  assert.ok(Number.isNaN(attentionMassInside([0, 0, 0, 0], g, { box: [0, 0, 1, 1] })));
});
