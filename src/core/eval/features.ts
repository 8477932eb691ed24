// Encodes one dataset split with a loaded run, once: every evaluation task then works on these
// arrays (and on method.explain/similarity over tensors rebuilt from them) instead of running
// the encoders again. Cached in RUN/eval/cache/<dataHash>-<split>.safetensors, keyed by the
// checkpoint, so a second `reclf eval` on the same data skips the encoders entirely.
// Methods that read knowledge-base entities (MLIP) get every report's words linked, so that
// their explanations (grounding, relations, importance) are the ones they train with.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DataError } from '../errors';
import { sha256File, writeFileAtomic } from '../fs-atomic';
import { ImageLoader } from '../data/image-loader';
import type { LoadedStudy, Split } from '../data/manifest-types';
import { MANIFEST_FILE } from '../data/manifest';
import { encodeSafetensors, readSafetensorsFile, type NamedTensor } from '../io/safetensors';
import type { AlignInputs } from '../align/types';
import type { LoadedRun } from '../train/run-loader';
import { disposeModelBatch, linkStudyWords, loadHostBatch, prepareStudies, toModelBatch, type PreparedStudy } from '../train/batches';
import { defaultKnowledgeBase } from '../knowledge/kb';
import { readAllAndDispose, readOne } from '../runtime/host-read';

export interface EncodedSplit {
  split: Split;
  /** Studies that decoded, in manifest order; every array below is aligned with it. */
  studies: LoadedStudy[];
  n: number;
  /** Regions M, word slots N, embedding D, backbone global width G. */
  M: number;
  N: number;
  D: number;
  G: number;
  grid: [number, number];
  imageSize: number;
  imageGlobal: Float32Array;
  regions: Float32Array;
  /** Pooled backbone feature before the projection head (linear probe input). */
  backboneGlobal: Float32Array;
  textGlobal: Float32Array;
  words: Float32Array;
  wordMask: Float32Array;
  clsAttention: Float32Array;
  /** Char span [start, end) of each model word slot in the study's report (for ground-truth alignment). */
  wordSpans: [number, number][][];
  /**
   * Knowledge-base entity row of each word slot [n * N] (-1: none) and its negation flag, for
   * methods with needsEntities. Recomputed from the reports on every call (never cached).
   */
  entityIds?: Int32Array;
  entityNegated?: Uint8Array;
  failed: { id: string; reason: string }[];
  /** True when read from the cache. */
  cached: boolean;
  cacheFile: string;
}

export interface TextFeatures {
  n: number;
  N: number;
  D: number;
  words: Float32Array;
  wordMask: Float32Array;
  textGlobal: Float32Array;
  clsAttention: Float32Array;
}

/** sha256 (16 hex) of the dataset's manifest: names the cache and the results' data_hash. */
export function dataHash(dataDir: string): string {
  const file = path.join(dataDir, MANIFEST_FILE);
  return sha256File(file).slice(0, 16);
}

const ARRAYS = ['imageGlobal', 'regions', 'backboneGlobal', 'textGlobal', 'words', 'wordMask', 'clsAttention'] as const;

export interface EncodeOptions {
  dataDir: string;
  split: Split;
  batchSize?: number;
  /** Image decoding threads (0 = inline). */
  workers?: number;
  log?: (m: string) => void;
  /** Ignore an existing cache file. */
  refresh?: boolean;
  /** Read and write the feature cache (default true; features of a model still training are never worth keeping). */
  cache?: boolean;
}

