// BatchNorm with PyTorch semantics (momentum 0.1, eps 1e-5, unbiased running variance) and
// torchvision parameter names. Running statistics are non-trainable parameters; in training mode
// the batch statistics are only *recorded*, because assigning a variable inside a gradient tape
// would corrupt the tape. The trainer applies them after the optimizer step.
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from './params';
import { joinName } from './layers';

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  /** false = no weight/bias (MGCA's final projection BN). */
  affine?: boolean;
}

interface PendingStats {
  mean: tf.Tensor1D;
  /** Unbiased batch variance, as PyTorch folds into running_var. */
  variance: tf.Tensor1D;
}

export class BatchNorm {
  readonly weight?: tf.Variable;
  readonly bias?: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly eps: number;
  readonly momentum: number;
  private pending: PendingStats[] = [];

  constructor(params: ParamStore, readonly name: string, readonly channels: number, opts: BatchNormOptions = {}) {
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    if (opts.affine ?? true) {
      this.weight = params.param(joinName(name, 'weight'), [channels], { kind: 'ones' });
      this.bias = params.param(joinName(name, 'bias'), [channels], { kind: 'zeros' });
    }
    this.runningMean = params.param(joinName(name, 'running_mean'), [channels], { kind: 'zeros' }, false);
    this.runningVar = params.param(joinName(name, 'running_var'), [channels], { kind: 'ones' }, false);
  }

  /**
   * Normalises x [..., C] over every axis but the last. In training mode uses batch statistics
   * (over rows where `rowMask` [rows] is 1, when given: padded tokens must not shift the stats)
   * and queues them for applyPendingUpdates(); in eval mode uses the running statistics.
   */
  forward(x: tf.Tensor, training: boolean, rowMask?: tf.Tensor1D): tf.Tensor {
    const c = this.channels;
    if (x.shape[x.shape.length - 1] !== c) {
      throw new Error(`${this.name}: expected ${c} channels, got shape [${x.shape}]`);
    }
    let mean: tf.Tensor1D;
    let variance: tf.Tensor1D;
    if (training) {
      const x2 = tf.reshape(x, [-1, c]) as tf.Tensor2D;
      let count: tf.Tensor;
      if (rowMask) {
        const m = tf.cast(tf.reshape(rowMask, [-1, 1]), 'float32');
        count = tf.maximum(tf.sum(m), 1);
        mean = tf.div(tf.sum(tf.mul(x2, m), 0), count) as tf.Tensor1D;
        variance = tf.div(tf.sum(tf.mul(tf.square(tf.sub(x2, mean)), m), 0), count) as tf.Tensor1D;
      } else {
        count = tf.scalar(x2.shape[0]);
        const moments = tf.moments(x2, 0);
        mean = moments.mean as tf.Tensor1D;
        variance = moments.variance as tf.Tensor1D;
      }
      // n/(n-1) correction (guarded for n = 1, where PyTorch would refuse to train at all).
      const unbiased = tf.mul(variance, tf.div(count, tf.maximum(tf.sub(count, 1), 1))) as tf.Tensor1D;
      this.pending.push({ mean: tf.keep(mean.clone()), variance: tf.keep(unbiased) });
    } else {
      mean = this.runningMean as tf.Tensor as tf.Tensor1D;
      variance = this.runningVar as tf.Tensor as tf.Tensor1D;
    }
    let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
    if (this.weight && this.bias) y = tf.add(tf.mul(y, this.weight), this.bias);
    return y;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Folds every queued batch statistic into the running statistics, in call order. */
  applyPendingUpdates(): void {
    const m = this.momentum;
    for (const p of this.pending) {
      const newMean = tf.tidy(() => tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(p.mean, m)));
      const newVar = tf.tidy(() => tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(p.variance, m)));
      this.runningMean.assign(newMean);
      this.runningVar.assign(newVar);
      newMean.dispose();
      newVar.dispose();
      p.mean.dispose();
      p.variance.dispose();
    }
    this.pending = [];
  }

  /** Drops queued statistics (e.g. a training-mode forward used only for inspection). */
  discardPendingUpdates(): void {
    for (const p of this.pending) {
      p.mean.dispose();
      p.variance.dispose();
    }
    this.pending = [];
  }
}

/** The BatchNorm layers of one module, so a whole model can apply or drop its updates at once. */
export class BatchNormGroup {
  private readonly layers: BatchNorm[] = [];

  create(params: ParamStore, name: string, channels: number, opts?: BatchNormOptions): BatchNorm {
    const bn = new BatchNorm(params, name, channels, opts);
    this.layers.push(bn);
    return bn;
  }

  get all(): readonly BatchNorm[] {
    return this.layers;
  }

  applyPendingUpdates(): void {
    for (const bn of this.layers) bn.applyPendingUpdates();
  }

  discardPendingUpdates(): void {
    for (const bn of this.layers) bn.discardPendingUpdates();
  }

  pendingCount(): number {
    return this.layers.reduce((n, bn) => n + bn.pendingCount, 0);
  }
}
