// The image backbones (cnn-small, ResNet-18/50, ViT) as ONNX, mirroring their eval-mode TF.js
// forwards. Feature maps stay NCHW (ONNX Conv's layout); conv weights are transposed from TF's
// [kh, kw, in, out] at export. Region order is row-major over the grid, as in the TF.js encoders.
import { attr } from './graph-builder';
import type { OnnxOps } from './onnx-ops';
import type { ImageEncoderConfig } from '../models/model-config';
import { CNN_SMALL_DEFAULT_BLOCKS, CNN_SMALL_DEFAULT_WIDTHS } from '../models/cnn-small';
import { imageEncoderMacs } from '../models/image-encoder';
import { vitDims } from '../models/vit';

export interface OnnxImageFeatures {
  /** [B, M, C] */
  local: string;
  /** [B, C] */
  global: string;
  grid: [number, number];
  localDim: number;
  globalDim: number;
}

const NCHW_BN = (c: number): number[] => [1, c, 1, 1];

/** NCHW map [B, C, gh, gw] -> [B, gh*gw, C]. */
function toRegions(o: OnnxOps, map: string, c: number): string {
  return o.transpose(o.reshape(map, [0, c, -1]), [0, 2, 1]);
}

function cnnSmall(o: OnnxOps, cfg: ImageEncoderConfig, x: string, prefix: string): { local: string; last: string } {
  const widths = cfg.widths ?? CNN_SMALL_DEFAULT_WIDTHS;
  const blocks = cfg.blocks ?? CNN_SMALL_DEFAULT_BLOCKS;
  const p = (n: string): string => `${prefix}.${n}`;
  const convBn = (h: string, conv: string, bn: string, stride: number, pad: number, c: number): string =>
    o.batchNorm(o.conv(h, p(conv), stride, pad), p(bn), NCHW_BN(c));
  let h = o.relu(convBn(x, 'stem.0', 'stem.1', 4, 0, widths[0]));
  let local = '';
  widths.forEach((w, si) => {
    if (si > 0) h = o.relu(convBn(h, `stages.${si}.downsample.0`, `stages.${si}.downsample.1`, 2, 0, w));
    for (let bi = 0; bi < blocks[si]; bi++) {
      const n = `stages.${si}.blocks.${bi}`;
      const y = convBn(o.relu(convBn(h, `${n}.conv1`, `${n}.bn1`, 1, 1, w)), `${n}.conv2`, `${n}.bn2`, 1, 1, w);
      h = o.relu(o.add(h, y));
    }
    if (si === (cfg.localStage ?? 3) - 1) local = h;
  });
  // cnn-small.ts's poolTwo on NCHW: [B, C, H, W] -> [B, C, H/2, 2, W/2, 2] -> mean over the pairs.
  const c = widths[(cfg.localStage ?? 3) - 1];
  for (let s = cfg.localStage ?? 3; cfg.localPooling !== false && s < 3; s++) {
    const size = (cfg.imageSize / 4) >> (s - 1);
    local = o.meanAxes(o.reshape(local, [0, c, size / 2, 2, size / 2, 2]), [3, 5], false);
  }
  return { local, last: h };
}