export async function encodeSplit(run: LoadedRun, studiesAll: readonly LoadedStudy[], opts: EncodeOptions): Promise<EncodedSplit> {
  const cfg = run.config;
  const studies = studiesAll.filter((s) => s.split === opts.split);
  if (studies.length === 0) throw new DataError(`${opts.dataDir}: no studies in split '${opts.split}'`, opts.dataDir, 'split');
  const T = cfg.model.text.maxLength;
  const N = cfg.model.maxWords;
  const D = cfg.model.projDim;
  const size = cfg.model.image.imageSize;
  const grid = run.model.grid;
  const M = grid[0] * grid[1];
  const G = run.model.image.globalDim;
  const useCache = opts.cache ?? true;
  const cacheFile = useCache ? path.join(run.runDir, 'eval', 'cache', `${dataHash(opts.dataDir)}-${opts.split}.safetensors`) : '';
  const prepared = prepareStudies(studies, run.tokenizer, T);
  const kb = run.method.needsEntities ? defaultKnowledgeBase() : undefined;
  if (kb) linkStudyWords(prepared, kb);
  // The key names the knowledge base the split was linked with, so features of a linked and an
  // unlinked evaluation (or of two knowledge-base versions) are never mixed up.
  const ckptKey = `${path.basename(run.checkpointFile)}@${run.step}${kb ? `+kb@${kb.version}` : ''}`;
  const spansOf = (i: number): [number, number][] => {
    const spans: [number, number][] = [];
    for (const w of prepared[i].enc.words.slice(0, N)) spans.push([w.start, w.end]);
    return spans;
  };

  if (useCache && !opts.refresh && fs.existsSync(cacheFile)) {
    const hit = readCache(cacheFile, ckptKey, studies);
    if (hit) {
      const idx = hit.ids.map((id) => studies.findIndex((s) => s.id === id));
      return {
        split: opts.split, studies: idx.map((i) => studies[i]), n: idx.length, M, N, D, G, grid, imageSize: size,
        ...hit.arrays, wordSpans: idx.map(spansOf), ...slotEntities(prepared, idx, N), failed: hit.failed, cached: true, cacheFile,
      };
    }
  }

  const B = opts.batchSize ?? 32;
  const loader = new ImageLoader({ workers: opts.workers ?? 0, size });
  const acc: Record<(typeof ARRAYS)[number], Float32Array[]> = {
    imageGlobal: [], regions: [], backboneGlobal: [], textGlobal: [], words: [], wordMask: [], clsAttention: [],
  };
  const kept: number[] = [];
  const failed: { id: string; reason: string }[] = [];
  try {
    for (let start = 0; start < prepared.length; start += B) {
      const idx = Array.from({ length: Math.min(B, prepared.length - start) }, (_, k) => start + k);
      const hb = await loadHostBatch(loader, prepared, idx, { seed: cfg.train.seed, epoch: 0, augment: false, maxLength: T, maxWords: N, imageSize: size });
      for (const f of hb.failed) failed.push({ id: f.study.id, reason: f.reason });
      if (hb.indices.length === 0) continue;
      const batch = toModelBatch(hb, size, T);
      const out = tf.tidy(() => {
        const backbone = run.model.image.forward(batch.pixels, false);
        const img = run.model.encodeImage(batch.pixels, false);
        const txt = run.model.encodeText(batch, false);
        return [img.imageGlobal, img.regions, backbone.global, txt.textGlobal, txt.words, txt.wordMask, txt.clsAttention] as tf.Tensor[];
      });
      disposeModelBatch(batch);
      // Every output of the batch in one device round trip.
      const vals = await readAllAndDispose(out);
      vals.forEach((v, k) => acc[ARRAYS[k]].push(v));
      kept.push(...hb.indices);
    }
  } finally {
    await loader.close();
  }
  if (kept.length === 0) throw new DataError(`${opts.dataDir}: no image of split '${opts.split}' could be decoded`, opts.dataDir);
  const arrays = Object.fromEntries(ARRAYS.map((k) => [k, concat(acc[k])])) as Record<(typeof ARRAYS)[number], Float32Array>;
  const shapes: Record<(typeof ARRAYS)[number], number[]> = {
    imageGlobal: [kept.length, D], regions: [kept.length, M, D], backboneGlobal: [kept.length, G], textGlobal: [kept.length, D],
    words: [kept.length, N, D], wordMask: [kept.length, N], clsAttention: [kept.length, N],
  };
  const tensors: Record<string, NamedTensor> = {};
  for (const k of ARRAYS) tensors[k] = { shape: shapes[k], data: arrays[k] };
  if (useCache) {
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    writeFileAtomic(cacheFile, encodeSafetensors(tensors, {
      checkpoint: ckptKey, ids: JSON.stringify(kept.map((i) => studies[i].id)), failed: JSON.stringify(failed),
    }));
  }
  return {
    split: opts.split, studies: kept.map((i) => studies[i]), n: kept.length, M, N, D, G, grid, imageSize: size,
    ...arrays, wordSpans: kept.map(spansOf), ...slotEntities(prepared, kept, N), failed, cached: false, cacheFile,
  };
}

/** The linked studies' entities per word slot [rows * N] (nothing when the studies were not linked). */
function slotEntities(prepared: readonly PreparedStudy[], rows: readonly number[], N: number): Pick<EncodedSplit, 'entityIds' | 'entityNegated'> {
  if (!rows.some((i) => prepared[i].entities)) return {};
  const ids = new Int32Array(rows.length * N).fill(-1);
  const negated = new Uint8Array(rows.length * N);
  rows.forEach((i, r) => {
    const e = prepared[i].entities;
    if (!e) return;
    const n = Math.min(N, e.ids.length);
    ids.set(e.ids.subarray(0, n), r * N);
    negated.set(e.negated.subarray(0, n), r * N);
  });
  return { entityIds: ids, entityNegated: negated };
}

