// The CPU default image backbone: a patchify stem (4x4, stride 4) and four residual stages of
// 3x3 convs, downsampling between stages with 2x2 stride-2 convs. At 128 px: 32 -> 16 -> 8 -> 4,
// local = the 8x8 stage-3 map, global = pooled stage 4; about 50 MFLOP per image with the
// default widths, i.e. cheap enough to pretrain on a laptop CPU.
import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, BatchNormGroup } from './batchnorm';
import type { ImageEncoder, ImageEncoderOutput, ImageEncoderShape } from './image-encoder';
import { Conv, joinName } from './layers';
import type { ImageEncoderConfig } from './model-config';
import type { ParamStore } from './params';

export const CNN_SMALL_DEFAULT_WIDTHS = [16, 32, 80, 160];
export const CNN_SMALL_DEFAULT_BLOCKS = [1, 1, 1, 1];

interface ConvBn {
  conv: Conv;
  bn: BatchNorm;
}

interface Stage {
  downsample?: ConvBn;
  blocks: { a: ConvBn; b: ConvBn }[];
}

export class CnnSmall implements ImageEncoder {
  readonly batchNorms = new BatchNormGroup();
  readonly localDim: number;
  readonly globalDim: number;
  readonly grid: [number, number];
  private readonly stem: ConvBn;
  private readonly localStage: number;
  private readonly localPooling: boolean;
  private readonly stages: Stage[] = [];

  constructor(cfg: ImageEncoderConfig, params: ParamStore, prefix: string) {
    if (cfg.name !== 'cnn-small') throw new Error(`CnnSmall cannot build '${cfg.name}'`);
    const widths = cfg.widths ?? CNN_SMALL_DEFAULT_WIDTHS;
    const blocks = cfg.blocks ?? CNN_SMALL_DEFAULT_BLOCKS;
    const p = (n: string): string => joinName(prefix, n);
    const convBn = (convName: string, bnName: string, k: number, cin: number, cout: number, s: number, pad: number): ConvBn => ({
      conv: new Conv(params, p(convName), k, cin, cout, s, pad),
      bn: this.batchNorms.create(params, p(bnName), cout),
    });
    this.stem = convBn('stem.0', 'stem.1', 4, 1, widths[0], 4, 0);
    widths.forEach((w, si) => {
      const stage: Stage = { blocks: [] };
      if (si > 0) stage.downsample = convBn(`stages.${si}.downsample.0`, `stages.${si}.downsample.1`, 2, widths[si - 1], w, 2, 0);
      for (let bi = 0; bi < blocks[si]; bi++) {
        const n = `stages.${si}.blocks.${bi}`;
        stage.blocks.push({ a: convBn(`${n}.conv1`, `${n}.bn1`, 3, w, w, 1, 1), b: convBn(`${n}.conv2`, `${n}.bn2`, 3, w, w, 1, 1) });
      }
      this.stages.push(stage);
    });
    this.localStage = cfg.localStage ?? 3;
    this.localPooling = cfg.localPooling !== false;
    const shape = cnnSmallShape(cfg);
    this.localDim = shape.localDim;
    this.globalDim = shape.globalDim;
    this.grid = shape.grid;
  }

  forward(x: tf.Tensor4D, training: boolean): ImageEncoderOutput {
    const run = (u: ConvBn, h: tf.Tensor4D): tf.Tensor4D => u.bn.forward(u.conv.apply(h), training) as tf.Tensor4D;
    let h = tf.relu(run(this.stem, x));
    let local: tf.Tensor4D | undefined;
    const stageOut: tf.Tensor4D[] = [];
    this.stages.forEach((stage, si) => {
      if (stage.downsample) h = tf.relu(run(stage.downsample, h));
      for (const blk of stage.blocks) {
        const y = run(blk.b, tf.relu(run(blk.a, h)));
        h = tf.relu(tf.add(h, y)) as tf.Tensor4D;
      }
      if (si === this.localStage - 1) local = h;
      stageOut.push(h);
    });
    if (!local) throw new Error(`cnn-small has no stage ${this.localStage}`);
    // An earlier stage's finer map, averaged down to the stage-3 grid (the region count stays M),
    // unless localPooling is false.
    if (this.localPooling) for (let s = this.localStage; s < 3; s++) local = poolTwo(local);
    const [b, gh, gw, c] = local.shape;
    return {
      local: tf.reshape(local, [b, gh * gw, c]) as tf.Tensor3D, global: tf.mean(h, [1, 2]) as tf.Tensor2D, grid: [gh, gw],
      pyramid: stageOut.slice(-3),
    };
  }
}

/** 2x2 mean pooling of an NHWC map (as a reshape and a mean, so every backend has its gradient). */
function poolTwo(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.mean(tf.reshape(x, [b, h / 2, 2, w / 2, 2, c]), [2, 4]) as tf.Tensor4D;
}

export function cnnSmallShape(cfg: ImageEncoderConfig): ImageEncoderShape {
  const widths = cfg.widths ?? CNN_SMALL_DEFAULT_WIDTHS;
  const blocks = cfg.blocks ?? CNN_SMALL_DEFAULT_BLOCKS;
  let n = Math.floor(cfg.imageSize / 4);
  let macs = n * n * 16 * widths[0];
  let grid: [number, number] = [0, 0];
  widths.forEach((w, si) => {
    if (si > 0) {
      n = Math.floor(n / 2);
      macs += n * n * 4 * widths[si - 1] * w;
    }
    macs += blocks[si] * 2 * n * n * 9 * w * w;
    if (si === (cfg.localPooling === false ? (cfg.localStage ?? 3) : 3) - 1) grid = [n, n];
  });
  return { localDim: widths[(cfg.localStage ?? 3) - 1], globalDim: widths[3], grid, regions: grid[0] * grid[1], macs };
}