function resnet(o: OnnxOps, cfg: ImageEncoderConfig, x: string, prefix: string): { local: string; last: string } {
  const bottleneck = cfg.name === 'resnet50';
  const layers = bottleneck ? [3, 4, 6, 3] : [2, 2, 2, 2];
  const planes = [64, 128, 256, 512];
  const expansion = bottleneck ? 4 : 1;
  const p = (n: string): string => `${prefix}.${n}`;
  let h = o.relu(o.batchNorm(o.conv(x, p('conv1'), 2, 3), p('bn1'), NCHW_BN(64)));
  h = o.g.op('MaxPool', [h], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) });
  let local = '';
  let inplanes = 64;
  layers.forEach((count, li) => {
    for (let bi = 0; bi < count; bi++) {
      const stride = li > 0 && bi === 0 ? 2 : 1;
      const name = p(`layer${li + 1}.${bi}`);
      const pl = planes[li];
      const specs = bottleneck
        ? [{ k: 1, s: 1, c: pl }, { k: 3, s: stride, c: pl }, { k: 1, s: 1, c: pl * expansion }]
        : [{ k: 3, s: stride, c: pl }, { k: 3, s: 1, c: pl }];
      let y = h;
      specs.forEach((sp, i) => {
        y = o.batchNorm(o.conv(y, `${name}.conv${i + 1}`, sp.s, (sp.k - 1) / 2), `${name}.bn${i + 1}`, NCHW_BN(sp.c));
        if (i < specs.length - 1) y = o.relu(y);
      });
      const identity = stride !== 1 || inplanes !== pl * expansion
        ? o.batchNorm(o.conv(h, `${name}.downsample.0`, stride, 0), `${name}.downsample.1`, NCHW_BN(pl * expansion))
        : h;
      h = o.relu(o.add(y, identity));
      inplanes = pl * expansion;
    }
    if (li === 2) local = h;
  });
  return { local, last: h };
}

function vit(o: OnnxOps, cfg: ImageEncoderConfig, x: string, prefix: string, grid: [number, number]): { local: string; global: string } {
  if (cfg.name !== 'vit-tiny' && cfg.name !== 'vit-small') throw new Error(`not a ViT: ${cfg.name}`);
  const { dim, heads } = vitDims(cfg.name);
  const patch = cfg.patchSize ?? 16;
  const depth = cfg.depth ?? 12;
  const p = (n: string): string => `${prefix}.${n}`;
  const patches = toRegions(o, o.conv(x, p('patch_embed.proj'), patch, 0), dim); // [B, M, dim]
  const b = o.dim(x, 0);
  const cls = o.g.op('Expand', [o.p(p('cls_token')), o.shapeOf([b, o.g.constI([1, dim])])]);
  let h = o.add(o.g.op('Concat', [cls, patches], { axis: attr.i(1) }), o.p(p('pos_embed')));
  for (let i = 0; i < depth; i++) {
    const bn = p(`blocks.${i}`);
    const n1 = o.layerNorm(h, `${bn}.norm1`, 1e-6);
    const qkv = o.dense(n1, `${bn}.attn.qkv`);
    const q = o.slice(qkv, 2, 0, dim);
    const k = o.slice(qkv, 2, dim, 2 * dim);
    const v = o.slice(qkv, 2, 2 * dim, 3 * dim);
    h = o.add(h, o.dense(o.attention(q, k, v, heads, dim).out, `${bn}.attn.proj`));
    const n2 = o.layerNorm(h, `${bn}.norm2`, 1e-6);
    h = o.add(h, o.dense(o.gelu(o.dense(n2, `${bn}.mlp.fc1`)), `${bn}.mlp.fc2`));
  }
  h = o.layerNorm(h, p('norm'), 1e-6);
  const m = grid[0] * grid[1];
  return { local: o.slice(h, 1, 1, 1 + m), global: o.squeeze(o.slice(h, 1, 0, 1), [1]) };
}

/** Backbone of `cfg` on NCHW pixels x [B, 1, H, W]. */
export function exportImageEncoder(o: OnnxOps, cfg: ImageEncoderConfig, x: string, prefix: string): OnnxImageFeatures {
  const shape = imageEncoderMacs(cfg);
  if (cfg.name === 'vit-tiny' || cfg.name === 'vit-small') {
    const r = vit(o, cfg, x, prefix, shape.grid);
    return { ...r, grid: shape.grid, localDim: shape.localDim, globalDim: shape.globalDim };
  }
  const r = cfg.name === 'cnn-small' ? cnnSmall(o, cfg, x, prefix) : resnet(o, cfg, x, prefix);
  return {
    local: toRegions(o, r.local, shape.localDim),
    global: o.meanAxes(r.last, [2, 3], false),
    grid: shape.grid,
    localDim: shape.localDim,
    globalDim: shape.globalDim,
  };
}
