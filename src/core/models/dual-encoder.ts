// The dual encoder: image backbone + BERT, pieces summed into words, and MGCA projection heads
// for regions, words and both global vectors. Produces exactly what an alignment method consumes.
import * as tf from '@tensorflow/tfjs-core';
import type { AlignInputs, TextVariantPlan } from '../align/types';
import { BatchNormGroup } from './batchnorm';
import { createTextEncoder, type TextEncoder } from './bert';
import { ProjectionHead } from './heads';
import { createImageEncoder, type ImageEncoder } from './image-encoder';
import type { ModelConfig } from './model-config';
import type { ParamStore } from './params';
import { sumPieceWeightsIntoWords, sumPiecesIntoWords } from './word-pooling';

export interface ModelBatch {
  /** [B, H, W, 1], normalised to [-1, 1]. */
  pixels: tf.Tensor4D;
  /** int32 [B, T]. */
  inputIds: tf.Tensor2D;
  /** [B, T], 1 = real piece. */
  attentionMask: tf.Tensor2D;
  /** [B*T] word slot of each piece, -1 for [CLS]/[SEP]/padding. */
  wordIndex: Int32Array;
  /** Knowledge-base entity per word slot [B*maxWords], passed through to AlignInputs (MLIP). */
  entityIds?: Int32Array;
  entityNegated?: Uint8Array;
  /** Re-tokenised variants of some reports (AlignMethod.planTextVariants), encoded with the batch. */
  textVariants?: { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D; wordIndex: Int32Array; plan: TextVariantPlan };
}

export interface ImageFeatures {
  regions: tf.Tensor3D;
  imageGlobal: tf.Tensor2D;
}

export interface TextFeatures {
  words: tf.Tensor3D;
  wordMask: tf.Tensor2D;
  /** The same mask on the host (built from the host word indices, so no read-back). */
  wordMaskValues: Float32Array;
  textGlobal: tf.Tensor2D;
  clsAttention: tf.Tensor2D;
}

/** Parameter-name prefixes (MGCA-like), so imported backbones can be mapped by prefix. */
export const IMAGE_PREFIX = 'img_encoder';
export const TEXT_PREFIX = 'text_encoder';
export const REGION_POSITION_PARAM = `${IMAGE_PREFIX}.local_position`;

export class DualEncoder {
  readonly image: ImageEncoder;
  readonly text: TextEncoder;
  private readonly heads = new BatchNormGroup();
  private readonly imageLocal: ProjectionHead;
  private readonly imageGlobalHead: ProjectionHead;
  private readonly textLocal: ProjectionHead;
  private readonly textGlobalHead: ProjectionHead;
  /** [M, D] learned per-cell embedding added to the regions (model.regionPositions). */
  private readonly regionPosition?: tf.Tensor2D;

  constructor(readonly cfg: ModelConfig, params: ParamStore) {
    const hidden = cfg.headHidden ?? 512;
    this.image = createImageEncoder(cfg.image, params, `${IMAGE_PREFIX}.model`);
    this.text = createTextEncoder(cfg.text, params, `${TEXT_PREFIX}.model`);
    const d = cfg.projDim;
    this.imageGlobalHead = new ProjectionHead(params, `${IMAGE_PREFIX}.global_embed`, this.image.globalDim, hidden, d, this.heads);
    this.imageLocal = new ProjectionHead(params, `${IMAGE_PREFIX}.local_embed`, this.image.localDim, hidden, d, this.heads);
    this.textGlobalHead = new ProjectionHead(params, `${TEXT_PREFIX}.global_embed`, this.text.hidden, hidden, d, this.heads);
    this.textLocal = new ProjectionHead(params, `${TEXT_PREFIX}.local_embed`, this.text.hidden, hidden, d, this.heads);
    if (cfg.regionPositions) {
      const [gh, gw] = this.image.grid;
      // Small but non-zero, so that the cells differ from the first step on (the regions after
      // the head's BatchNorm have unit variance per dimension).
      this.regionPosition = params.param(REGION_POSITION_PARAM, [gh * gw, d], { kind: 'normal', std: 0.1 }) as tf.Tensor2D;
    }
  }

