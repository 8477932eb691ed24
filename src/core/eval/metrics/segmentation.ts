// Segmentation metrics and plain-array reference losses, following MGCA's segmentation code:
// hard Dice per image at a probability threshold with the empty-mask rule, averaged over images,
// and MixedLoss = alpha * focal(gamma) - log(soft Dice) on logits. The losses here are the
// reference a TF.js implementation is tested against; they are not used for training.

import { assertSameLength, mean } from './validate';

/**
 * Dice of one image: prediction = prob > threshold (strict, as MGCA), truth = value > 0.5.
 * An empty ground truth scores 1 when the prediction is empty too, else 0 (so images without
 * pneumothorax reward saying nothing, as in the SIIM protocol).
 */
export function diceAtThreshold(prob: ArrayLike<number>, truth: ArrayLike<number>, threshold = 0.5): number {
  assertSameLength('diceAtThreshold', prob, truth);
  let p = 0, t = 0, both = 0;
  for (let i = 0; i < prob.length; i++) {
    const pi = prob[i] > threshold ? 1 : 0;
    const ti = truth[i] > 0.5 ? 1 : 0;
    p += pi;
    t += ti;
    both += pi & ti;
  }
  if (t === 0) return p === 0 ? 1 : 0;
  return (2 * both) / (p + t);
}

/** Mean over images of diceAtThreshold (images weigh equally, whatever their mask size). */
export function meanDice(probs: readonly ArrayLike<number>[], truths: readonly ArrayLike<number>[], threshold = 0.5): number {
  assertSameLength('meanDice', probs, truths);
  return mean(probs.map((p, i) => diceAtThreshold(p, truths[i], threshold)));
}

/** Soft Dice (2 sum(p t) + smooth) / (sum p + sum t + smooth) over all pixels given (MGCA: the batch). */
export function softDice(prob: ArrayLike<number>, truth: ArrayLike<number>, smooth = 1): number {
  assertSameLength('softDice', prob, truth);
  let inter = 0, ps = 0, ts = 0;
  for (let i = 0; i < prob.length; i++) {
    inter += prob[i] * truth[i];
    ps += prob[i];
    ts += truth[i];
  }
  return (2 * inter + smooth) / (ps + ts + smooth);
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** log(1 + exp(x)) without overflow. */
function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/**
 * Binary focal loss on logits, mean over pixels: BCE(x, t) * (1 - p_t)^gamma with p_t the
 * probability given to the true class. Written in log space as MGCA's FocalLoss is, so large
 * logits neither overflow nor lose the gradient-carrying small terms.
 */
export function focalLoss(logits: ArrayLike<number>, truth: ArrayLike<number>, gamma = 2): number {
  assertSameLength('focalLoss', logits, truth);
  if (logits.length === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    const t = truth[i];
    const bce = softplus(x) - x * t;
    // log(1 - p_t) = logsigmoid(-x * (2t - 1)) = -softplus(x * (2t - 1))
    const logOneMinusPt = -softplus(x * (2 * t - 1));
    sum += Math.exp(gamma * logOneMinusPt) * bce;
  }
  return sum / logits.length;
}

/** MixedLoss = alpha * focal(logits, gamma) - log(softDice(sigmoid(logits), smooth 1)). */
export function mixedLoss(logits: ArrayLike<number>, truth: ArrayLike<number>, alpha = 10, gamma = 2): number {
  const prob = Float64Array.from(logits, sigmoid);
  return alpha * focalLoss(logits, truth, gamma) - Math.log(softDice(prob, truth, 1));
}
