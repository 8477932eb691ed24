// Turns dataset studies into training batches: seeded epoch order, tokenised reports with the
// piece->word map, and decoded images (off-thread). Everything is a function of
// (seed, epoch, position) so a resumed run sees exactly the batches an uninterrupted run would.
import * as tf from '@tensorflow/tfjs-core';
import { mixSeed, Rng } from '../rng';
import type { LoadedStudy } from '../data/manifest-types';
import type { ImageLoader } from '../data/image-loader';
import type { Encoding, WordPieceTokenizer } from '../text';
import type { ModelBatch } from '../models/dual-encoder';
import type { TextVariantPlan } from '../align/types';
import type { KnowledgeBase } from '../knowledge/kb';
import { linkEntities } from '../knowledge/linker';

export interface PreparedStudy {
  study: LoadedStudy;
  enc: Encoding;
  /** Knowledge-base entity of each word of enc.words (-1: none), set by linkStudyWords for methods that need it. */
  entities?: { ids: Int32Array; negated: Uint8Array };
}

export interface HostBatch {
  /** Indices (into the prepared list) of the studies that decoded. */
  indices: number[];
  pixels: Float32Array;
  inputIds: Int32Array;
  attentionMask: Float32Array;
  wordIndex: Int32Array;
  /** Entity row of each word slot [n * maxWords] (-1: none); only when the studies were linked. */
  entityIds?: Int32Array;
  entityNegated?: Uint8Array;
  /** Studies whose image failed to decode, with the reason. */
  failed: { study: LoadedStudy; reason: string }[];
}

export function prepareStudies(studies: LoadedStudy[], tokenizer: WordPieceTokenizer, maxLength: number): PreparedStudy[] {
  return studies.map((study) => ({ study, enc: tokenizer.encode(study.report, { maxLength, padToMaxLength: true }) }));
}

/**
 * Links each report to the knowledge base once (MLIP's token-knowledge-patch, category and
 * text-swap terms): a word takes the entity of the mention its characters fall in.
 */
export function linkStudyWords(prepared: PreparedStudy[], kb: KnowledgeBase): void {
  for (const p of prepared) p.entities = linkReportWords(p.study.report, p.enc.words, kb);
}

/** The entity row of each word (-1: none) of one report, by character overlap with the linker's mentions. */
export function linkReportWords(report: string, words: readonly { start: number; end: number }[], kb: KnowledgeBase): { ids: Int32Array; negated: Uint8Array } {
  const ids = new Int32Array(words.length).fill(-1);
  const negated = new Uint8Array(words.length);
  for (const m of linkEntities(report, kb)) {
    const row = kb.indexOf(m.entityId);
    words.forEach((w, i) => {
      if (w.start < m.end && w.end > m.start) {
        ids[i] = row;
        negated[i] = m.negated ? 1 : 0;
      }
    });
  }
  return { ids, negated };
}

/** Seeded permutation of [0, n) for an epoch. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  return new Rng(mixSeed(seed, 0x5eed, epoch)).shuffle(order);
}

export function stepsPerEpoch(n: number, batchSize: number): number {
  return Math.floor(n / batchSize);
}

export async function loadHostBatch(
  loader: ImageLoader,
  prepared: PreparedStudy[],
  indices: number[],
  opts: { seed: number; epoch: number; augment: boolean; maxLength: number; maxWords: number; imageSize: number },
): Promise<HostBatch> {
  const jobs = indices.map((i) => ({
    path: prepared[i].study.imagePath,
    seed: mixSeed(opts.seed, 0xa06, opts.epoch, i),
    augment: opts.augment,
  }));
  const loaded = await loader.load(jobs);
  const px = opts.imageSize * opts.imageSize;
  const keep: number[] = [];
  const failed: HostBatch['failed'] = [];
  indices.forEach((idx, j) => {
    if (loaded.ok[j]) keep.push(j);
    else failed.push({ study: prepared[idx].study, reason: loaded.errors[j] ?? 'image could not be decoded' });
  });
  const T = opts.maxLength;
  const n = keep.length;
  const pixels = new Float32Array(n * px);
  const inputIds = new Int32Array(n * T);
  const attentionMask = new Float32Array(n * T);
  const wordIndex = new Int32Array(n * T).fill(-1);
  keep.forEach((j, b) => {
    pixels.set(loaded.data.subarray(j * px, (j + 1) * px), b * px);
    const enc = prepared[indices[j]].enc;
    for (let t = 0; t < T; t++) {
      inputIds[b * T + t] = enc.inputIds[t] ?? 0;
      attentionMask[b * T + t] = enc.attentionMask[t] ?? 0;
      const w = enc.wordIds[t] ?? -1;
      wordIndex[b * T + t] = w >= 0 && w < opts.maxWords ? w : -1;
    }
  });
  const linked = keep.some((j) => prepared[indices[j]].entities);
  const entityIds = linked ? new Int32Array(n * opts.maxWords).fill(-1) : undefined;
  const entityNegated = linked ? new Uint8Array(n * opts.maxWords) : undefined;
  keep.forEach((j, b) => {
    const e = prepared[indices[j]].entities;
    if (!e || !entityIds || !entityNegated) return;
    for (let w = 0; w < Math.min(opts.maxWords, e.ids.length); w++) {
      entityIds[b * opts.maxWords + w] = e.ids[w];
      entityNegated[b * opts.maxWords + w] = e.negated[w];
    }
  });
  return { indices: keep.map((j) => indices[j]), pixels, inputIds, attentionMask, wordIndex, entityIds, entityNegated, failed };
}

/** Re-tokenised reports of a batch: what the text encoder reads for AlignInputs.textVariants. */
export interface HostTextVariants {
  inputIds: Int32Array;
  attentionMask: Float32Array;
  wordIndex: Int32Array;
  plan: TextVariantPlan;
}

