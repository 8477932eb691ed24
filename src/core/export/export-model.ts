// Whole-model ONNX export following the "ONNX model contract" (ARCHITECTURE.md): pixel_values
// [B,1,H,W], input_ids / attention_mask / word_ids [B,T] int64 in; embeddings, local features and
// the method's explanation tensors out; everything explain needs (image size, grid,
// normalisation, vocabulary) in the metadata props, so the .onnx file alone is a usable model.
import type { ImageDistribution } from '../explain/image-distribution';
import fs from 'node:fs';
import path from 'node:path';
import { DataType, GraphBuilder } from './graph-builder';
import { OnnxOps, type ParamRecord } from './onnx-ops';
import { exportImageEncoder } from './export-image';
import { exportBert, exportWordAssignment } from './export-text';
import { ENTITY_IDS_INPUT, exportMethodExplain } from './export-method';
import { defaultKnowledgeBase } from '../knowledge/kb';
import { IMAGE_PREFIX, REGION_POSITION_PARAM, TEXT_PREFIX } from '../models/dual-encoder';
import type { ModelConfig } from '../models/model-config';
import type { WordPieceTokenizer } from '../text';
import { writeFileAtomic } from '../fs-atomic';

export const CONTRACT_INPUTS = ['pixel_values', 'input_ids', 'attention_mask', 'word_ids'] as const;
export const CONTRACT_OUTPUTS = [
  'image_embedding', 'text_embedding', 'region_features', 'word_features', 'attention', 'relation', 'importance', 'local_score',
] as const;

/** Keys of the ONNX metadata_props we write (all values are strings; JSON where structured). */
export interface ModelMetadata {
  image_size: number;
  grid: [number, number];
  normalisation: { mean: number; std: number };
  tokenizer: { type: 'wordpiece'; lower_case: boolean; strip_accents: boolean; vocab: 'inline' | string };
  vocab_hash: string;
  method: string;
  max_words: number;
  max_length: number;
  proj_dim: number;
  image_encoder: string;
  /** Text-encoder layer whose hidden states feed the word features (0 = the embeddings); absent in older exports (= the last). */
  word_layer?: number;
  /** Optional inputs beyond the contract's that this graph declares (MLIP: entity_ids). */
  extra_inputs?: string[];
  /** Version of the knowledge base whose entity rows entity_ids index (with entity_ids only). */
  knowledge_base?: string;
  /** The training images' embeddings summarised (exports with --data), so explain can flag images unlike them. */
  image_distribution?: ImageDistribution;
}

export interface ExportInput {
  model: ModelConfig;
  method: { name: string } & Record<string, unknown>;
  params: ParamRecord;
  tokenizer: WordPieceTokenizer;
  normalisation?: { mean: number; std: number };
  /** Free text stored as the model's doc_string (run name, checkpoint). */
  doc?: string;
  imageDistribution?: ImageDistribution;
}

export interface ExportedModel {
  bytes: Uint8Array;
  metadata: ModelMetadata;
  nodes: number;
}

export const VOCAB_METADATA_KEY = 'vocab';

