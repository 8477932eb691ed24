// torchvision ResNet-18/50 (v1.5: stride on the 3x3 conv) with a 1-channel conv1 and no fc,
// parameter names as in torchvision's state_dict so pretrained weights load by name.
// local = layer3 map (the papers' stage-3 regions), global = average-pooled layer4.
import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, BatchNormGroup } from './batchnorm';
import type { ImageEncoder, ImageEncoderOutput, ImageEncoderShape } from './image-encoder';
import { Conv, joinName } from './layers';
import type { ImageEncoderConfig } from './model-config';
import type { ParamStore } from './params';

interface Arch {
  bottleneck: boolean;
  layers: number[];
}

const ARCHS: Record<'resnet18' | 'resnet50', Arch> = {
  resnet18: { bottleneck: false, layers: [2, 2, 2, 2] },
  resnet50: { bottleneck: true, layers: [3, 4, 6, 3] },
};
const PLANES = [64, 128, 256, 512];

/** torch output size of a conv/pool with kernel k, stride s, padding p. */
function outSize(n: number, k: number, s: number, p: number): number {
  return Math.floor((n + 2 * p - k) / s) + 1;
}

interface Block {
  convs: { conv: Conv; bn: BatchNorm }[];
  downsample?: { conv: Conv; bn: BatchNorm };
}

export class ResNet implements ImageEncoder {
  readonly batchNorms = new BatchNormGroup();
  readonly localDim: number;
  readonly globalDim: number;
  readonly grid: [number, number];
  private readonly conv1: Conv;
  private readonly bn1: BatchNorm;
  private readonly stages: Block[][] = [];

  constructor(cfg: ImageEncoderConfig, params: ParamStore, prefix: string) {
    if (cfg.name !== 'resnet18' && cfg.name !== 'resnet50') throw new Error(`ResNet cannot build '${cfg.name}'`);
    const arch = ARCHS[cfg.name];
    const expansion = arch.bottleneck ? 4 : 1;
    const p = (n: string): string => joinName(prefix, n);
    this.conv1 = new Conv(params, p('conv1'), 7, 1, 64, 2, 3);
    this.bn1 = this.batchNorms.create(params, p('bn1'), 64);
    let inplanes = 64;
    arch.layers.forEach((count, li) => {
      const planes = PLANES[li];
      const blocks: Block[] = [];
      for (let bi = 0; bi < count; bi++) {
        const stride = li > 0 && bi === 0 ? 2 : 1;
        const name = p(`layer${li + 1}.${bi}`);
        const conv = (idx: number, k: number, cin: number, cout: number, s: number): { conv: Conv; bn: BatchNorm } => ({
          conv: new Conv(params, `${name}.conv${idx}`, k, cin, cout, s, (k - 1) / 2),
          bn: this.batchNorms.create(params, `${name}.bn${idx}`, cout),
        });
        const convs = arch.bottleneck
          ? [conv(1, 1, inplanes, planes, 1), conv(2, 3, planes, planes, stride), conv(3, 1, planes, planes * expansion, 1)]
          : [conv(1, 3, inplanes, planes, stride), conv(2, 3, planes, planes, 1)];
        const block: Block = { convs };
        if (stride !== 1 || inplanes !== planes * expansion) {
          block.downsample = {
            conv: new Conv(params, `${name}.downsample.0`, 1, inplanes, planes * expansion, stride, 0),
            bn: this.batchNorms.create(params, `${name}.downsample.1`, planes * expansion),
          };
        }
        inplanes = planes * expansion;
        blocks.push(block);
      }
      this.stages.push(blocks);
    });
    const shape = resnetShape(cfg);
    this.localDim = shape.localDim;
    this.globalDim = shape.globalDim;
    this.grid = shape.grid;
  }

  forward(x: tf.Tensor4D, training: boolean): ImageEncoderOutput {
    let h = tf.relu(this.bn1.forward(this.conv1.apply(x), training)) as tf.Tensor4D;
    // Zero padding equals torch's -inf padding here because the input is post-ReLU (>= 0).
    h = tf.maxPool(tf.pad(h, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 2, 'valid');
    let local: tf.Tensor4D | undefined;
    const stageOut: tf.Tensor4D[] = [];
    this.stages.forEach((blocks, si) => {
      for (const block of blocks) h = this.block(block, h, training);
      if (si === 2) local = h;
      stageOut.push(h);
    });
    if (!local) throw new Error('ResNet has no layer3');
    const [b, gh, gw, c] = local.shape;
    return {
      local: tf.reshape(local, [b, gh * gw, c]) as tf.Tensor3D,
      global: tf.mean(h, [1, 2]) as tf.Tensor2D,
      grid: [gh, gw],
      pyramid: stageOut.slice(1),
    };
  }

  private block(block: Block, x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    let h: tf.Tensor4D = x;
    block.convs.forEach(({ conv, bn }, i) => {
      h = bn.forward(conv.apply(h), training) as tf.Tensor4D;
      if (i < block.convs.length - 1) h = tf.relu(h);
    });
    const identity = block.downsample ? (block.downsample.bn.forward(block.downsample.conv.apply(x), training) as tf.Tensor4D) : x;
    return tf.relu(tf.add(h, identity)) as tf.Tensor4D;
  }
}

export function resnetShape(cfg: ImageEncoderConfig): ImageEncoderShape {
  if (cfg.name !== 'resnet18' && cfg.name !== 'resnet50') throw new Error(`not a ResNet: '${cfg.name}'`);
  const arch = ARCHS[cfg.name];
  const expansion = arch.bottleneck ? 4 : 1;
  let n = outSize(cfg.imageSize, 7, 2, 3);
  let macs = n * n * 49 * 64;
  n = outSize(n, 3, 2, 1);
  let inplanes = 64;
  let grid: [number, number] = [0, 0];
  arch.layers.forEach((count, li) => {
    const planes = PLANES[li];
    for (let bi = 0; bi < count; bi++) {
      const stride = li > 0 && bi === 0 ? 2 : 1;
      const nOut = outSize(n, 3, stride, 1);
      const a = nOut * nOut;
      if (arch.bottleneck) {
        macs += n * n * inplanes * planes + a * 9 * planes * planes + a * planes * planes * expansion;
      } else {
        macs += a * 9 * inplanes * planes + a * 9 * planes * planes;
      }
      if (stride !== 1 || inplanes !== planes * expansion) macs += a * inplanes * planes * expansion;
      inplanes = planes * expansion;
      n = nOut;
    }
    if (li === 2) grid = [n, n];
  });
  return {
    localDim: PLANES[2] * expansion,
    globalDim: PLANES[3] * expansion,
    grid,
    regions: grid[0] * grid[1],
    macs,
  };
}