/**
 * The plan's reports with each word slot's pieces replaced by its source slot's pieces, every
 * other piece ([CLS], [SEP], words past maxWords) kept in place, so that a word keeps its
 * position in the report. A report whose variant would exceed maxLength pieces is left out.
 */
export function textVariantPieces(hb: Pick<HostBatch, 'inputIds' | 'attentionMask' | 'wordIndex'>, plan: TextVariantPlan, maxLength: number, maxWords: number): HostTextVariants {
  const T = maxLength;
  // Each source report's pieces per word slot, gathered in one pass over its pieces.
  const slotPieces = new Map<number, number[][]>();
  const piecesOf = (slot: number): number[] => {
    const r = Math.floor(slot / maxWords);
    let words = slotPieces.get(r);
    if (!words) {
      words = Array.from({ length: maxWords }, () => []);
      for (let t = 0; t < T; t++) {
        const w = hb.wordIndex[r * T + t];
        if (w >= 0 && w < maxWords) words[w].push(hb.inputIds[r * T + t]);
      }
      slotPieces.set(r, words);
    }
    return words[slot % maxWords];
  };
  const rows: { ids: number[]; words: number[] }[] = [];
  const reports: number[] = [];
  for (const r of plan.reports) {
    const ids: number[] = [];
    const words: number[] = [];
    let prev = -2;
    for (let t = 0; t < T && hb.attentionMask[r * T + t] > 0; t++) {
      const w = hb.wordIndex[r * T + t];
      // Specials and words past maxWords have no slot: each of their pieces stays as it is.
      if (w < 0 || w >= maxWords) { ids.push(hb.inputIds[r * T + t]); words.push(w); prev = w; continue; }
      if (w === prev) continue; // the word's pieces were emitted at its first piece
      prev = w;
      for (const id of piecesOf(plan.source[r * maxWords + w])) { ids.push(id); words.push(w); }
    }
    if (ids.length > T) continue;
    rows.push({ ids, words });
    reports.push(r);
  }
  const s = rows.length;
  const inputIds = new Int32Array(s * T);
  const attentionMask = new Float32Array(s * T);
  const wordIndex = new Int32Array(s * T).fill(-1);
  rows.forEach(({ ids, words }, k) => {
    ids.forEach((id, t) => {
      inputIds[k * T + t] = id;
      attentionMask[k * T + t] = 1;
      wordIndex[k * T + t] = words[t];
    });
  });
  return { inputIds, attentionMask, wordIndex, plan: { source: plan.source, reports } };
}

/** Uploads a host batch (and the text variants a method planned for it) as tensors (caller disposes them). */
export function toModelBatch(hb: HostBatch, imageSize: number, maxLength: number, variants?: HostTextVariants): ModelBatch {
  const n = hb.indices.length;
  const s = variants?.plan.reports.length ?? 0;
  return {
    ...(variants && s > 0 ? {
      textVariants: {
        inputIds: tf.tensor2d(variants.inputIds, [s, maxLength], 'int32'),
        attentionMask: tf.tensor2d(variants.attentionMask, [s, maxLength], 'float32'),
        wordIndex: variants.wordIndex,
        plan: variants.plan,
      },
    } : {}),
    pixels: tf.tensor4d(hb.pixels, [n, imageSize, imageSize, 1]),
    inputIds: tf.tensor2d(hb.inputIds, [n, maxLength], 'int32'),
    attentionMask: tf.tensor2d(hb.attentionMask, [n, maxLength], 'float32'),
    wordIndex: hb.wordIndex,
    ...(hb.entityIds ? { entityIds: hb.entityIds, entityNegated: hb.entityNegated } : {}),
  };
}

export function disposeModelBatch(b: ModelBatch): void {
  b.pixels.dispose();
  b.inputIds.dispose();
  b.attentionMask.dispose();
  b.textVariants?.inputIds.dispose();
  b.textVariants?.attentionMask.dispose();
}
