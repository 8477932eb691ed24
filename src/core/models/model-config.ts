// Model configuration: encoder choices and sizes, defaults (the CPU default model), validation
// that names the exact offending field, and a forward-cost estimate for the benchmark.
import { ConfigError } from '../errors';
import { CNN_SMALL_DEFAULT_BLOCKS, CNN_SMALL_DEFAULT_WIDTHS } from './cnn-small';
import { imageEncoderMacs } from './image-encoder';
import { textEncoderMacs } from './bert';

export const IMAGE_ENCODERS = ['resnet18', 'resnet50', 'vit-tiny', 'vit-small', 'cnn-small'] as const;
export type ImageEncoderName = (typeof IMAGE_ENCODERS)[number];

export interface ImageEncoderConfig {
  name: ImageEncoderName;
  /** Square input side in pixels (images are [B,H,W,1], H = W = imageSize). */
  imageSize: number;
  /** ViT only: patch side (default 16). */
  patchSize?: number;
  /** ViT only: number of transformer blocks (default 12). */
  depth?: number;
  /** cnn-small only: channels of its four stages. */
  widths?: number[];
  /** cnn-small only: residual blocks per stage. */
  blocks?: number[];
  /**
   * cnn-small only: the stage (1, 2 or 3, default 3) whose map gives the regions, average-pooled
   * to the stage-3 grid. Stage 3 sees the whole 128 px image from every region; stage 2 about
   * 56 px, stage 1 about 20 px (a 16 px region then describes itself and a few pixels around it),
   * so a region can only describe what is near it. [design]
   */
  localStage?: number;
  /**
   * cnn-small with localStage 1 or 2: false keeps that stage's own, finer grid (16x16 regions
   * from stage 2 at 128 px, 8 px each) instead of pooling to the stage-3 grid. A small finding
   * then holds a region's centre: on the synthetic test split the pointing game's ceiling is
   * 0.688 on the 8x8 grid. Attention costs grow with the region count. [design]
   */
  localPooling?: boolean;
}

export interface TextEncoderConfig {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  maxLength: number;
  vocabSize: number;
  /** Hidden and attention dropout (BERT uses 0.1; 0 keeps CPU training deterministic and cheap). */
  dropout: number;
  /** Seed of the dropout masks. */
  seed?: number;
  /**
   * Which hidden states feed the word-level (local) features: 0 = the embedding layer (a word
   * piece and its position, nothing of the other words), `layers` = the last layer (default). Below the last layer a
   * function word cannot carry its report's content into the local score. [design]
   */
  localLayer?: number;
  /**
   * With localLayer 0, whether the word-level features include the absolute position embedding
   * (default true). Trained with the grounding preset, IRM's importance followed a word's place in
   * the report more than its role (the first third of a report's words took 1.6x the uniform
   * weight, the last third 0.4x, whatever they said), and cosine attention compares the word's
   * position rows with the regions' learned ones. False: the features are LayerNorm(word piece +
   * token type) alone, the same word the same wherever it sits; SRM's per-offset bias still knows
   * relative places. [design]
   */
  localPositions?: boolean;
}

export interface ModelConfig {
  image: ImageEncoderConfig;
  text: TextEncoderConfig;
  /** D: dimension of every projected feature handed to the alignment method. */
  projDim: number;
  /** N: word slots per report. */
  maxWords: number;
  /** Hidden width of the Linear-BN-ReLU-Linear-BN projection heads (MGCA: 2048). */
  headHidden?: number;
  /**
   * Add a learned embedding per grid cell to the projected regions. Convolutional regions know
   * little of where they are (only what zero padding tells the border), so a location word
   * ("left", "basilar") has nothing to match; with it, a word can attend by position and
   * content together. [design]
   */
  regionPositions?: boolean;
}

export function defaultImageConfig(name: ImageEncoderName): ImageEncoderConfig {
  switch (name) {
    case 'cnn-small':
      return { name, imageSize: 128, widths: [...CNN_SMALL_DEFAULT_WIDTHS], blocks: [...CNN_SMALL_DEFAULT_BLOCKS] };
    case 'resnet18':
    case 'resnet50':
      return { name, imageSize: 224 };
    case 'vit-tiny':
    case 'vit-small':
      return { name, imageSize: 224, patchSize: 16, depth: 12 };
  }
}

