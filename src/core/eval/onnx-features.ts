// Encodes a dataset split with an ONNX model that follows the contract (ours from `reclf export`
// or a PyTorch export) into the same EncodedSplit the TF.js path produces, with no TF.js at all.
// The graph always scores image i against the report fed beside it, so one pass over matched
// pairs also yields their explanations (attention, relation, importance, local score); those are
// kept with the split because the contract gives no other way to get them from cached features.
// Cached in OUT/eval/cache/<modelHash>-<dataHash>-<split>.safetensors.
import fs from 'node:fs';
import path from 'node:path';
import { DataError } from '../errors';
import { sha256File, writeFileAtomic } from '../fs-atomic';
import { ImageLoader } from '../data/image-loader';
import type { LoadedStudy, Split } from '../data/manifest-types';
import { encodeSafetensors, readSafetensorsFile, type NamedTensor } from '../io/safetensors';
import { linkStudyWords, loadHostBatch, prepareStudies, type PreparedStudy } from '../train/batches';
import { knowledgeBaseFor, type ExplainModel } from '../explain/explain';
import type { ContractOutputs } from '../runtime/onnx-session';
import { concat, dataHash, type EncodedSplit, type PairExplanation, type TextFeatures } from './features';

/** Matched-pair graph outputs of every row of the split. */
export interface MatchedOutputs {
  /** [n * N * M] */
  attention: Float32Array;
  /** [n * N * N] */
  relation: Float32Array;
  /** [n * N] */
  importance: Float32Array;
  /** [n] */
  localScore: Float32Array;
}

export interface OnnxEncodedSplit extends EncodedSplit {
  matched: MatchedOutputs;
}

export function isOnnxEncodedSplit(f: EncodedSplit): f is OnnxEncodedSplit {
  return (f as Partial<OnnxEncodedSplit>).matched !== undefined;
}

/** sha256 (16 hex) of the model file: names the cache and the results' model_hash. */
export function modelFileHash(file: string): string {
  return sha256File(file).slice(0, 16);
}

export interface OnnxEncodeOptions {
  dataDir: string;
  split: Split;
  /** Folder whose eval/cache receives the feature cache. */
  outDir: string;
  modelHash: string;
  batchSize?: number;
  workers?: number;
  refresh?: boolean;
}

const ARRAYS = ['imageGlobal', 'regions', 'textGlobal', 'words', 'wordMask', 'attention', 'relation', 'importance', 'localScore'] as const;
type ArrayName = (typeof ARRAYS)[number];

interface Dims { M: number; N: number; D: number; grid: [number, number] }

/** Checks one batch's output shapes against the metadata, naming the output that breaks them. */
function checkShapes(out: ContractOutputs, b: number, d: Dims, file: string): void {
  const want: Record<keyof ContractOutputs, number[]> = {
    image_embedding: [b, d.D], text_embedding: [b, d.D], region_features: [b, d.M, d.D], word_features: [b, d.N, d.D],
    attention: [b, d.N, d.M], relation: [b, d.N, d.N], importance: [b, d.N], local_score: [b],
  };
  const bad = Object.entries(want).filter(([k, dims]) => {
    const got = out[k as keyof ContractOutputs].dims;
    return got.length !== dims.length || got.some((v, i) => v !== dims[i]);
  }).map(([k, dims]) => `'${k}' is [${out[k as keyof ContractOutputs].dims.join(', ')}], expected [${dims.join(', ')}]`);
  if (bad.length) {
    throw new DataError(`${file}: outputs disagree with the metadata (grid ${d.grid.join('x')}, max_words ${d.N}, embedding ${d.D}):\n  - ${bad.join('\n  - ')}`, file);
  }
}

/** Entity rows per word slot [rows * slots] (-1: none) from the linked studies. */
function entityFeed(prepared: readonly PreparedStudy[], rows: readonly number[], slots: number): Int32Array {
  const ids = new Int32Array(rows.length * slots).fill(-1);
  rows.forEach((i, r) => {
    const e = prepared[i].entities;
    if (e) ids.set(e.ids.subarray(0, Math.min(slots, e.ids.length)), r * slots);
  });
  return ids;
}

