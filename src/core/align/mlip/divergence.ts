// MLIP's divergence encoder [design, METHODS.md section 5]: an extra, differently parameterised
// positive view of the image for the global loss. The method only sees the projected image
// embedding x, so the second branch is a residual projection on top of it:
//   stochastic view  x~ + x~ Wd,      x~ = dropout(x) with a mask seeded per step (Wd trained),
//   momentum view    x + x Wema,      Wema <- m Wema + (1 - m) Wd after every optimizer step.
// Residual form: Wd starts near 0, so both views start as (almost) the image embedding itself.
import * as tf from '@tensorflow/tfjs-core';
import { Rng, mixSeed } from '../../rng';
import { matmul } from '../../models/ops';

/** Inverted-dropout keep mask [rows, cols] (values 0 or 1 / (1 - rate)), a function of (step, salt) only. */
export function dropoutMask(rows: number, cols: number, rate: number, step: number, salt = 0xd1f): Float32Array {
  const out = new Float32Array(rows * cols);
  const rng = new Rng(mixSeed(salt, step));
  const keep = 1 - rate;
  for (let i = 0; i < out.length; i++) out[i] = rng.next() < rate ? 0 : 1 / keep;
  return out;
}

/** x + x W (x [B, D], W [D, D]). */
export function residualProject(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return tf.add(x, matmul(x, w)) as tf.Tensor2D;
}

/** The stochastic view: residual projection of x under a dropout mask (no mask when not training or rate 0). */
export function stochasticView(x: tf.Tensor2D, w: tf.Tensor2D, rate: number, step: number, training: boolean): tf.Tensor2D {
  if (!training || rate <= 0) return residualProject(x, w);
  const [b, d] = x.shape;
  const dropped = tf.mul(x, tf.tensor2d(dropoutMask(b, d, rate, step), [b, d])) as tf.Tensor2D;
  return residualProject(dropped, w);
}

/** target <- momentum * target + (1 - momentum) * source, outside any gradient scope. */
export function emaUpdate(target: tf.Variable, source: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    target.assign(tf.add(tf.mul(target, momentum), tf.mul(source, 1 - momentum)));
  });
}