function readCache(file: string, ckptKey: string, studies: readonly LoadedStudy[]):
  { ids: string[]; failed: { id: string; reason: string }[]; arrays: Record<(typeof ARRAYS)[number], Float32Array> } | undefined {
  try {
    const { tensors, metadata } = readSafetensorsFile(file);
    if (metadata.checkpoint !== ckptKey) return undefined;
    const ids = JSON.parse(metadata.ids ?? '[]') as string[];
    const known = new Set(studies.map((s) => s.id));
    if (ids.length === 0 || !ids.every((id) => known.has(id))) return undefined;
    if (!ARRAYS.every((k) => tensors[k] && tensors[k].shape[0] === ids.length)) return undefined;
    const arrays = Object.fromEntries(ARRAYS.map((k) => [k, tensors[k].data])) as Record<(typeof ARRAYS)[number], Float32Array>;
    return { ids, failed: JSON.parse(metadata.failed ?? '[]') as { id: string; reason: string }[], arrays };
  } catch {
    // A corrupt or foreign cache is simply recomputed.
    return undefined;
  }
}

export function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Encodes free texts (prompts) with the run's text tower, in batches (one host read per batch). */
export async function encodeTexts(run: LoadedRun, texts: readonly string[], batchSize = 64): Promise<TextFeatures> {
  const T = run.config.model.text.maxLength;
  const N = run.config.model.maxWords;
  const D = run.config.model.projDim;
  const parts: Float32Array[][] = [[], [], [], []];
  for (let s = 0; s < texts.length; s += batchSize) {
    const chunk = texts.slice(s, s + batchSize);
    const n = chunk.length;
    const ids = new Int32Array(n * T);
    const mask = new Float32Array(n * T);
    const wordIndex = new Int32Array(n * T).fill(-1);
    chunk.forEach((t, b) => {
      const enc = run.tokenizer.encode(t, { maxLength: T, padToMaxLength: true });
      for (let k = 0; k < T; k++) {
        ids[b * T + k] = enc.inputIds[k] ?? 0;
        mask[b * T + k] = enc.attentionMask[k] ?? 0;
        const w = enc.wordIds[k] ?? -1;
        wordIndex[b * T + k] = w >= 0 && w < N ? w : -1;
      }
    });
    const out = tf.tidy(() => {
      const txt = run.model.encodeText({ inputIds: tf.tensor2d(ids, [n, T], 'int32'), attentionMask: tf.tensor2d(mask, [n, T]), wordIndex }, false);
      return [txt.words, txt.wordMask, txt.textGlobal, txt.clsAttention] as tf.Tensor[];
    });
    const vals = await readAllAndDispose(out);
    vals.forEach((v, k) => parts[k].push(v));
  }
  return { n: texts.length, N, D, words: concat(parts[0]), wordMask: concat(parts[1]), textGlobal: concat(parts[2]), clsAttention: concat(parts[3]) };
}

/** The image side of AlignInputs for the given rows of a split (caller disposes). */
function imageSide(f: EncodedSplit, rows: readonly number[]): Pick<AlignInputs, 'regions' | 'imageGlobal'> {
  const { M, D } = f;
  const reg = new Float32Array(rows.length * M * D);
  const glob = new Float32Array(rows.length * D);
  rows.forEach((r, k) => {
    reg.set(f.regions.subarray(r * M * D, (r + 1) * M * D), k * M * D);
    glob.set(f.imageGlobal.subarray(r * D, (r + 1) * D), k * D);
  });
  return { regions: tf.tensor3d(reg, [rows.length, M, D]), imageGlobal: tf.tensor2d(glob, [rows.length, D]) };
}

/** The text side of AlignInputs for the given rows of a split or of encoded prompts (caller disposes). */
function textSide(t: TextFeatures, rows: readonly number[]): Pick<AlignInputs, 'words' | 'wordMask' | 'textGlobal' | 'clsAttention'> {
  const { N, D } = t;
  const w = new Float32Array(rows.length * N * D);
  const m = new Float32Array(rows.length * N);
  const c = new Float32Array(rows.length * N);
  const g = new Float32Array(rows.length * D);
  rows.forEach((r, k) => {
    w.set(t.words.subarray(r * N * D, (r + 1) * N * D), k * N * D);
    m.set(t.wordMask.subarray(r * N, (r + 1) * N), k * N);
    c.set(t.clsAttention.subarray(r * N, (r + 1) * N), k * N);
    g.set(t.textGlobal.subarray(r * D, (r + 1) * D), k * D);
  });
  return {
    words: tf.tensor3d(w, [rows.length, N, D]), wordMask: tf.tensor2d(m, [rows.length, N]),
    textGlobal: tf.tensor2d(g, [rows.length, D]), clsAttention: tf.tensor2d(c, [rows.length, N]),
  };
}

