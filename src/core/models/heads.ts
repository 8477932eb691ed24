// MGCA projection heads: Linear-BN-ReLU-Linear-BN(affine=false). Names follow MGCA's
// nn.Sequential (head.0 linear, head.1 BN, head.3 linear, head.4 BN); the local head is the same
// map applied to every region/word with BatchNorm statistics over all real tokens of the batch.
import * as tf from '@tensorflow/tfjs-core';
import type { BatchNorm, BatchNormGroup } from './batchnorm';
import { Dense, joinName } from './layers';
import type { ParamStore } from './params';

export class ProjectionHead {
  private readonly fc1: Dense;
  private readonly bn1: BatchNorm;
  private readonly fc2: Dense;
  private readonly bn2: BatchNorm;

  constructor(params: ParamStore, prefix: string, readonly inDim: number, hiddenDim: number, readonly outDim: number, bns: BatchNormGroup) {
    const p = (n: string): string => joinName(prefix, n);
    this.fc1 = new Dense(params, p('head.0'), inDim, hiddenDim);
    this.bn1 = bns.create(params, p('head.1'), hiddenDim);
    this.fc2 = new Dense(params, p('head.3'), hiddenDim, outDim);
    this.bn2 = bns.create(params, p('head.4'), outDim, { affine: false });
  }

  /** x [R, in] -> [R, out]; rowMask [R] restricts the BatchNorm statistics to real rows. */
  apply(x: tf.Tensor2D, training: boolean, rowMask?: tf.Tensor1D): tf.Tensor2D {
    const h = tf.relu(this.bn1.forward(this.fc1.apply(x), training, rowMask));
    return this.bn2.forward(this.fc2.apply(h), training, rowMask) as tf.Tensor2D;
  }

  /** x [B, L, in] -> [B, L, out], one projection per token; mask [B, L] marks real tokens. */
  applyLocal(x: tf.Tensor3D, training: boolean, mask?: tf.Tensor2D): tf.Tensor3D {
    const [b, l, c] = x.shape;
    const rowMask = mask ? (tf.reshape(mask, [b * l]) as tf.Tensor1D) : undefined;
    const rows = this.apply(tf.reshape(x, [b * l, c]) as tf.Tensor2D, training, rowMask);
    return tf.reshape(rows, [b, l, this.outDim]);
  }
}
