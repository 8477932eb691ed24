// BERT encoder (post-LN, Hugging Face BertModel without the pooler) with HF parameter names and
// TF-layout dense weights, so Bio_ClinicalBERT-style checkpoints can be imported by name.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../rng';
import { Dense, LayerNorm, embeddingLookup, joinName, multiHeadAttention } from './layers';
import type { TextEncoderConfig } from './model-config';
import { gelu } from './ops';
import type { ParamStore } from './params';

const LN_EPS = 1e-12;
const TYPE_VOCAB = 2;

export interface TextEncoderOutput {
  /** Last-layer hidden states [B, T, H]. */
  tokens: tf.Tensor3D;
  /** Hidden states [B, T, H] of the layer `localLayer` selects (the word-level features' source). */
  localTokens: tf.Tensor3D;
  /** [CLS] hidden state [B, H]. */
  cls: tf.Tensor2D;
  /** Last-layer attention from [CLS] to every piece, mean over heads [B, T] (pre-dropout). */
  clsAttention: tf.Tensor2D;
}

export interface TextEncoder {
  /** inputIds int32 [B,T] (T <= maxLength); attentionMask [B,T], 1 = real piece. */
  forward(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, training: boolean): TextEncoderOutput;
  readonly hidden: number;
  readonly config: TextEncoderConfig;
}

interface Layer {
  query: Dense;
  key: Dense;
  value: Dense;
  attnOut: Dense;
  attnNorm: LayerNorm;
  intermediate: Dense;
  output: Dense;
  outNorm: LayerNorm;
}

class BertEncoder implements TextEncoder {
  readonly hidden: number;
  private readonly wordEmb: tf.Variable;
  private readonly posEmb: tf.Variable;
  private readonly typeEmb: tf.Variable;
  private readonly embNorm: LayerNorm;
  private readonly layers: Layer[] = [];
  private readonly rng: Rng;

  constructor(readonly config: TextEncoderConfig, params: ParamStore, prefix: string) {
    const { hidden: h, intermediate: inter } = config;
    this.hidden = h;
    this.rng = new Rng(config.seed ?? 0);
    const init = { kind: 'normal', std: 0.02 } as const;
    const zeros = { kind: 'zeros' } as const;
    const p = (n: string): string => joinName(prefix, n);
    this.wordEmb = params.param(p('embeddings.word_embeddings.weight'), [config.vocabSize, h], init);
    this.posEmb = params.param(p('embeddings.position_embeddings.weight'), [config.maxLength, h], init);
    this.typeEmb = params.param(p('embeddings.token_type_embeddings.weight'), [TYPE_VOCAB, h], init);
    this.embNorm = new LayerNorm(params, p('embeddings.LayerNorm'), h, LN_EPS);
    const dense = (name: string, i: number, o: number): Dense => new Dense(params, name, i, o, { init, biasInit: zeros });
    for (let i = 0; i < config.layers; i++) {
      const l = p(`encoder.layer.${i}`);
      this.layers.push({
        query: dense(`${l}.attention.self.query`, h, h),
        key: dense(`${l}.attention.self.key`, h, h),
        value: dense(`${l}.attention.self.value`, h, h),
        attnOut: dense(`${l}.attention.output.dense`, h, h),
        attnNorm: new LayerNorm(params, `${l}.attention.output.LayerNorm`, h, LN_EPS),
        intermediate: dense(`${l}.intermediate.dense`, h, inter),
        output: dense(`${l}.output.dense`, inter, h),
        outNorm: new LayerNorm(params, `${l}.output.LayerNorm`, h, LN_EPS),
      });
    }
  }

  forward(inputIds: tf.Tensor2D, attentionMask: tf.Tensor2D, training: boolean): TextEncoderOutput {
    const [b, t] = inputIds.shape;
    const cfg = this.config;
    if (t > cfg.maxLength) throw new Error(`text batch has ${t} pieces but the encoder's maxLength is ${cfg.maxLength}`);
    if (attentionMask.shape[0] !== b || attentionMask.shape[1] !== t) {
      throw new Error(`attentionMask shape [${attentionMask.shape}] != inputIds shape [${inputIds.shape}]`);
    }
    const drop = (x: tf.Tensor): tf.Tensor =>
      training && cfg.dropout > 0 ? tf.dropout(x, cfg.dropout, undefined, this.rng.nextU32()) : x;
    const words = embeddingLookup(this.wordEmb as tf.Tensor as tf.Tensor2D, inputIds);
    const pos = tf.slice(this.posEmb, [0, 0], [t, this.hidden]);
    // token_type_ids are all 0 for single-segment reports; row 0 broadcasts over every piece.
    const type0 = tf.slice(this.typeEmb, [0, 0], [1, this.hidden]);
    let h = drop(this.embNorm.apply(tf.add(tf.add(words, pos), type0))) as tf.Tensor3D;
    const mask = tf.cast(attentionMask, 'float32') as tf.Tensor2D;
    let clsAttention: tf.Tensor2D | undefined;
    const localAt = cfg.localLayer ?? cfg.layers;
    // localPositions false (localLayer 0 only): the same embedding without its position rows.
    let localTokens = cfg.localPositions === false ? drop(this.embNorm.apply(tf.add(words, type0))) as tf.Tensor3D : h;
    this.layers.forEach((layer, li) => {
      const q = layer.query.apply(h) as tf.Tensor3D;
      const k = layer.key.apply(h) as tf.Tensor3D;
      const v = layer.value.apply(h) as tf.Tensor3D;
      const attn = multiHeadAttention(q, k, v, cfg.heads, mask, drop);
      if (li === this.layers.length - 1) {
        clsAttention = tf.mean(tf.slice(attn.probs, [0, 0, 0, 0], [b, cfg.heads, 1, t]), [1, 2]) as tf.Tensor2D;
      }
      const a = layer.attnNorm.apply(tf.add(drop(layer.attnOut.apply(attn.out)), h));
      const ff = drop(layer.output.apply(gelu(layer.intermediate.apply(a))));
      h = layer.outNorm.apply(tf.add(ff, a)) as tf.Tensor3D;
      if (li + 1 === localAt) localTokens = h;
    });
    return {
      tokens: h,
      localTokens,
      cls: tf.reshape(tf.slice(h, [0, 0, 0], [b, 1, this.hidden]), [b, this.hidden]),
      clsAttention: clsAttention ?? (tf.div(mask, tf.sum(mask, 1, true)) as tf.Tensor2D),
    };
  }
}

export function createTextEncoder(cfg: TextEncoderConfig, params: ParamStore, prefix: string): TextEncoder {
  if (cfg.hidden % cfg.heads !== 0) throw new Error(`text hidden ${cfg.hidden} is not divisible by heads ${cfg.heads}`);
  return new BertEncoder(cfg, params, prefix);
}

/** Multiply-accumulates of one forward pass over `seqLen` pieces. */
export function textEncoderMacs(cfg: TextEncoderConfig, seqLen: number): number {
  const h = cfg.hidden;
  return cfg.layers * (seqLen * (4 * h * h + 2 * h * cfg.intermediate) + 2 * seqLen * seqLen * h);
}
