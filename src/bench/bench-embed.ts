// `reclf bench embed`: image- and text-encoder throughput of a contract ONNX model in ONNX Runtime
// next to the SAME architecture and weights in PyTorch (scripts/bench/torch_embed.py, built from
// torch_train.py's modules). The whole-model graph is pruned to each encoder's outputs, so ORT
// times exactly the work the PyTorch peer does; the peer first reproduces ORT's outputs on the
// same batch (max |diff| <= tolerance) and only then is timed, so the ratio compares equals.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataError } from '../core/errors';
import { readOnnxModelFile } from '../core/runtime/onnx-session';
import { encodeSafetensors, type NamedTensor } from '../core/io/safetensors';
import { encodeModel, type ModelProto, type NodeProto, type TensorProto } from '../core/export/onnx-proto';
import { decodeModel } from '../core/export/onnx-decode';
import { readExplainMeta, tokenizerFor } from '../core/explain/explain';
import { generateStudy } from '../core/data/synth/generate';
import { REGION_POSITION_PARAM } from '../core/models/dual-encoder';
import { cnnSmallShape } from '../core/models/cnn-small';
import { benchScriptPath, TORCH_MISSING, TORCH_PYTHON, torchAvailable } from './bench-ops';

/** The model cut down to what `outputs` need: nodes, initializers and graph inputs (nodes are topologically sorted). */
export function pruneModel(model: ModelProto, outputs: readonly string[]): ModelProto {
  const g = model.graph;
  for (const o of outputs) if (!g.outputs.some((v) => v.name === o)) throw new Error(`the model has no output '${o}'`);
  const needed = new Set<string>(outputs);
  const keep: NodeProto[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    keep.push(n);
    for (const x of n.inputs) if (x) needed.add(x);
  }
  return {
    ...model,
    graph: {
      name: `${g.name}_${outputs.join('_')}`,
      nodes: keep.reverse(),
      initializers: g.initializers.filter((t) => needed.has(t.name)),
      inputs: g.inputs.filter((v) => needed.has(v.name)),
      outputs: g.outputs.filter((v) => outputs.includes(v.name)),
    },
  };
}

// ---------------------------------------------------------------- the encoders' architecture, read from the weights

export const IMAGE_OUTPUTS = ['image_embedding', 'region_features'] as const;
export const TEXT_OUTPUTS = ['text_embedding', 'word_features'] as const;

/** What torch_embed.py needs to rebuild torch_train.py's DualEncoder for these weights. */
export interface TorchEmbedConfig {
  projDim: number;
  headHidden: number;
  image: { name: 'cnn-small'; imageSize: number; widths: number[]; blocks: number[]; localStage: number; localPooling: boolean };
  text: { hidden: number; intermediate: number; layers: number; heads: number; vocabSize: number; maxLength: number; dropout: number; localLayer: number };
  regionPositions: boolean;
}

function floats(t: TensorProto): Float32Array {
  return new Float32Array(t.raw.buffer.slice(t.raw.byteOffset, t.raw.byteOffset + t.raw.byteLength));
}

/**
 * Reads cnn-small widths/blocks and BERT sizes from initializer names and shapes, and the head
 * count from the attention Reshape's [0, 0, heads, head_dim] constant (weights cannot tell it).
 */
