// Tiny models for the export tests: a run config, a fixed vocabulary, two reports of different
// lengths (one longer than maxWords), random pixels, and BatchNorm running statistics moved away
// from their (0, 1) initial values so that the folded BatchNorm is really exercised.
import * as tf from '@tensorflow/tfjs-core';
import { resolveRunConfig, type RunConfig } from '../../../src/core/train/run-config';
import { buildModel, type BuiltModel } from '../../../src/core/train/trainer';
import { WordPieceTokenizer } from '../../../src/core/text';
import { Rng } from '../../../src/core/rng';

export const VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'no', 'pleural', 'effusion', 'in', 'the', 'right', 'left', 'lower', 'lobe',
  'opacity', 'heart', 'size', 'is', 'normal', '.', ',', 'small', 'pneumo', '##thorax', 'mild', 'cardio', '##megaly', 'upper',
];

export const REPORTS = [
  'Small right pleural effusion. Mild cardiomegaly.',
  'No pneumothorax in the left upper lobe, heart size is normal.',
];

export const TINY_MODEL = {
  image: { name: 'cnn-small', imageSize: 32, widths: [4, 8, 8, 8], blocks: [1, 1, 1, 1] },
  text: { layers: 2, hidden: 16, heads: 2, intermediate: 32, maxLength: 16 },
  projDim: 8,
  maxWords: 6,
  headHidden: 16,
};

export function tinyConfig(method: string, methodCfg: Record<string, unknown> = {}, model: Record<string, unknown> = TINY_MODEL): RunConfig {
  return resolveRunConfig({ model: { ...model, text: { ...(model.text as object), vocabSize: VOCAB.length } }, method: methodCfg, train: { seed: 7 } }, method);
}

export function tinyTokenizer(): WordPieceTokenizer {
  return WordPieceTokenizer.fromTokens(VOCAB);
}

/** Builds the model and perturbs the BatchNorm running statistics (seeded). */
export async function tinyModel(config: RunConfig): Promise<BuiltModel> {
  const built = buildModel(config, tinyTokenizer());
  const rng = new Rng(11);
  const rec = await built.params.toRecord();
  for (const [name, t] of Object.entries(rec)) {
    if (name.endsWith('running_mean')) t.data = t.data.map(() => rng.normal(0, 0.3));
    else if (name.endsWith('running_var')) t.data = t.data.map(() => rng.uniform(0.5, 2));
    // BERT's 0.02-std init keeps activations near 0, where GELU and attention are nearly linear;
    // larger weights make the parity test sensitive to every nonlinearity.
    else if (/^text_encoder\.model\.encoder\..*(query|key|value|dense)\.weight$/.test(name)) t.data = t.data.map((v) => v * 15);
    else if (/\.(bn\d|downsample\.1|stem\.1|head\.1)\.(weight|bias)$/.test(name)) t.data = t.data.map((v) => v + rng.normal(0, 0.2));
  }
  built.params.load(rec);
  return built;
}

export interface TinyBatch {
  batch: number;
  seqLen: number;
  imageSize: number;
  pixels: Float32Array;
  inputIds: Int32Array;
  attentionMask: Float32Array;
  /** Word slot per piece as the tokenizer gives it (may exceed maxWords). */
  rawWordIds: Int32Array;
  /** Clipped to maxWords like the trainer's batches (-1 beyond). */
  wordIndex: Int32Array;
}

export function tinyBatch(config: RunConfig, tok: WordPieceTokenizer, seed = 3): TinyBatch {
  const T = config.model.text.maxLength;
  const size = config.model.image.imageSize;
  const B = REPORTS.length;
  const rng = new Rng(seed);
  const pixels = Float32Array.from({ length: B * size * size }, () => rng.uniform(-1, 1));
  const inputIds = new Int32Array(B * T);
  const attentionMask = new Float32Array(B * T);
  const rawWordIds = new Int32Array(B * T);
  const wordIndex = new Int32Array(B * T);
  REPORTS.forEach((r, b) => {
    const enc = tok.encode(r, { maxLength: T, padToMaxLength: true });
    for (let t = 0; t < T; t++) {
      inputIds[b * T + t] = enc.inputIds[t];
      attentionMask[b * T + t] = enc.attentionMask[t];
      rawWordIds[b * T + t] = enc.wordIds[t];
      wordIndex[b * T + t] = enc.wordIds[t] < config.model.maxWords ? enc.wordIds[t] : -1;
    }
  });
  return { batch: B, seqLen: T, imageSize: size, pixels, inputIds, attentionMask, rawWordIds, wordIndex };
}

export interface TfReference {
  image_embedding: Float32Array;
  text_embedding: Float32Array;
  region_features: Float32Array;
  word_features: Float32Array;
  attention: Float32Array;
  relation: Float32Array;
  importance: Float32Array;
  local_score: Float32Array;
}

/** The TF.js eval-mode forward + explain on the batch, as flat arrays. */
export function tfReference(built: BuiltModel, b: TinyBatch): TfReference {
  return tf.tidy(() => {
    const inputs = built.model.forward({
      pixels: tf.tensor4d(b.pixels, [b.batch, b.imageSize, b.imageSize, 1]),
      inputIds: tf.tensor2d(b.inputIds, [b.batch, b.seqLen], 'int32'),
      attentionMask: tf.tensor2d(b.attentionMask, [b.batch, b.seqLen]),
      wordIndex: b.wordIndex,
    }, false);
    const ex = built.method.explain(inputs);
    const l2 = (x: tf.Tensor): Float32Array => tf.div(x, tf.norm(x, 'euclidean', -1, true)).dataSync() as Float32Array;
    return {
      image_embedding: l2(inputs.imageGlobal),
      text_embedding: l2(inputs.textGlobal),
      region_features: inputs.regions.dataSync() as Float32Array,
      word_features: inputs.words.dataSync() as Float32Array,
      attention: ex.attention.dataSync() as Float32Array,
      relation: ex.relation.dataSync() as Float32Array,
      importance: ex.importance.dataSync() as Float32Array,
      local_score: ex.localScore.dataSync() as Float32Array,
    };
  });
}

/** Largest |a - b| relative to max(1, |b|). */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}