/** Word-slot mask [B * N] from the piece -> slot index (1 = some piece lands in the slot). */
function slotMask(wordIndex: Int32Array, batch: number, T: number, N: number): Float32Array {
  const mask = new Float32Array(batch * N);
  for (let b = 0; b < batch; b++) for (let t = 0; t < T; t++) {
    const w = wordIndex[b * T + t];
    if (w >= 0 && w < N) mask[b * N + w] = 1;
  }
  return mask;
}

/**
 * The contract exposes no [CLS] attention; word-weighted methods are never run from a model (only
 * contract outputs are scored), so the field holds uniform weights over the real words.
 */
function uniformWeights(mask: Float32Array, n: number, N: number): Float32Array {
  const out = new Float32Array(n * N);
  for (let b = 0; b < n; b++) {
    let c = 0;
    for (let w = 0; w < N; w++) c += mask[b * N + w];
    for (let w = 0; w < N; w++) out[b * N + w] = c > 0 ? mask[b * N + w] / c : 0;
  }
  return out;
}

export async function encodeSplitOnnx(model: ExplainModel, studiesAll: readonly LoadedStudy[], opts: OnnxEncodeOptions): Promise<OnnxEncodedSplit> {
  const { session, tokenizer, meta } = model;
  const file = session.file;
  const studies = studiesAll.filter((s) => s.split === opts.split);
  if (studies.length === 0) throw new DataError(`${opts.dataDir}: no studies in split '${opts.split}'`, opts.dataDir, 'split');
  const T = meta.maxLength;
  const N = meta.maxWords;
  const size = meta.imageSize;
  const grid = meta.grid;
  const M = grid[0] * grid[1];
  const prepared = prepareStudies([...studies], tokenizer, T);
  const kb = session.hasEntityIds ? knowledgeBaseFor(session.metadata, file) : undefined;
  if (kb) linkStudyWords(prepared, kb);
  const key = `${opts.modelHash}${kb ? `+kb@${kb.version}` : ''}`;
  const cacheFile = path.join(opts.outDir, 'eval', 'cache', `${opts.modelHash}-${dataHash(opts.dataDir)}-${opts.split}.safetensors`);
  const spansOf = (i: number): [number, number][] => prepared[i].enc.words.slice(0, N).map((w) => [w.start, w.end] as [number, number]);
  const assemble = (rows: number[], a: Record<ArrayName, Float32Array>, D: number, failed: EncodedSplit['failed'], cached: boolean): OnnxEncodedSplit => ({
    split: opts.split, studies: rows.map((i) => studies[i]), n: rows.length, M, N, D, G: D, grid, imageSize: size,
    imageGlobal: a.imageGlobal, regions: a.regions, backboneGlobal: a.imageGlobal, textGlobal: a.textGlobal,
    words: a.words, wordMask: a.wordMask, clsAttention: uniformWeights(a.wordMask, rows.length, N),
    wordSpans: rows.map(spansOf), ...(kb ? entitySlots(prepared, rows, N) : {}), failed, cached, cacheFile,
    matched: { attention: a.attention, relation: a.relation, importance: a.importance, localScore: a.localScore },
  });

  if (!opts.refresh && fs.existsSync(cacheFile)) {
    const hit = readCache(cacheFile, key, studies);
    if (hit) return assemble(hit.ids.map((id) => studies.findIndex((s) => s.id === id)), hit.arrays, hit.D, hit.failed, true);
  }

  const B = opts.batchSize ?? 32;
  const loader = new ImageLoader({ workers: opts.workers ?? 0, size, mean: meta.mean, std: meta.std });
  const acc = Object.fromEntries(ARRAYS.map((k) => [k, [] as Float32Array[]])) as Record<ArrayName, Float32Array[]>;
  const kept: number[] = [];
  const failed: EncodedSplit['failed'] = [];
  let D = 0;
  try {
    for (let start = 0; start < prepared.length; start += B) {
      const idx = Array.from({ length: Math.min(B, prepared.length - start) }, (_, k) => start + k);
      const hb = await loadHostBatch(loader, prepared, idx, { seed: 0, epoch: 0, augment: false, maxLength: T, maxWords: N, imageSize: size });
      for (const f of hb.failed) failed.push({ id: f.study.id, reason: f.reason });
      const b = hb.indices.length;
      if (b === 0) continue;
      const out = await session.run({
        batch: b, pixels: hb.pixels, imageSize: size, seqLen: T, inputIds: hb.inputIds, attentionMask: hb.attentionMask, wordIds: hb.wordIndex,
        ...(session.entityWords !== undefined ? { entityIds: entityFeed(prepared, hb.indices, session.entityWords) } : {}),
      });
      D = out.image_embedding.dims[1];
      checkShapes(out, b, { M, N, D, grid }, file);
      // Copies: onnxruntime may reuse its output buffers on the next run.
      acc.imageGlobal.push(out.image_embedding.data.slice());
      acc.regions.push(out.region_features.data.slice());
      acc.textGlobal.push(out.text_embedding.data.slice());
      acc.words.push(out.word_features.data.slice());
      acc.wordMask.push(slotMask(hb.wordIndex, b, T, N));
      acc.attention.push(out.attention.data.slice());
      acc.relation.push(out.relation.data.slice());
      acc.importance.push(out.importance.data.slice());
      acc.localScore.push(out.local_score.data.slice());
      kept.push(...hb.indices);
    }
  } finally {
    await loader.close();
  }
  if (kept.length === 0) throw new DataError(`${opts.dataDir}: no image of split '${opts.split}' could be decoded`, opts.dataDir);
  const arrays = Object.fromEntries(ARRAYS.map((k) => [k, concat(acc[k])])) as Record<ArrayName, Float32Array>;
  const n = kept.length;
  const shapes: Record<ArrayName, number[]> = {
    imageGlobal: [n, D], regions: [n, M, D], textGlobal: [n, D], words: [n, N, D], wordMask: [n, N],
    attention: [n, N, M], relation: [n, N, N], importance: [n, N], localScore: [n],
  };
  const tensors: Record<string, NamedTensor> = {};
  for (const k of ARRAYS) tensors[k] = { shape: shapes[k], data: arrays[k] };
  fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
  writeFileAtomic(cacheFile, encodeSafetensors(tensors, { model: key, ids: JSON.stringify(kept.map((i) => studies[i].id)), failed: JSON.stringify(failed) }));
  return assemble(kept, arrays, D, failed, false);
}