export function defaultModelConfig(): ModelConfig {
  return {
    image: defaultImageConfig('cnn-small'),
    text: { layers: 2, hidden: 128, heads: 2, intermediate: 512, maxLength: 64, vocabSize: 8192, dropout: 0, seed: 0 },
    projDim: 128,
    maxWords: 48,
    // 256 rather than MGCA's 2048: measured with `reclf bench train`, 512 -> 256 takes the default
    // RECLF step from 3.5x to 3.1x of PyTorch's on 2 cores (the wasm backend is relatively slowest
    // on the [rows, hidden] BatchNorm work of the local heads).
    headHidden: 256,
  };
}

type Obj = Record<string, unknown>;

function asObject(v: unknown, path: string): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${path}: expected an object, got ${describe(v)}`, path);
  return v as Obj;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `'${v}'`;
  return typeof v === 'object' ? 'an object' : String(v);
}

function rejectUnknown(o: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ConfigError(`${path}.${k}: unknown field (allowed: ${allowed.join(', ')})`, `${path}.${k}`);
  }
}

function posInt(o: Obj, key: string, fallback: number, path: string, min = 1): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ConfigError(`${path}.${key}: expected an integer >= ${min}, got ${describe(v)}`, `${path}.${key}`);
  }
  return v;
}

function intList(o: Obj, key: string, fallback: number[], length: number, path: string, min: number): number[] {
  const v = o[key];
  if (v === undefined) return [...fallback];
  if (!Array.isArray(v) || v.length !== length || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= min)) {
    throw new ConfigError(`${path}.${key}: expected ${length} integers >= ${min}, got ${JSON.stringify(v)}`, `${path}.${key}`);
  }
  return v as number[];
}

function resolveImage(raw: unknown, path: string): ImageEncoderConfig {
  const o = asObject(raw, path);
  rejectUnknown(o, ['name', 'imageSize', 'patchSize', 'depth', 'widths', 'blocks', 'localStage', 'localPooling'], path);
  const name = o.name ?? 'cnn-small';
  if (typeof name !== 'string' || !(IMAGE_ENCODERS as readonly string[]).includes(name)) {
    throw new ConfigError(`${path}.name: unknown encoder ${describe(name)} (choose ${IMAGE_ENCODERS.join(', ')})`, `${path}.name`);
  }
  const base = defaultImageConfig(name as ImageEncoderName);
  const imageSize = posInt(o, 'imageSize', base.imageSize, path, 32);
  const only = (keys: string[], who: string): void => {
    for (const k of keys) {
      if (o[k] !== undefined) throw new ConfigError(`${path}.${k}: only used by ${who}, not by '${name}'`, `${path}.${k}`);
    }
  };
  if (base.name === 'cnn-small') {
    only(['patchSize', 'depth'], 'vit-tiny/vit-small');
    if (imageSize % 32 !== 0) throw new ConfigError(`${path}.imageSize: cnn-small needs a multiple of 32, got ${imageSize}`, `${path}.imageSize`);
    const localStage = o.localStage === undefined ? 3 : posInt(o, 'localStage', 3, path, 1);
    if (localStage > 3) throw new ConfigError(`${path}.localStage: expected 1, 2 or 3, got ${localStage}`, `${path}.localStage`);
    const localPooling = bool(o, 'localPooling', true, path);
    if (!localPooling && localStage === 3) {
      throw new ConfigError(`${path}.localPooling: false only changes regions from stage 1 or 2 (localStage is 3, already the stage-3 grid)`, `${path}.localPooling`);
    }
    return {
      name: base.name,
      imageSize,
      widths: intList(o, 'widths', CNN_SMALL_DEFAULT_WIDTHS, 4, path, 1),
      blocks: intList(o, 'blocks', CNN_SMALL_DEFAULT_BLOCKS, 4, path, 0),
      ...(localStage === 3 ? {} : { localStage }),
      ...(localPooling ? {} : { localPooling: false }),
    };
  }
  if (base.name === 'vit-tiny' || base.name === 'vit-small') {
    only(['widths', 'blocks', 'localStage', 'localPooling'], 'cnn-small');
    const patchSize = posInt(o, 'patchSize', base.patchSize ?? 16, path, 2);
    if (imageSize % patchSize !== 0) {
      throw new ConfigError(`${path}.patchSize: ${patchSize} does not divide imageSize ${imageSize}`, `${path}.patchSize`);
    }
    return { name: base.name, imageSize, patchSize, depth: posInt(o, 'depth', base.depth ?? 12, path) };
  }
  only(['patchSize', 'depth'], 'vit-tiny/vit-small');
  only(['widths', 'blocks', 'localStage', 'localPooling'], 'cnn-small');
  return { name: base.name, imageSize };
}

function resolveText(raw: unknown, path: string): TextEncoderConfig {
  const d = defaultModelConfig().text;
  const o = asObject(raw, path);
  rejectUnknown(o, ['layers', 'hidden', 'heads', 'intermediate', 'maxLength', 'vocabSize', 'dropout', 'seed', 'localLayer', 'localPositions'], path);
  const hidden = posInt(o, 'hidden', d.hidden, path);
  const heads = posInt(o, 'heads', d.heads, path);
  if (hidden % heads !== 0) throw new ConfigError(`${path}.heads: ${heads} does not divide hidden ${hidden}`, `${path}.heads`);
  const dropout = o.dropout ?? d.dropout;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw new ConfigError(`${path}.dropout: expected a number in [0, 1), got ${describe(dropout)}`, `${path}.dropout`);
  }
  const layers = posInt(o, 'layers', d.layers, path);
  const localLayer = o.localLayer === undefined ? undefined : posInt(o, 'localLayer', layers, path, 0);
  if (localLayer !== undefined && localLayer > layers) {
    throw new ConfigError(`${path}.localLayer: ${localLayer} exceeds layers ${layers}`, `${path}.localLayer`);
  }
  const localPositions = bool(o, 'localPositions', true, path);
  if (!localPositions && localLayer !== 0) {
    throw new ConfigError(`${path}.localPositions: false leaves the position embedding out of embedding-level word features; it needs localLayer 0 (every encoder layer has mixed positions in)`, `${path}.localPositions`);
  }
  return {
    layers,
    ...(localLayer === undefined || localLayer === layers ? {} : { localLayer }),
    ...(localPositions ? {} : { localPositions }),
    hidden,
    heads,
    intermediate: posInt(o, 'intermediate', d.intermediate, path),
    maxLength: posInt(o, 'maxLength', d.maxLength, path, 3),
    vocabSize: posInt(o, 'vocabSize', d.vocabSize, path, 5),
    dropout,
    seed: posInt(o, 'seed', d.seed ?? 0, path, 0),
  };
}

/** Fills defaults into a user-supplied (JSON) model config; ConfigError names the bad field. */
export function resolveModelConfig(partial: unknown, path = 'model'): ModelConfig {
  const d = defaultModelConfig();
  const o = asObject(partial, path);
  rejectUnknown(o, ['image', 'text', 'projDim', 'maxWords', 'headHidden', 'regionPositions'], path);
  const text = resolveText(o.text, `${path}.text`);
  const maxWords = posInt(o, 'maxWords', d.maxWords, path);
  if (maxWords > text.maxLength) {
    throw new ConfigError(`${path}.maxWords: ${maxWords} exceeds text.maxLength ${text.maxLength} (a word needs at least one piece)`, `${path}.maxWords`);
  }
  return {
    image: resolveImage(o.image, `${path}.image`),
    text,
    projDim: posInt(o, 'projDim', d.projDim, path),
    maxWords,
    headHidden: posInt(o, 'headHidden', d.headHidden ?? 256, path),
    ...(bool(o, 'regionPositions', false, path) ? { regionPositions: true } : {}),
  };
}

function bool(o: Obj, key: string, fallback: boolean, path: string): boolean {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ConfigError(`${path}.${key}: expected true or false, got ${describe(v)}`, `${path}.${key}`);
  return v;
}

export interface FlopEstimate {
  /** Forward MFLOP (2 x multiply-accumulates of convs and matmuls) for one image, heads included. */
  imageMFlop: number;
  /** Forward MFLOP for one report of maxLength pieces, heads included. */
  textMFlop: number;
  /** Forward MFLOP for `batch` image-report pairs. */
  batchMFlop: number;
}

export function estimateFlops(cfg: ModelConfig, batch = 1): FlopEstimate {
  const hidden = cfg.headHidden ?? 256;
  const head = (inDim: number, rows: number): number => rows * (inDim * hidden + hidden * cfg.projDim);
  const img = imageEncoderMacs(cfg.image);
  const imageMacs = img.macs + head(img.localDim, img.regions) + head(img.globalDim, 1);
  const t = cfg.text;
  const textMacs = textEncoderMacs(t, t.maxLength) + head(t.hidden, cfg.maxWords) + head(t.hidden, 1);
  const imageMFlop = (2 * imageMacs) / 1e6;
  const textMFlop = (2 * textMacs) / 1e6;
  return { imageMFlop, textMFlop, batchMFlop: batch * (imageMFlop + textMFlop) };
}