export function exportModel(input: ExportInput): ExportedModel {
  const cfg = input.model;
  const size = cfg.image.imageSize;
  const n = cfg.maxWords;
  const d = cfg.projDim;
  const g = new GraphBuilder(`reclf_${input.method.name}`);
  const o = new OnnxOps(g, input.params);
  const pixels = g.input('pixel_values', DataType.FLOAT, ['batch', 1, size, size]);
  const ids = g.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  const mask = g.input('attention_mask', DataType.INT64, ['batch', 'sequence']);
  const wordIds = g.input('word_ids', DataType.INT64, ['batch', 'sequence']);

  const img = exportImageEncoder(o, cfg.image, pixels, `${IMAGE_PREFIX}.model`);
  const head = (x: string, prefix: string): string => {
    const h = o.relu(o.batchNorm(o.dense(x, `${prefix}.head.0`), `${prefix}.head.1`, [o.shape(`${prefix}.head.1.running_mean`)[0]]));
    return o.batchNorm(o.dense(h, `${prefix}.head.3`), `${prefix}.head.4`, [d]);
  };
  const projected = head(img.local, `${IMAGE_PREFIX}.local_embed`);
  const regions = cfg.regionPositions ? o.add(projected, o.p(REGION_POSITION_PARAM)) : projected;
  const imageGlobal = head(img.global, `${IMAGE_PREFIX}.global_embed`);

  const maskF = o.castF(mask);
  const txt = exportBert(o, cfg.text, ids, maskF, `${TEXT_PREFIX}.model`);
  const assign = exportWordAssignment(o, wordIds, n);
  const words = head(o.matmul(assign.matrix, txt.localTokens), `${TEXT_PREFIX}.local_embed`);
  const textGlobal = head(txt.cls, `${TEXT_PREFIX}.global_embed`);
  const clsAttention = o.squeeze(o.matmul(assign.matrix, o.unsqueeze(txt.clsAttention, [2])), [2]);

  const { name, ...methodCfg } = input.method;
  const ex = exportMethodExplain(o, name, methodCfg, { regions, words, wordMask: assign.mask, clsAttention }, n);

  const m = img.grid[0] * img.grid[1];
  g.output(o.l2norm(imageGlobal), 'image_embedding', DataType.FLOAT, ['batch', d]);
  g.output(o.l2norm(textGlobal), 'text_embedding', DataType.FLOAT, ['batch', d]);
  g.output(regions, 'region_features', DataType.FLOAT, ['batch', m, d]);
  g.output(words, 'word_features', DataType.FLOAT, ['batch', n, d]);
  g.output(ex.attention, 'attention', DataType.FLOAT, ['batch', n, m]);
  g.output(ex.relation, 'relation', DataType.FLOAT, ['batch', n, n]);
  g.output(ex.importance, 'importance', DataType.FLOAT, ['batch', n]);
  g.output(ex.localScore, 'local_score', DataType.FLOAT, ['batch']);

  const tok = input.tokenizer;
  const metadata: ModelMetadata = {
    image_size: size,
    grid: img.grid,
    normalisation: input.normalisation ?? { mean: 0.5, std: 0.5 },
    tokenizer: { type: 'wordpiece', lower_case: tok.lowerCase, strip_accents: tok.stripAccents, vocab: 'inline' },
    vocab_hash: tok.vocabHash,
    method: name,
    max_words: n,
    max_length: cfg.text.maxLength,
    proj_dim: d,
    image_encoder: cfg.image.name,
    word_layer: cfg.text.localLayer ?? cfg.text.layers,
    ...(ex.extraInputs ? { extra_inputs: ex.extraInputs } : {}),
    ...(ex.extraInputs?.includes(ENTITY_IDS_INPUT) ? { knowledge_base: defaultKnowledgeBase().version } : {}),
    ...(input.imageDistribution ? { image_distribution: input.imageDistribution } : {}),
  };
  const props: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) props[k] = typeof v === 'string' ? v : JSON.stringify(v);
  props[VOCAB_METADATA_KEY] = tok.vocabText();
  return { bytes: g.build(props, input.doc), metadata, nodes: g.nodeCount() };
}

/** Writes model.onnx atomically plus `<name>.vocab.txt` next to it (readable without ONNX tooling). */
export function writeExportedModel(file: string, exported: ExportedModel, tokenizer: WordPieceTokenizer): { model: string; vocab: string } {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(file, exported.bytes);
  const vocab = vocabPathFor(file);
  writeFileAtomic(vocab, tokenizer.vocabText());
  return { model: file, vocab };
}

/** model.onnx -> model.vocab.txt */
export function vocabPathFor(modelFile: string): string {
  return modelFile.replace(/\.onnx$/i, '') + '.vocab.txt';
}