function entitySlots(prepared: readonly PreparedStudy[], rows: readonly number[], N: number): Pick<EncodedSplit, 'entityIds' | 'entityNegated'> {
  const ids = entityFeed(prepared, rows, N);
  const negated = new Uint8Array(rows.length * N);
  rows.forEach((i, r) => {
    const e = prepared[i].entities;
    if (e) negated.set(e.negated.subarray(0, Math.min(N, e.negated.length)), r * N);
  });
  return { entityIds: ids, entityNegated: negated };
}

function readCache(file: string, key: string, studies: readonly LoadedStudy[]):
  { ids: string[]; D: number; failed: EncodedSplit['failed']; arrays: Record<ArrayName, Float32Array> } | undefined {
  try {
    const { tensors, metadata } = readSafetensorsFile(file);
    if (metadata.model !== key) return undefined;
    const ids = JSON.parse(metadata.ids ?? '[]') as string[];
    const known = new Set(studies.map((s) => s.id));
    if (ids.length === 0 || !ids.every((id) => known.has(id))) return undefined;
    if (!ARRAYS.every((k) => tensors[k] && tensors[k].shape[0] === ids.length)) return undefined;
    const arrays = Object.fromEntries(ARRAYS.map((k) => [k, tensors[k].data])) as Record<ArrayName, Float32Array>;
    return { ids, D: tensors.imageGlobal.shape[1], failed: JSON.parse(metadata.failed ?? '[]') as EncodedSplit['failed'], arrays };
  } catch {
    // A corrupt or foreign cache is simply recomputed.
    return undefined;
  }
}