  /** Region grid [rows, cols] of the image side (M = rows * cols). */
  get grid(): [number, number] {
    return this.image.grid;
  }

  forward(batch: ModelBatch, training: boolean): AlignInputs {
    const img = this.encodeImage(batch.pixels, training);
    const entities = batch.entityIds ? { entityIds: batch.entityIds, entityNegated: batch.entityNegated } : {};
    const v = batch.textVariants;
    if (!v) return { ...img, ...this.encodeText(batch, training), ...entities };
    // One text pass over the reports and their variants: the word head's BatchNorm sees one
    // batch (whose statistics the variants, the same words re-ordered, hardly move) and records
    // one update, as without variants.
    const b = batch.inputIds.shape[0];
    const s = v.inputIds.shape[0];
    const all = this.encodeText({
      inputIds: tf.concat([batch.inputIds, v.inputIds]) as tf.Tensor2D,
      attentionMask: tf.concat([batch.attentionMask, v.attentionMask]) as tf.Tensor2D,
      wordIndex: concatIndex(batch.wordIndex, v.wordIndex),
    }, training, b);
    const n = this.cfg.maxWords;
    const first = <T extends tf.Tensor>(x: T, rows: number, from = 0): T => tf.slice(x, from, rows) as T;
    return {
      ...img,
      words: first(all.words, b),
      wordMask: first(all.wordMask, b),
      wordMaskValues: all.wordMaskValues.slice(0, b * n),
      textGlobal: all.textGlobal,
      clsAttention: first(all.clsAttention, b),
      textVariants: { plan: v.plan, words: first(all.words, s, b), wordMask: first(all.wordMask, s, b) },
      ...entities,
    };
  }

  encodeImage(pixels: tf.Tensor4D, training: boolean): ImageFeatures {
    const out = this.image.forward(pixels, training);
    const regions = this.imageLocal.applyLocal(out.local, training);
    return {
      regions: this.regionPosition ? tf.add(regions, this.regionPosition) as tf.Tensor3D : regions,
      imageGlobal: this.imageGlobalHead.apply(out.global, training),
    };
  }

  /** `globalRows`: only the first rows are reports of the batch (the rest variants with no global embedding). */
  encodeText(batch: Pick<ModelBatch, 'inputIds' | 'attentionMask' | 'wordIndex'>, training: boolean, globalRows?: number): TextFeatures {
    const out = this.text.forward(batch.inputIds, batch.attentionMask, training);
    const { words, mask, maskValues } = sumPiecesIntoWords(out.localTokens, batch.wordIndex, this.cfg.maxWords);
    const cls = globalRows === undefined ? out.cls : tf.slice(out.cls, 0, globalRows) as tf.Tensor2D;
    return {
      words: this.textLocal.applyLocal(words, training, mask),
      wordMask: mask,
      wordMaskValues: maskValues,
      textGlobal: this.textGlobalHead.apply(cls, training),
      clsAttention: sumPieceWeightsIntoWords(out.clsAttention, batch.wordIndex, this.cfg.maxWords),
    };
  }

  /** Folds the batch statistics recorded by training-mode forwards into the running stats; call after the optimizer step. */
  applyBatchNormUpdates(): void {
    this.image.batchNorms.applyPendingUpdates();
    this.heads.applyPendingUpdates();
  }

  discardBatchNormUpdates(): void {
    this.image.batchNorms.discardPendingUpdates();
    this.heads.discardPendingUpdates();
  }

  pendingBatchNormUpdates(): number {
    return this.image.batchNorms.pendingCount() + this.heads.pendingCount();
  }
}

function concatIndex(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