export function torchEmbedConfig(model: ModelProto, file: string): TorchEmbedConfig {
  const init = new Map(model.graph.initializers.map((t) => [t.name, t]));
  const shape = (name: string): number[] => {
    const t = init.get(name);
    if (!t) throw new DataError(`${file}: no initializer '${name}': bench embed mirrors cnn-small + BERT models exported by \`reclf export\``, file, name);
    return t.dims;
  };
  const imageEncoder = model.metadata.image_encoder;
  if (imageEncoder !== 'cnn-small') {
    throw new DataError(`${file}: the PyTorch mirror of bench embed covers cnn-small image encoders, this model has '${imageEncoder ?? 'unknown'}'`, file, 'image_encoder');
  }
  const widths: number[] = [];
  const blocks: number[] = [];
  for (let si = 0; ; si++) {
    let count = 0;
    while (init.has(`img_encoder.model.stages.${si}.blocks.${count}.conv1.weight_oihw`)) count++;
    if (count === 0) break;
    widths.push(shape(`img_encoder.model.stages.${si}.blocks.0.conv1.weight_oihw`)[0]);
    blocks.push(count);
  }
  let layers = 0;
  while (init.has(`text_encoder.model.encoder.layer.${layers}.attention.self.query.weight`)) layers++;
  const [vocabSize, hidden] = shape('text_encoder.model.embeddings.word_embeddings.weight');
  let heads = 0;
  for (const n of model.graph.nodes) {
    const s = n.opType === 'Reshape' ? init.get(n.inputs[1]) : undefined;
    if (!s || s.dataType !== 7 || s.dims[0] !== 4) continue;
    const v = Array.from(new BigInt64Array(s.raw.buffer.slice(s.raw.byteOffset, s.raw.byteOffset + s.raw.byteLength)), Number);
    if (v[0] === 0 && v[1] === 0 && v[2] * v[3] === hidden) {
      heads = v[2];
      break;
    }
  }
  if (widths.length !== 4 || layers === 0 || heads === 0) {
    throw new DataError(`${file}: cannot read the cnn-small/BERT architecture from the graph (stages ${widths.length}, layers ${layers}, heads ${heads})`, file);
  }
  // Regions: the stage whose width the local head takes, on that stage's grid or pooled to stage 3's.
  const localIn = shape('img_encoder.local_embed.head.0.weight')[0];
  const localStage = widths.indexOf(localIn) + 1;
  if (localStage === 0 || widths.lastIndexOf(localIn) !== localStage - 1) {
    throw new DataError(`${file}: cannot tell which cnn-small stage feeds the regions (local head input ${localIn}, stage widths ${widths.join(', ')})`, file);
  }
  const { imageSize, grid } = readExplainMeta(model.metadata, file);
  const gridOf = (localPooling: boolean): number => cnnSmallShape({ name: 'cnn-small', imageSize, widths, blocks, localStage, localPooling }).grid[0];
  const localPooling = grid[0] === gridOf(true);
  if (!localPooling && grid[0] !== gridOf(false)) {
    throw new DataError(`${file}: region grid ${grid.join('x')} is neither stage ${localStage}'s nor stage 3's`, file, 'grid');
  }
  const wordLayer = model.metadata.word_layer === undefined ? layers : Number(model.metadata.word_layer);
  if (!Number.isInteger(wordLayer) || wordLayer < 0 || wordLayer > layers) {
    throw new DataError(`${file}: ONNX metadata 'word_layer' must be a layer from 0 to ${layers}, got ${model.metadata.word_layer}`, file, 'word_layer');
  }
  return {
    projDim: shape('img_encoder.global_embed.head.3.weight')[1],
    headHidden: shape('img_encoder.global_embed.head.0.weight')[1],
    image: { name: 'cnn-small', imageSize, widths, blocks, localStage, localPooling },
    text: {
      hidden, layers, heads, vocabSize,
      intermediate: shape('text_encoder.model.encoder.layer.0.intermediate.dense.weight')[1],
      maxLength: shape('text_encoder.model.embeddings.position_embeddings.weight')[0],
      dropout: 0,
      localLayer: wordLayer,
    },
    regionPositions: init.has(REGION_POSITION_PARAM),
  };
}

// ---------------------------------------------------------------- the benchmark

export interface EmbedBenchOptions {
  batch: number;
  repeats: number;
  warmup: number;
  threads: number;
  seed: number;
  torch: boolean;
  /** Max |ORT - PyTorch| allowed on every output before PyTorch is timed. */
  tolerance: number;
}

export const DEFAULT_EMBED_BENCH: EmbedBenchOptions = { batch: 32, repeats: 10, warmup: 2, threads: 2, seed: 0, torch: true, tolerance: 1e-3 };

export interface EncoderTiming {
  /** Median wall time of one batch. */
  msPerBatch: number;
  p90MsPerBatch: number;
  itemsPerS: number;
}

export interface EmbedBenchReport {
  model: string;
  batch: number;
  repeats: number;
  warmup: number;
  threads: number;
  architecture: TorchEmbedConfig;
  ort: { version: string; image: EncoderTiming; text: EncoderTiming };
  torch?: { version: string; image: EncoderTiming; text: EncoderTiming };
  /** Max |ORT - PyTorch| per output on the benchmark batch (checked before timing). */
  parity?: { tolerance: number; maxAbsDiff: Record<string, number>; ok: boolean };
  /** ORT throughput / PyTorch throughput (> 1: ORT faster). */
  ratio?: { image: number; text: number };
  /** Why PyTorch was not timed. */
  torchNote?: string;
}

export interface EmbedBatch {
  pixels: Float32Array;
  inputIds: Float32Array;
  attentionMask: Float32Array;
  wordIds: Float32Array;
}

