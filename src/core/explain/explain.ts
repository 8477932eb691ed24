// Explanation of one image + report with an ONNX model that follows the contract: decode and
// preprocess the image exactly as in training, tokenise the report into words with character
// offsets, run the session, and crop every tensor to the report's real words.
import { checkDistribution, readDistribution, type ImageDistribution } from './image-distribution';
import fs from 'node:fs';
import path from 'node:path';
import { DataError } from '../errors';
import { decodeImageFile, encodePng, normalize, resizeAndPad, type GreyImage, type ImageLimits } from '../data/image-io';
import { DEFAULT_MAX_REPORT_BYTES, MAX_VOCAB_BYTES, formatBytes, realDir, realFileUnder } from '../data/input-guard';
import { reportTextProblem } from '../data/report-text';
import { WordPieceTokenizer, parseVocabText } from '../text';
import { ContractSession, METADATA_MAXIMA, type ContractOutputs } from '../runtime/onnx-session';
import { VOCAB_METADATA_KEY, vocabPathFor } from '../export/export-model';
import type { ExplainModelInfo, ExplanationPayload } from '../../protocol/explain';
import { defaultKnowledgeBase, type KnowledgeBase } from '../knowledge/kb';
import { linkReportWords } from '../train/batches';

export interface ExplainModelMeta {
  imageSize: number;
  grid: [number, number];
  mean: number;
  std: number;
  maxWords: number;
  maxLength: number;
  method: string;
  vocabHash?: string;
  distribution?: ImageDistribution;
}

export interface ExplainModel {
  session: ContractSession;
  tokenizer: WordPieceTokenizer;
  meta: ExplainModelMeta;
  info: ExplainModelInfo;
}

function parseJson(meta: Record<string, string>, key: string, file: string): unknown {
  const raw = meta[key];
  if (raw === undefined) throw new DataError(`${file}: ONNX metadata has no '${key}' (export the model with \`reclf export\`)`, file, key);
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function positiveInt(v: unknown, key: keyof typeof METADATA_MAXIMA, file: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new DataError(`${file}: ONNX metadata '${key}' must be a positive integer, got ${JSON.stringify(v)}`, file, key);
  const { max, field } = METADATA_MAXIMA[key];
  if (v > max) throw new DataError(`${file}: ONNX metadata '${key}' is ${v}, more than ${max} (the largest ${field} the config schema allows)`, file, key);
  return v;
}

function optional<K extends string, V>(key: K, v: V | undefined): Partial<Record<K, V>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, V>);
}

/** Reads the preprocessing contract from the model's metadata_props. */
export function readExplainMeta(meta: Record<string, string>, file: string): ExplainModelMeta {
  const grid = parseJson(meta, 'grid', file);
  if (!Array.isArray(grid) || grid.length !== 2 || !grid.every((g) => Number.isInteger(g) && g > 0)) {
    throw new DataError(`${file}: ONNX metadata 'grid' must be [rows, cols], got ${meta.grid}`, file, 'grid');
  }
  const norm = parseJson(meta, 'normalisation', file) as { mean?: unknown; std?: unknown };
  if (typeof norm?.mean !== 'number' || typeof norm?.std !== 'number' || !(norm.std > 0)) {
    throw new DataError(`${file}: ONNX metadata 'normalisation' must be {"mean": m, "std": s > 0}, got ${meta.normalisation}`, file, 'normalisation');
  }
  return {
    imageSize: positiveInt(parseJson(meta, 'image_size', file), 'image_size', file),
    grid: [grid[0], grid[1]],
    mean: norm.mean,
    std: norm.std,
    maxWords: positiveInt(parseJson(meta, 'max_words', file), 'max_words', file),
    maxLength: positiveInt(parseJson(meta, 'max_length', file), 'max_length', file),
    method: String(meta.method ?? 'unknown'),
    vocabHash: meta.vocab_hash,
    ...optional('distribution', readDistribution(meta, file)),
  };
}

/**
 * The tokenizer stored in the model (inline vocab), else `<model>.vocab.txt` next to it: a regular
 * file whose real path stays in the model's folder. Every error names the model file.
 */
