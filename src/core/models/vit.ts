// timm-style Vision Transformer (pre-norm blocks, CLS token, learned position embedding) with a
// 1-channel patch embedding and no classifier head; parameter names follow timm's state_dict.
// local = patch tokens after the final norm, global = the CLS token.
import * as tf from '@tensorflow/tfjs-core';
import { BatchNormGroup } from './batchnorm';
import type { ImageEncoder, ImageEncoderOutput, ImageEncoderShape } from './image-encoder';
import { Conv, Dense, LayerNorm, joinName, multiHeadAttention } from './layers';
import type { ImageEncoderConfig } from './model-config';
import { gelu } from './ops';
import type { ParamStore } from './params';

const VIT_DIMS: Record<'vit-tiny' | 'vit-small', { dim: number; heads: number }> = {
  'vit-tiny': { dim: 192, heads: 3 },
  'vit-small': { dim: 384, heads: 6 },
};

export function vitDims(name: 'vit-tiny' | 'vit-small'): { dim: number; heads: number } {
  return VIT_DIMS[name];
}

const TRUNC = { kind: 'normal', std: 0.02 } as const;
const LN_EPS = 1e-6;

interface Block {
  norm1: LayerNorm;
  qkv: Dense;
  proj: Dense;
  norm2: LayerNorm;
  fc1: Dense;
  fc2: Dense;
}

export class VisionTransformer implements ImageEncoder {
  readonly batchNorms = new BatchNormGroup();
  readonly localDim: number;
  readonly globalDim: number;
  readonly grid: [number, number];
  private readonly heads: number;
  private readonly patchEmbed: Conv;
  private readonly clsToken: tf.Variable;
  private readonly posEmbed: tf.Variable;
  private readonly blocks: Block[] = [];
  private readonly norm: LayerNorm;

  constructor(cfg: ImageEncoderConfig, params: ParamStore, prefix: string) {
    if (cfg.name !== 'vit-tiny' && cfg.name !== 'vit-small') throw new Error(`VisionTransformer cannot build '${cfg.name}'`);
    const { dim, heads } = vitDims(cfg.name);
    const patch = cfg.patchSize ?? 16;
    const depth = cfg.depth ?? 12;
    const g = cfg.imageSize / patch;
    if (!Number.isInteger(g)) throw new Error(`patch size ${patch} does not divide image size ${cfg.imageSize}`);
    const p = (n: string): string => joinName(prefix, n);
    this.heads = heads;
    this.grid = [g, g];
    this.localDim = dim;
    this.globalDim = dim;
    this.patchEmbed = new Conv(params, p('patch_embed.proj'), patch, 1, dim, patch, 0, { bias: true, init: TRUNC });
    this.clsToken = params.param(p('cls_token'), [1, 1, dim], TRUNC);
    this.posEmbed = params.param(p('pos_embed'), [1, 1 + g * g, dim], TRUNC);
    const zeros = { kind: 'zeros' } as const;
    for (let i = 0; i < depth; i++) {
      const b = p(`blocks.${i}`);
      this.blocks.push({
        norm1: new LayerNorm(params, `${b}.norm1`, dim, LN_EPS),
        qkv: new Dense(params, `${b}.attn.qkv`, dim, 3 * dim, { init: TRUNC, biasInit: zeros }),
        proj: new Dense(params, `${b}.attn.proj`, dim, dim, { init: TRUNC, biasInit: zeros }),
        norm2: new LayerNorm(params, `${b}.norm2`, dim, LN_EPS),
        fc1: new Dense(params, `${b}.mlp.fc1`, dim, 4 * dim, { init: TRUNC, biasInit: zeros }),
        fc2: new Dense(params, `${b}.mlp.fc2`, 4 * dim, dim, { init: TRUNC, biasInit: zeros }),
      });
    }
    this.norm = new LayerNorm(params, p('norm'), dim, LN_EPS);
  }

  forward(x: tf.Tensor4D, _training: boolean): ImageEncoderOutput {
    const b = x.shape[0];
    const [gh, gw] = this.grid;
    const dim = this.localDim;
    const patches = tf.reshape(this.patchEmbed.apply(x), [b, gh * gw, dim]);
    const cls = tf.tile(this.clsToken, [b, 1, 1]);
    let h = tf.add(tf.concat([cls, patches], 1), this.posEmbed) as tf.Tensor3D;
    for (const blk of this.blocks) {
      const n1 = blk.norm1.apply(h);
      const [q, k, v] = tf.split(blk.qkv.apply(n1), 3, -1) as tf.Tensor3D[];
      const attn = multiHeadAttention(q, k, v, this.heads);
      h = tf.add(h, blk.proj.apply(attn.out)) as tf.Tensor3D;
      const n2 = blk.norm2.apply(h);
      h = tf.add(h, blk.fc2.apply(gelu(blk.fc1.apply(n2)))) as tf.Tensor3D;
    }
    h = this.norm.apply(h) as tf.Tensor3D;
    const local = tf.slice(h, [0, 1, 0], [b, gh * gw, dim]);
    // One stride only: the detection pyramid is the final token map average-pooled at 1x, 2x, 4x
    // ('same' padding so a grid smaller than the window still yields one cell). Two small pools.
    const map = tf.reshape(local, [b, gh, gw, dim]) as tf.Tensor4D;
    return {
      local,
      pyramid: [map, tf.avgPool(map, 2, 2, 'same'), tf.avgPool(map, 4, 4, 'same')],
      global: tf.reshape(tf.slice(h, [0, 0, 0], [b, 1, dim]), [b, dim]),
      grid: [gh, gw],
    };
  }
}

export function vitShape(cfg: ImageEncoderConfig): ImageEncoderShape {
  if (cfg.name !== 'vit-tiny' && cfg.name !== 'vit-small') throw new Error(`not a ViT: '${cfg.name}'`);
  const { dim } = vitDims(cfg.name);
  const patch = cfg.patchSize ?? 16;
  const depth = cfg.depth ?? 12;
  const g = Math.floor(cfg.imageSize / patch);
  const t = g * g + 1;
  // Per block: qkv 3D^2, proj D^2, mlp 8D^2 per token, plus QK^T and AV (2 T^2 D).
  const macs = g * g * patch * patch * dim + depth * (t * 12 * dim * dim + 2 * t * t * dim);
  return { localDim: dim, globalDim: dim, grid: [g, g], regions: g * g, macs };
}