/** Synthetic studies (images + reports) of the model's size, tokenised like explain does. */
export function embedBatch(file: string, meta: Record<string, string>, batch: number, seed: number): EmbedBatch {
  const m = readExplainMeta(meta, file);
  const tok = tokenizerFor(file, meta);
  const size = m.imageSize;
  const T = m.maxLength;
  const b: EmbedBatch = {
    pixels: new Float32Array(batch * size * size),
    inputIds: new Float32Array(batch * T),
    attentionMask: new Float32Array(batch * T),
    wordIds: new Float32Array(batch * T),
  };
  for (let i = 0; i < batch; i++) {
    const s = generateStudy(seed, i, { size });
    for (let k = 0; k < size * size; k++) b.pixels[i * size * size + k] = (s.image[k] / 255 - m.mean) / m.std;
    const enc = tok.encode(s.record.report ?? '', { maxLength: T, padToMaxLength: true });
    for (let t = 0; t < T; t++) {
      b.inputIds[i * T + t] = enc.inputIds[t];
      b.attentionMask[i * T + t] = enc.attentionMask[t];
      b.wordIds[i * T + t] = enc.wordIds[t];
    }
  }
  return b;
}

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export function timingOf(msAll: number[], batch: number): EncoderTiming {
  const s = [...msAll].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { msPerBatch: mid, p90MsPerBatch: quantile(s, 0.9), itemsPerS: (1000 * batch) / mid };
}

function int64Tensor(values: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

async function timeSession(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, opts: EmbedBenchOptions): Promise<{ ms: number[]; out: ort.InferenceSession.OnnxValueMapType }> {
  let out = await session.run(feeds);
  for (let i = 1; i < opts.warmup; i++) out = await session.run(feeds);
  const ms: number[] = [];
  for (let i = 0; i < opts.repeats; i++) {
    const t0 = performance.now();
    out = await session.run(feeds);
    ms.push(performance.now() - t0);
  }
  return { ms, out };
}

/** Locates scripts/bench/torch_embed.py from src/bench (tsx) or dist/engine (bundle). */
export function torchEmbedScriptPath(): string | undefined {
  return benchScriptPath('torch_embed.py');
}

interface TorchEmbedOutput {
  version: string;
  threads: number;
  parity: Record<string, number>;
  ok: boolean;
  image?: number[];
  text?: number[];
  error?: string;
}

/** Weights (every float initializer of both encoders), the batch and ORT's outputs, for the peer. */
function writeTorchJob(dir: string, model: ModelProto, batch: EmbedBatch, refs: Record<string, NamedTensor>, dims: { size: number; T: number; n: number }): void {
  const weights: Record<string, NamedTensor> = {};
  for (const t of model.graph.initializers) {
    if (t.dataType === 1 && (t.name.startsWith('img_encoder.') || t.name.startsWith('text_encoder.'))) weights[t.name] = { shape: t.dims, data: floats(t) };
  }
  fs.writeFileSync(path.join(dir, 'weights.safetensors'), encodeSafetensors(weights));
  const B = batch.pixels.length / (dims.size * dims.size);
  fs.writeFileSync(path.join(dir, 'inputs.safetensors'), encodeSafetensors({
    pixel_values: { shape: [B, 1, dims.size, dims.size], data: batch.pixels },
    input_ids: { shape: [B, dims.T], data: batch.inputIds },
    attention_mask: { shape: [B, dims.T], data: batch.attentionMask },
    word_ids: { shape: [B, dims.T], data: batch.wordIds },
  }));
  fs.writeFileSync(path.join(dir, 'ort_outputs.safetensors'), encodeSafetensors(refs));
}

export async function benchEmbed(file: string, opts: EmbedBenchOptions = DEFAULT_EMBED_BENCH, log: (m: string) => void = () => {}): Promise<EmbedBenchReport> {
  const bytes = readOnnxModelFile(file);
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new DataError(`${file}: not an ONNX model (${(e as Error).message})`, file);
  }
  const arch = torchEmbedConfig(model, file);
  const meta = readExplainMeta(model.metadata, file);
  const B = opts.batch;
  const size = meta.imageSize;
  const T = meta.maxLength;
  const batch = embedBatch(file, model.metadata, B, opts.seed);

  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'], intraOpNumThreads: opts.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  };
  const imageSession = await ort.InferenceSession.create(encodeModel(pruneModel(model, IMAGE_OUTPUTS)), sessionOptions);
  const textSession = await ort.InferenceSession.create(encodeModel(pruneModel(model, TEXT_OUTPUTS)), sessionOptions);
  const refs: Record<string, NamedTensor> = {};
  let ortImage: number[];
  let ortText: number[];
  try {
    log(`ONNX Runtime: ${opts.warmup} + ${opts.repeats} batches of ${B} through each encoder (${opts.threads} threads) ...`);
    const img = await timeSession(imageSession, { pixel_values: new ort.Tensor('float32', batch.pixels, [B, 1, size, size]) }, opts);
    const textFeeds: Record<string, ort.Tensor> = {
      input_ids: int64Tensor(batch.inputIds, [B, T]),
      attention_mask: int64Tensor(batch.attentionMask, [B, T]),
      word_ids: int64Tensor(batch.wordIds, [B, T]),
    };
    for (const k of Object.keys(textFeeds)) if (!textSession.inputNames.includes(k)) delete textFeeds[k];
    const txt = await timeSession(textSession, textFeeds, opts);
    for (const [name, t] of [...Object.entries(img.out), ...Object.entries(txt.out)]) {
      refs[name] = { shape: t.dims.map(Number), data: t.data as Float32Array };
    }
    ortImage = img.ms;
    ortText = txt.ms;
  } finally {
    await imageSession.release();
    await textSession.release();
  }
  const report: EmbedBenchReport = {
    model: file, batch: B, repeats: opts.repeats, warmup: opts.warmup, threads: opts.threads, architecture: arch,
    ort: { version: ort.env.versions.common, image: timingOf(ortImage, B), text: timingOf(ortText, B) },
  };
  if (!opts.torch) {
    report.torchNote = 'PyTorch peer not requested (--no-torch)';
    return report;
  }
  const peer = runTorchEmbed(model, batch, refs, arch, opts, { size, T, n: meta.maxWords }, log);
  if ('note' in peer) {
    report.torchNote = peer.note;
    return report;
  }
  const out = peer.out;
  report.parity = { tolerance: opts.tolerance, maxAbsDiff: out.parity, ok: out.ok };
  if (!out.ok || !out.image || !out.text) {
    report.torchNote = out.error ?? `PyTorch outputs differ from ONNX Runtime by more than ${opts.tolerance}: not timed`;
    return report;
  }
  report.torch = { version: out.version, image: timingOf(out.image, B), text: timingOf(out.text, B) };
  report.ratio = {
    image: report.ort.image.itemsPerS / report.torch.image.itemsPerS,
    text: report.ort.text.itemsPerS / report.torch.text.itemsPerS,
  };
  return report;
}