export function tokenizerFor(file: string, meta: Record<string, string>): WordPieceTokenizer {
  const opts = parseJson(meta, 'tokenizer', file) as { lower_case?: unknown; strip_accents?: unknown };
  const lowerCase = typeof opts?.lower_case === 'boolean' ? opts.lower_case : true;
  const stripAccents = typeof opts?.strip_accents === 'boolean' ? opts.strip_accents : undefined;
  let tokens: string[];
  let source: string;
  const inline = meta[VOCAB_METADATA_KEY];
  if (inline) {
    source = `${file} (metadata '${VOCAB_METADATA_KEY}')`;
    if (inline.trim() === '') throw new DataError(`${file}: ONNX metadata '${VOCAB_METADATA_KEY}' (the inline vocabulary) is empty`, file, VOCAB_METADATA_KEY);
    tokens = parseVocabText(inline, source);
  } else {
    const vocabFile = vocabPathFor(file);
    const name = path.basename(vocabFile);
    const dir = path.dirname(path.resolve(file));
    const found = realFileUnder(vocabFile, { roots: [realDir(dir) ?? dir], rootName: "the model's folder", maxBytes: MAX_VOCAB_BYTES, shown: name });
    if (!found.ok) {
      const missing = found.reason.startsWith('file not found');
      throw new DataError(missing ? `${file}: no vocabulary inline and no ${name} next to the model` : `${file}: vocabulary ${found.reason}`, file, 'vocab');
    }
    source = vocabFile;
    tokens = parseVocabText(fs.readFileSync(found.real, 'utf8'), vocabFile);
  }
  const tok = WordPieceTokenizer.fromTokens(tokens, { lowerCase, stripAccents }, source);
  if (meta.vocab_hash && meta.vocab_hash !== tok.vocabHash) {
    throw new DataError(`${file}: the vocabulary's sha256 ${tok.vocabHash.slice(0, 12)}... does not match the model's vocab_hash ${meta.vocab_hash.slice(0, 12)}...`, file, 'vocab_hash');
  }
  return tok;
}

export async function loadExplainModel(file: string, info: Partial<ExplainModelInfo> = {}, device: 'auto' | 'cpu' | 'cuda' = 'auto'): Promise<ExplainModel> {
  const session = await ContractSession.open(file, { device });
  try {
    const meta = readExplainMeta(session.metadata, file);
    const tokenizer = tokenizerFor(file, session.metadata);
    return {
      session, tokenizer, meta,
      info: { name: info.name ?? path.basename(file), method: meta.method, source: info.source ?? 'onnx', path: info.path ?? file },
    };
  } catch (e) {
    await session.close();
    throw e;
  }
}

export interface ExplainRequest {
  imagePath: string;
  report: string;
  reportPath?: string;
  /**
   * For models with an `entity_ids` input (MLIP): link the report's words to the knowledge base
   * (default true). False feeds no links, i.e. the method's explanation for unlinked words.
   */
  linkEntities?: boolean;
}

/**
 * The knowledge base whose entity rows the model's entity_ids index: the bundled one, when its
 * major version matches the model's metadata 'knowledge_base' (rows are stable within a major).
 */
export function knowledgeBaseFor(metadata: Record<string, string>, file: string): KnowledgeBase {
  const kb = defaultKnowledgeBase();
  const want = metadata.knowledge_base;
  const major = (v: string): string => v.split('.')[0];
  if (want !== undefined && major(want) !== major(kb.version)) {
    throw new DataError(`${file}: the model was exported with knowledge base ${want}, this engine ships ${kb.version} (entity rows differ across major versions)`, file, 'knowledge_base');
  }
  return kb;
}

/** entity_ids of one report [maxWords] (-1: not linked) for the tokenizer's words. */
export function reportEntityIds(report: string, words: readonly { start: number; end: number }[], maxWords: number, kb: KnowledgeBase): Int32Array {
  const linked = linkReportWords(report, words.slice(0, maxWords), kb).ids;
  const ids = new Int32Array(maxWords).fill(-1);
  ids.set(linked);
  return ids;
}

function cosine(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = 0; k < d; k++) {
    ab += a[ao + k] * b[bo + k];
    aa += a[ao + k] * a[ao + k];
    bb += b[bo + k] * b[bo + k];
  }
  return ab / Math.sqrt(Math.max(aa * bb, 1e-16));
}

/**
 * The outputs' run-time shapes against each other (batch 1): a graph that declares symbolic sizes
 * can still return wrong ones, and reading past the end of a short output gives NaN in every row.
 */
function checkOutputShapes(out: ContractOutputs, file: string): void {
  const [, n, m] = out.attention.dims;
  const d = out.word_features.dims[2];
  const de = out.image_embedding.dims[1];
  const want: Record<keyof ContractOutputs, number[]> = {
    attention: [1, n, m], relation: [1, n, n], importance: [1, n], word_features: [1, n, d], region_features: [1, m, d],
    image_embedding: [1, de], text_embedding: [1, de], local_score: [1],
  };
  for (const [name, dims] of Object.entries(want)) {
    const t = out[name];
    if (t.dims.length !== dims.length || t.dims.some((g, i) => g !== dims[i]) || t.data.length !== dims.reduce((a, b) => a * b, 1)) {
      throw new DataError(`${file}: output '${name}' has shape [${t.dims.join(', ')}], expected [${dims.join(', ')}]`, file, name);
    }
  }
}

