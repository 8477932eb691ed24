// Parameterised building blocks shared by the encoders: dense and conv layers with PyTorch names
// (weight/bias) in TF layout, LayerNorm, an embedding lookup whose gradient works on every
// backend, and multi-head attention. Heavy math always goes through ops.ts (fast path).
import * as tf from '@tensorflow/tfjs-core';
import { bmm, conv2d, layerNorm, linear, maskedSoftmax } from './ops';
import type { Init, ParamStore } from './params';

export function joinName(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/** torch.nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias. */
export function torchLinearInit(inDim: number): Init {
  return { kind: 'uniform', limit: 1 / Math.sqrt(inDim) };
}

export class Dense {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(
    params: ParamStore,
    name: string,
    readonly inDim: number,
    readonly outDim: number,
    opts: { bias?: boolean; init?: Init; biasInit?: Init } = {},
  ) {
    const init = opts.init ?? torchLinearInit(inDim);
    this.weight = params.param(joinName(name, 'weight'), [inDim, outDim], init);
    if (opts.bias ?? true) {
      this.bias = params.param(joinName(name, 'bias'), [outDim], opts.biasInit ?? init);
    }
  }

  apply(x: tf.Tensor): tf.Tensor {
    return linear(x, this.weight as tf.Tensor as tf.Tensor2D, this.bias as tf.Tensor as tf.Tensor1D | undefined);
  }
}

export class Conv {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(
    params: ParamStore,
    name: string,
    readonly kernel: number,
    readonly inCh: number,
    readonly outCh: number,
    readonly stride: number,
    readonly pad: number,
    opts: { bias?: boolean; init?: Init } = {},
  ) {
    // torchvision ResNet: kaiming_normal_(mode='fan_out', nonlinearity='relu').
    const init = opts.init ?? { kind: 'he', fanIn: kernel * kernel * outCh };
    this.weight = params.param(joinName(name, 'weight'), [kernel, kernel, inCh, outCh], init);
    if (opts.bias) this.bias = params.param(joinName(name, 'bias'), [outCh], { kind: 'zeros' });
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const y = conv2d(x, this.weight as tf.Tensor as tf.Tensor4D, this.stride, this.pad);
    return this.bias ? (tf.add(y, this.bias) as tf.Tensor4D) : y;
  }

  /** Multiply-accumulates for an output map of oh x ow. */
  macs(oh: number, ow: number): number {
    return oh * ow * this.kernel * this.kernel * this.inCh * this.outCh;
  }
}

export class LayerNorm {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(params: ParamStore, name: string, dim: number, readonly eps: number) {
    this.weight = params.param(joinName(name, 'weight'), [dim], { kind: 'ones' });
    this.bias = params.param(joinName(name, 'bias'), [dim], { kind: 'zeros' });
  }

  apply(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.weight as tf.Tensor as tf.Tensor1D, this.bias as tf.Tensor as tf.Tensor1D, this.eps);
  }
}

/**
 * table[ids] with the gradient written as a scatter-add. tf.gather's own gradient needs the
 * UnsortedSegmentSum kernel, which the wasm backend lacks; ScatterNd exists on cpu, wasm and webgl.
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const flat = tf.cast(tf.reshape(ids, [-1]), 'int32');
  const [vocab, dim] = table.shape;
  const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor2D;
    // The ids must go through save(): a closure-captured tensor is disposed before backprop.
    (args[1] as tf.GradSaveFunc)([flat]);
    return {
      value: tf.gather(t, flat) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => (tf.getBackend() === 'webgpu'
        ? scatterAddByMatmul(saved[0] as tf.Tensor1D, tf.reshape(dy, [-1, dim]) as tf.Tensor2D, vocab)
        : tf.scatterND(tf.reshape(saved[0], [-1, 1]), tf.reshape(dy, [-1, dim]), [vocab, dim])),
    };
  });
  const rows = lookup(table);
  return tf.reshape(rows, [...ids.shape, dim]);
}

/** Rows of the vocabulary one-hot block of scatterAddByMatmul (bounds its memory: block x ids x 4 bytes). */
const SCATTER_BLOCK = 2048;

/**
 * sum over k of onehot(ids[k]) * rows[k] as [vocab, dim], by one-hot matmuls over blocks of the
 * vocabulary. WebGPU's ScatterNd adds floats with atomics in whatever order the threads run, so
 * two identical steps differ and a resumed run drifts from an uninterrupted one; a matmul sums
 * in a fixed order.
 */
export function scatterAddByMatmul(ids: tf.Tensor1D, rows: tf.Tensor2D, vocab: number): tf.Tensor2D {
  return tf.tidy(() => {
    const parts: tf.Tensor2D[] = [];
    for (let start = 0; start < vocab; start += SCATTER_BLOCK) {
      const size = Math.min(SCATTER_BLOCK, vocab - start);
      // Ids outside [start, start + size) give all-zero one-hot rows.
      const hot = tf.oneHot(tf.cast(tf.sub(ids, start), 'int32') as tf.Tensor1D, size, 1, 0, 'float32') as tf.Tensor2D; // [K, size]
      parts.push(tf.matMul(hot, rows, true, false) as tf.Tensor2D);
    }
    return (parts.length === 1 ? parts[0] : tf.concat(parts, 0)) as tf.Tensor2D;
  });
}

export interface AttentionResult {
  out: tf.Tensor3D;
  /** Attention probabilities [B, heads, T, T]. */
  probs: tf.Tensor4D;
}

/**
 * Scaled dot-product attention of q,k,v [B,T,D] split into `heads` heads, as one batched matmul
 * over B*heads. keyMask [B,T] (1 = attend) masks keys with -1e9; probs are returned before dropout.
 */
export function multiHeadAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  heads: number,
  keyMask?: tf.Tensor2D,
  probsDropout?: (p: tf.Tensor) => tf.Tensor,
): AttentionResult {
  const [b, t, d] = q.shape;
  const dh = d / heads;
  const split = (x: tf.Tensor3D): tf.Tensor3D =>
    tf.reshape(tf.transpose(tf.reshape(x, [b, t, heads, dh]), [0, 2, 1, 3]), [b * heads, t, dh]) as tf.Tensor3D;
  const qh = split(q);
  const kh = split(k);
  const vh = split(v);
  const scores = tf.reshape(tf.mul(bmm(qh, kh, false, true), 1 / Math.sqrt(dh)), [b, heads, t, t]);
  const mask = keyMask ? tf.reshape(tf.cast(keyMask, 'float32'), [b, 1, 1, t]) : undefined;
  const probs = maskedSoftmax(scores, mask) as tf.Tensor4D;
  const used = probsDropout ? probsDropout(probs) : probs;
  const ctx = bmm(tf.reshape(used, [b * heads, t, t]) as tf.Tensor3D, vh);
  const out = tf.reshape(tf.transpose(tf.reshape(ctx, [b, heads, t, dh]), [0, 2, 1, 3]), [b, t, d]) as tf.Tensor3D;
  return { out, probs };
}