function runTorchEmbed(
  model: ModelProto, batch: EmbedBatch, refs: Record<string, NamedTensor>, arch: TorchEmbedConfig,
  opts: EmbedBenchOptions, dims: { size: number; T: number; n: number }, log: (m: string) => void,
): { out: TorchEmbedOutput } | { note: string } {
  if (!torchAvailable()) return { note: TORCH_MISSING };
  const script = torchEmbedScriptPath();
  if (!script) return { note: 'scripts/bench/torch_embed.py not found next to the engine' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-bench-embed-'));
  try {
    writeTorchJob(dir, model, batch, refs, dims);
    log(`PyTorch: parity on the same batch, then ${opts.warmup} + ${opts.repeats} batches per encoder ...`);
    const job = { dir, config: arch, maxWords: dims.n, repeats: opts.repeats, warmup: opts.warmup, threads: opts.threads, tolerance: opts.tolerance };
    const r = spawnSync(TORCH_PYTHON, [script], { input: JSON.stringify(job), encoding: 'utf8', timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
    const tail = (r.stderr || '').trim().split('\n').pop();
    let out: TorchEmbedOutput | undefined;
    try {
      out = JSON.parse(r.stdout) as TorchEmbedOutput;
    } catch {
      out = undefined;
    }
    if (!out || typeof out.parity !== 'object') return { note: `PyTorch peer failed: ${r.error?.message ?? tail ?? `exit code ${r.status}`}` };
    return { out };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function formatEmbedReport(r: EmbedBenchReport): string {
  const row = (name: string, t: EncoderTiming, unit: string): string =>
    `${name.padEnd(22)}${t.itemsPerS.toFixed(1).padStart(10)} ${unit}/s   ${t.msPerBatch.toFixed(1).padStart(8)} ms/batch  (p90 ${t.p90MsPerBatch.toFixed(1)})`;
  const lines = [
    `${path.basename(r.model)}: cnn-small ${r.architecture.image.imageSize}px + BERT ${r.architecture.text.layers}x${r.architecture.text.hidden}; batch ${r.batch}, ${r.threads} threads, median of ${r.repeats} after ${r.warmup} warm-up`,
    row('ORT image', r.ort.image, 'images'),
    row('ORT text', r.ort.text, 'reports'),
  ];
  if (r.torch) {
    lines.push(row('PyTorch image', r.torch.image, 'images'));
    lines.push(row('PyTorch text', r.torch.text, 'reports'));
  }
  if (r.parity) {
    const diffs = Object.entries(r.parity.maxAbsDiff).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ');
    lines.push(`parity (max |ORT - PyTorch|, tolerance ${r.parity.tolerance}): ${diffs} -> ${r.parity.ok ? 'ok' : 'FAILED'}`);
  }
  lines.push(`onnxruntime-node ${r.ort.version}${r.torch ? `, PyTorch ${r.torch.version}` : ''}`);
  if (r.ratio) lines.push(`ORT / PyTorch throughput: image ${r.ratio.image.toFixed(2)}x, text ${r.ratio.text.toFixed(2)}x`);
  if (r.torchNote) lines.push(r.torchNote);
  return lines.join('\n');
}