/** Explains a decoded image (values in [0,1]) against a report. */
export async function explainImage(model: ExplainModel, image: GreyImage, req: Omit<ExplainRequest, 'imagePath'> & { sourcePath?: string }): Promise<ExplanationPayload> {
  const { meta, tokenizer } = model;
  // The rules info and train apply to manifest reports (size, empty, no words, binary).
  const bytes = Buffer.byteLength(req.report, 'utf8');
  if (bytes > DEFAULT_MAX_REPORT_BYTES) {
    throw new DataError(`${req.reportPath ?? 'report'}: the report is ${formatBytes(bytes)}, more than the ${formatBytes(DEFAULT_MAX_REPORT_BYTES)} limit`, req.reportPath, 'report');
  }
  const problem = reportTextProblem(req.report);
  if (problem) throw new DataError(`${req.reportPath ?? 'report'}: the report ${problem}`, req.reportPath, 'report');
  const size = meta.imageSize;
  const seen = resizeAndPad(image, size);
  const pixels = normalize(seen, { mean: meta.mean, std: meta.std }).data;
  const T = meta.maxLength;
  const enc = tokenizer.encode(req.report, { maxLength: T, padToMaxLength: true });
  const slots = model.session.entityWords;
  const entityIds = slots !== undefined && req.linkEntities !== false
    ? reportEntityIds(req.report, enc.words, slots, knowledgeBaseFor(model.session.metadata, model.info.path ?? model.info.name))
    : undefined;
  const out = await model.session.run({
    batch: 1, pixels, imageSize: size, seqLen: T,
    inputIds: enc.inputIds, attentionMask: enc.attentionMask, wordIds: enc.wordIds, ...(entityIds ? { entityIds } : {}),
  });
  const [, nOut, m] = out.attention.dims;
  const n = Math.min(enc.words.length, meta.maxWords, nOut);
  if (n === 0) throw new DataError(`${req.reportPath ?? 'report'}: the report has no words the tokenizer keeps`, req.reportPath);
  const gridM = meta.grid[0] * meta.grid[1];
  if (m !== gridM) throw new DataError(`${model.info.path ?? model.info.name}: attention has ${m} regions but metadata grid is ${meta.grid.join('x')}`, model.info.path, 'grid');
  checkOutputShapes(out, model.info.path ?? model.info.name);
  const d = out.word_features.dims[2];
  const attention = new Float32Array(n * m);
  const relation = new Float32Array(n * n);
  const importance = new Float32Array(n);
  const wordScore = new Float32Array(n);
  const context = new Float32Array(d);
  for (let i = 0; i < n; i++) {
    attention.set(out.attention.data.subarray(i * m, (i + 1) * m), i * m);
    relation.set(out.relation.data.subarray(i * nOut, i * nOut + n), i * n);
    importance[i] = out.importance.data[i];
    // wordScore = cos(word_i, sum_j a_ij region_j): the word's match with what it attends to.
    context.fill(0);
    for (let j = 0; j < m; j++) {
      const a = out.attention.data[i * m + j];
      for (let k = 0; k < d; k++) context[k] += a * out.region_features.data[j * d + k];
    }
    wordScore[i] = cosine(out.word_features.data, i * d, context, 0, d);
  }
  const de = out.image_embedding.dims[1];
  const png = await encodePng(seen);
  return {
    model: model.info,
    image: { png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), width: size, height: size, ...(req.sourcePath ? { sourcePath: req.sourcePath } : {}) },
    grid: meta.grid,
    report: req.report,
    ...(req.reportPath ? { reportPath: req.reportPath } : {}),
    words: enc.words.slice(0, n).map((w) => ({ text: w.text, start: w.start, end: w.end })),
    attention,
    relation,
    importance,
    wordScore,
    scores: { global: cosine(out.image_embedding.data, 0, out.text_embedding.data, 0, de), local: out.local_score.data[0] },
    ...(meta.distribution ? { distribution: checkDistribution(meta.distribution, image) } : {}),
  };
}

/**
 * Decodes the image file (a regular file within `limits`: default 512 MiB and 20 MP, checked
 * before decoding) and explains it against the report.
 */
export async function explain(model: ExplainModel, req: ExplainRequest, limits: Partial<ImageLimits> = {}): Promise<ExplanationPayload> {
  const image = await decodeImageFile(req.imagePath, limits);
  return explainImage(model, image, { report: req.report, reportPath: req.reportPath, sourcePath: req.imagePath, linkEntities: req.linkEntities });
}
