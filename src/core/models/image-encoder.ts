// Image encoder registry: every backbone maps [B,H,W,1] pixels to a local (region) map and a
// global vector, so the dual encoder and the alignment methods never depend on the backbone.
import type * as tf from '@tensorflow/tfjs-core';
import { BatchNormGroup } from './batchnorm';
import type { ImageEncoderConfig } from './model-config';
import type { ParamStore } from './params';
import { CnnSmall, cnnSmallShape } from './cnn-small';
import { ResNet, resnetShape } from './resnet';
import { VisionTransformer, vitShape } from './vit';

export interface ImageEncoderOutput {
  /** Region features [B, M, Cl], M = grid[0] * grid[1], row-major over the grid. */
  local: tf.Tensor3D;
  global: tf.Tensor2D;
  grid: [number, number];
  /**
   * Multi-scale maps [B, h, w, c], finest first, for detection heads (YOLOv3 reads three scales):
   * CNNs return references to their last three stage outputs (no extra compute); the ViT, which
   * has one stride, returns its final token map pooled at 1x, 2x and 4x. Never used by training.
   */
  pyramid?: tf.Tensor4D[];
}

export interface ImageEncoder {
  /** x: [B, H, W, 1] NHWC, already normalised. */
  forward(x: tf.Tensor4D, training: boolean): ImageEncoderOutput;
  readonly localDim: number;
  readonly globalDim: number;
  /** Region grid at the configured image size. */
  readonly grid: [number, number];
  /** BatchNorm layers whose running statistics a training step updates (empty for ViTs). */
  readonly batchNorms: BatchNormGroup;
}

/** Static shape and cost of a backbone at its configured size. */
export interface ImageEncoderShape {
  localDim: number;
  globalDim: number;
  grid: [number, number];
  regions: number;
  /** Multiply-accumulates of one forward pass (convs and matmuls). */
  macs: number;
}

export function createImageEncoder(cfg: ImageEncoderConfig, params: ParamStore, prefix: string): ImageEncoder {
  switch (cfg.name) {
    case 'resnet18':
    case 'resnet50':
      return new ResNet(cfg, params, prefix);
    case 'vit-tiny':
    case 'vit-small':
      return new VisionTransformer(cfg, params, prefix);
    case 'cnn-small':
      return new CnnSmall(cfg, params, prefix);
  }
}

export function imageEncoderMacs(cfg: ImageEncoderConfig): ImageEncoderShape {
  switch (cfg.name) {
    case 'resnet18':
    case 'resnet50':
      return resnetShape(cfg);
    case 'vit-tiny':
    case 'vit-small':
      return vitShape(cfg);
    case 'cnn-small':
      return cnnSmallShape(cfg);
  }
}
