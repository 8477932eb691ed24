import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diceAtThreshold, focalLoss, meanDice, mixedLoss, softDice } from '../../../../src/core/eval/metrics/segmentation';

const close = (a: number, b: number, eps = 1e-6): void => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('Dice empty-mask rule', () => {
  // both empty -> 1
  assert.equal(diceAtThreshold([0.1, 0.2, 0.4], [0, 0, 0]), 1);
  // empty truth, one pixel predicted -> 0
  assert.equal(diceAtThreshold([0.1, 0.9, 0.4], [0, 0, 0]), 0);
  // non-empty truth, empty prediction -> 2*0/(0+1) = 0
  assert.equal(diceAtThreshold([0.1, 0.2, 0.4], [0, 1, 0]), 0);
});

test('Dice thresholds strictly above 0.5', () => {
  // pred = [0.6>0.5, 0.7>0.5, 0.2, 0.5 (not > 0.5)] = [1,1,0,0]; truth [1,0,1,0]
  // intersection 1 -> 2*1/(2+2) = 0.5
  assert.equal(diceAtThreshold([0.6, 0.7, 0.2, 0.5], [1, 0, 1, 0]), 0.5);
  // mean over images: (1 + 0 + 0.5)/3 = 0.5
  assert.equal(meanDice([[0.1, 0.2, 0.4, 0.1], [0.9, 0.1, 0.1, 0.1], [0.6, 0.7, 0.2, 0.5]],
    [[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 1, 0]]), 0.5);
});

test('soft Dice with smooth 1', () => {
  // p = [0.5, 1], t = [1, 0]: (2*0.5 + 1)/(1.5 + 1 + 1) = 2/3.5
  close(softDice([0.5, 1], [1, 0]), 2 / 3.5);
});

test('focal loss by hand', () => {
  // x = 0, t = 1: BCE = ln 2, p_t = 0.5, (1-p_t)^2 = 0.25 -> 0.25 ln 2 = 0.1732868
  close(focalLoss([0], [1]), 0.25 * Math.LN2);
  // x = ln 3 (p = 0.75), t = 1: BCE = -ln 0.75 = 0.2876821, (0.25)^2 = 0.0625 -> 0.0179801
  // mean of the two pixels: (0.1732868 + 0.0179801)/2 = 0.0956335
  close(focalLoss([0, Math.log(3)], [1, 1]), 0.0956335);
  // gamma 0 is plain BCE: x = ln 3, t = 0 -> -ln(0.25) = ln 4
  close(focalLoss([Math.log(3)], [0], 0), Math.log(4));
  // no overflow at extreme logits: confident wrong -> BCE 1000 times (1-0)^2
  close(focalLoss([1000], [0]), 1000);
  close(focalLoss([-1000], [0]), 0);
});

test('MixedLoss = 10 focal - log softDice', () => {
  // focal as above = 0.0956335; probs [0.5, 0.75]: softDice = (2*1.25+1)/(1.25+2+1) = 3.5/4.25
  // -ln(0.8235294) = 0.1941560 -> 0.956335 + 0.194156 = 1.150491
  close(mixedLoss([0, Math.log(3)], [1, 1]), 10 * 0.0956335 - Math.log(3.5 / 4.25), 1e-6);
  close(mixedLoss([0, Math.log(3)], [1, 1]), 1.150491, 1e-5);
});