/**
 * Encodes free texts (prompts) with the model's text tower. The graph needs an image beside every
 * text; text outputs do not depend on it, so a blank (mean-grey) image is fed.
 */
export async function encodeTextsOnnx(model: ExplainModel, texts: readonly string[], batchSize = 64): Promise<TextFeatures> {
  const { session, tokenizer, meta } = model;
  const T = meta.maxLength;
  const N = meta.maxWords;
  const size = meta.imageSize;
  const words: Float32Array[] = [], masks: Float32Array[] = [], globals: Float32Array[] = [];
  let D = 0;
  for (let s = 0; s < texts.length; s += batchSize) {
    const chunk = texts.slice(s, s + batchSize);
    const b = chunk.length;
    const ids = new Int32Array(b * T);
    const mask = new Int32Array(b * T);
    const wordIndex = new Int32Array(b * T).fill(-1);
    chunk.forEach((t, k) => {
      const enc = tokenizer.encode(t, { maxLength: T, padToMaxLength: true });
      for (let i = 0; i < T; i++) {
        ids[k * T + i] = enc.inputIds[i] ?? 0;
        mask[k * T + i] = enc.attentionMask[i] ?? 0;
        const w = enc.wordIds[i] ?? -1;
        wordIndex[k * T + i] = w >= 0 && w < N ? w : -1;
      }
    });
    const out = await session.run({ batch: b, pixels: new Float32Array(b * size * size), imageSize: size, seqLen: T, inputIds: ids, attentionMask: mask, wordIds: wordIndex });
    D = out.text_embedding.dims[1];
    globals.push(out.text_embedding.data.slice());
    words.push(out.word_features.data.slice());
    masks.push(slotMask(wordIndex, b, T, N));
  }
  const wordMask = concat(masks);
  return { n: texts.length, N, D, words: concat(words), wordMask, textGlobal: concat(globals), clsAttention: uniformWeights(wordMask, texts.length, N) };
}

/** Cosine similarity [imageRows][textRows] of the global embeddings, in plain JS. */
export function globalCosineMatrix(images: EncodedSplit, imageRows: readonly number[], texts: TextFeatures, textRows: readonly number[]): Float32Array[] {
  const D = images.D;
  if (texts.D !== D) throw new Error(`image embeddings have ${D} dims, text embeddings ${texts.D}`);
  const unit = (src: Float32Array, rows: readonly number[]): Float32Array[] => rows.map((r) => {
    const v = src.subarray(r * D, (r + 1) * D);
    let s = 0;
    for (let k = 0; k < D; k++) s += v[k] * v[k];
    const inv = 1 / (Math.sqrt(s) + 1e-8);
    return v.map((x) => x * inv);
  });
  const a = unit(images.imageGlobal, imageRows);
  const b = unit(texts.textGlobal, textRows);
  return a.map((u) => {
    const row = new Float32Array(b.length);
    b.forEach((v, j) => { let s = 0; for (let k = 0; k < D; k++) s += u[k] * v[k]; row[j] = s; });
    return row;
  });
}

/** The graph's matched-pair explanations of the given rows (image i with its own report). */
export function matchedPairs(f: OnnxEncodedSplit, rows: readonly number[]): PairExplanation[] {
  const { N, M } = f;
  const m = f.matched;
  return rows.map((r) => ({
    attention: m.attention.slice(r * N * M, (r + 1) * N * M),
    relation: m.relation.slice(r * N * N, (r + 1) * N * N),
    importance: m.importance.slice(r * N, (r + 1) * N),
    localScore: m.localScore[r],
  }));
}