/** The entity side of AlignInputs for the given rows (empty when the split was not linked). */
function entitySide(f: EncodedSplit, rows: readonly number[]): Pick<AlignInputs, 'entityIds' | 'entityNegated'> {
  const { entityIds, entityNegated } = f;
  if (!entityIds || !entityNegated) return {};
  const N = f.N;
  const ids = new Int32Array(rows.length * N);
  const neg = new Uint8Array(rows.length * N);
  rows.forEach((r, k) => {
    ids.set(entityIds.subarray(r * N, (r + 1) * N), k * N);
    neg.set(entityNegated.subarray(r * N, (r + 1) * N), k * N);
  });
  return { entityIds: ids, entityNegated: neg };
}

export function splitTexts(f: EncodedSplit): TextFeatures {
  return { n: f.n, N: f.N, D: f.D, words: f.words, wordMask: f.wordMask, textGlobal: f.textGlobal, clsAttention: f.clsAttention };
}

export type ScoreKind = 'global' | 'local' | 'both';

/**
 * Image x text similarity [nImages][nTexts], computed in blocks so that local scores
 * (O(images x texts x N x M)) stay within memory. 'both' = (global + local) / 2; a method
 * without a local score falls back to global.
 */
export async function similarityMatrix(
  run: LoadedRun, images: EncodedSplit, imageRows: readonly number[], texts: TextFeatures, textRows: readonly number[],
  score: ScoreKind, block = 64,
): Promise<Float32Array[]> {
  const out = imageRows.map(() => new Float32Array(textRows.length));
  // Global cosine needs no method call (which would also pay for the local score).
  if (score === 'global') block = Math.max(block, 512);
  for (let i0 = 0; i0 < imageRows.length; i0 += block) {
    const ir = imageRows.slice(i0, i0 + block);
    for (let j0 = 0; j0 < textRows.length; j0 += block) {
      const jr = textRows.slice(j0, j0 + block);
      const m = score === 'global' ? globalCosine(images, ir, texts, jr) : tf.tidy(() => {
        const inputs = { ...imageSide(images, ir), ...textSide(texts, jr) } as AlignInputs;
        const sim = run.method.similarity(inputs);
        if (!sim.local) return sim.global;
        return score === 'local' ? sim.local : tf.div(tf.add(sim.global, sim.local), 2) as tf.Tensor2D;
      });
      let vals: Float32Array;
      try {
        vals = await readOne(m);
      } finally {
        m.dispose();
      }
      ir.forEach((_, a) => { for (let b = 0; b < jr.length; b++) out[i0 + a][j0 + b] = vals[a * jr.length + b]; });
    }
  }
  return out;
}

/** Cosine of the global embeddings [ir, jr] on the device (caller disposes). */
function globalCosine(images: EncodedSplit, ir: readonly number[], texts: TextFeatures, jr: readonly number[]): tf.Tensor2D {
  return tf.tidy(() => {
    const { D } = images;
    const a = new Float32Array(ir.length * D), b = new Float32Array(jr.length * D);
    ir.forEach((r, k) => a.set(images.imageGlobal.subarray(r * D, (r + 1) * D), k * D));
    jr.forEach((r, k) => b.set(texts.textGlobal.subarray(r * D, (r + 1) * D), k * D));
    const norm = (x: tf.Tensor2D): tf.Tensor2D => tf.div(x, tf.add(tf.norm(x, 2, 1, true), 1e-8)) as tf.Tensor2D;
    return tf.matMul(norm(tf.tensor2d(a, [ir.length, D])), norm(tf.tensor2d(b, [jr.length, D])), false, true);
  });
}

export interface PairExplanation {
  /** [N*M] word -> region attention. */
  attention: Float32Array;
  /** [N*N] word -> word relation. */
  relation: Float32Array;
  /** [N] importance. */
  importance: Float32Array;
  localScore: number;
}

/** method.explain over matched pairs (image i with its own report), in blocks (one host read per block). */
export async function explainPairs(run: LoadedRun, f: EncodedSplit, rows: readonly number[], block = 32): Promise<PairExplanation[]> {
  const { N, M } = f;
  const out: PairExplanation[] = [];
  const texts = splitTexts(f);
  for (let s = 0; s < rows.length; s += block) {
    const r = rows.slice(s, s + block);
    const ts = tf.tidy(() => {
      const e = run.method.explain({ ...imageSide(f, r), ...textSide(texts, r), ...entitySide(f, r) } as AlignInputs);
      return [e.attention, e.relation, e.importance, e.localScore] as tf.Tensor[];
    });
    const vals = await readAllAndDispose(ts);
    const [a, rel, imp, ls] = vals;
    r.forEach((_, k) => out.push({
      attention: a.slice(k * N * M, (k + 1) * N * M), relation: rel.slice(k * N * N, (k + 1) * N * N),
      importance: imp.slice(k * N, (k + 1) * N), localScore: ls[k],
    }));
  }
  return out;
}
