// ONNX Runtime sessions for models that follow the "ONNX model contract" (ARCHITECTURE.md):
// ours, or any PyTorch export with the same inputs and outputs. Opening a model checks the
// contract and names every missing or mis-shaped input/output, so a wrong file fails up front
// with one clear message instead of at the first run.
import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import configSchema from '../../../schemas/reclf-config.schema.json';
import { DataError } from '../errors';
import { readModelMetadata } from '../export/onnx-decode';
import { regularInputFile } from '../data/input-guard';

interface Expect {
  rank: number;
  type: 'float32' | 'int64';
  /** Fixed sizes that must match where the model declares them (null = any). */
  dims?: (number | null)[];
  optional?: boolean;
}

export const CONTRACT_INPUT_SPEC: Record<string, Expect> = {
  pixel_values: { rank: 4, type: 'float32', dims: [null, 1, null, null] },
  input_ids: { rank: 2, type: 'int64' },
  attention_mask: { rank: 2, type: 'int64' },
  word_ids: { rank: 2, type: 'int64', optional: true },
  // MLIP: knowledge-base entity row per word slot [B, N], -1 = not linked (fed all -1 when the caller links nothing).
  entity_ids: { rank: 2, type: 'int64', optional: true },
};

export const CONTRACT_OUTPUT_SPEC: Record<string, Expect> = {
  image_embedding: { rank: 2, type: 'float32' },
  text_embedding: { rank: 2, type: 'float32' },
  region_features: { rank: 3, type: 'float32' },
  word_features: { rank: 3, type: 'float32' },
  attention: { rank: 3, type: 'float32' },
  relation: { rank: 3, type: 'float32' },
  importance: { rank: 2, type: 'float32' },
  local_score: { rank: 1, type: 'float32' },
};

/** A single-file ONNX model is one protobuf message, which cannot exceed 2 GiB. */
export const MAX_ONNX_BYTES = 2 * 1024 ** 3;

/**
 * The bytes of an ONNX model file: only a regular file of at most MAX_ONNX_BYTES (/dev/zero would
 * be read until the heap is gone, a FIFO would block). Errors name the file.
 */
export function readOnnxModelFile(file: string): Uint8Array {
  const checked = regularInputFile(file, MAX_ONNX_BYTES, undefined, 'the ONNX model');
  if (!checked.ok) {
    throw new DataError(`${file}: ${checked.reason.startsWith('file not found') ? 'ONNX model file not found' : checked.reason}`, file);
  }
  try {
    return fs.readFileSync(checked.real);
  } catch (e) {
    throw new DataError(`${file}: cannot read the ONNX model (${(e as Error).message})`, file);
  }
}

export interface ValueInfo {
  name: string;
  type?: string;
  /** Declared shape; symbolic dims as strings, unknown rank as undefined. */
  shape?: readonly (number | string)[];
}

/** Every way `inputs`/`outputs` break the contract, one line each (empty = conforms). */
export function contractViolations(inputs: readonly ValueInfo[], outputs: readonly ValueInfo[]): string[] {
  const errors: string[] = [];
  const check = (kind: 'input' | 'output', spec: Record<string, Expect>, have: readonly ValueInfo[]): void => {
    const byName = new Map(have.map((v) => [v.name, v]));
    for (const [name, e] of Object.entries(spec)) {
      const v = byName.get(name);
      if (!v) {
        if (!e.optional) errors.push(`missing ${kind} '${name}' (expected ${e.type} of rank ${e.rank})`);
        continue;
      }
      if (v.type && v.type !== e.type) errors.push(`${kind} '${name}' is ${v.type}, expected ${e.type}`);
      if (v.shape && v.shape.length > 0) {
        if (v.shape.length !== e.rank) {
          errors.push(`${kind} '${name}' has shape [${v.shape.join(', ')}] (rank ${v.shape.length}), expected rank ${e.rank}`);
        } else if (e.dims) {
          e.dims.forEach((d, i) => {
            const got = v.shape![i];
            if (d !== null && typeof got === 'number' && got !== d) errors.push(`${kind} '${name}' dim ${i} is ${got}, expected ${d}`);
          });
        }
      }
    }
  };
  check('input', CONTRACT_INPUT_SPEC, inputs);
  check('output', CONTRACT_OUTPUT_SPEC, outputs);
  return errors;
}

export interface ContractFeeds {
  batch: number;
  /** [B * H * W], normalised, H = W = the model's image size. */
  pixels: Float32Array;
  imageSize: number;
  seqLen: number;
  inputIds: ArrayLike<number>;
  attentionMask: ArrayLike<number>;
  /** Word slot per piece, -1 = not a word. */
  wordIds: ArrayLike<number>;
  /**
   * Knowledge-base entity row per word slot [B * entityWords] (-1 = not linked), for models that
   * declare `entity_ids`; ignored by models that do not, all -1 when omitted.
   */
  entityIds?: ArrayLike<number>;
}

export interface OutputTensor {
  data: Float32Array;
  dims: number[];
}

export type ContractOutputs = Record<keyof typeof CONTRACT_OUTPUT_SPEC, OutputTensor>;

function int64(values: ArrayLike<number>, dims: number[]): ort.Tensor {
  const b = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) b[i] = BigInt(values[i]);
  return new ort.Tensor('int64', b, dims);
}

function infoOf(m: ort.InferenceSession.ValueMetadata): ValueInfo {
  return m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name, type: 'non-tensor' };
}

/**
 * Names the model's metadata declares in `extra_inputs` (JSON list) that its graph lacks: the
 * metadata is how callers learn which optional inputs to feed, so it must not promise more.
 */
export function declaredInputViolations(metadata: Record<string, string>, inputNames: readonly string[]): string[] {
  const raw = metadata.extra_inputs;
  if (raw === undefined) return [];
  let names: unknown;
  try {
    names = JSON.parse(raw);
  } catch {
    names = undefined;
  }
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) return [`metadata 'extra_inputs' must be a JSON list of input names, got ${raw}`];
  return (names as string[]).filter((n) => !inputNames.includes(n)).map((n) => `metadata 'extra_inputs' lists '${n}' but the graph has no such input`);
}

/**
 * Largest values the metadata may declare, taken from the published config schema (the same
 * bounds a training config has): a model's metadata sizes the buffers fed to it, so
 * `max_length 1e8` must fail here and not exhaust the heap at the first explanation.
 */
const MODEL_SCHEMA = configSchema.properties.model.properties;
export const METADATA_MAXIMA: Record<'image_size' | 'max_length' | 'max_words', { max: number; field: string }> = {
  image_size: { max: MODEL_SCHEMA.image.properties.imageSize.maximum, field: 'model.image.imageSize' },
  max_length: { max: MODEL_SCHEMA.text.properties.maxLength.maximum, field: 'model.text.maxLength' },
  max_words: { max: MODEL_SCHEMA.maxWords.maximum, field: 'model.maxWords' },
};

export interface MetadataViolation {
  /** The metadata key. */
  field: string;
  message: string;
}

function metadataNumber(metadata: Record<string, string>, key: string): unknown {
  const raw = metadata[key];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Metadata that sizes the inputs (image_size, max_length, max_words, grid) against the graph's
 * declared shapes and the schema's maxima, one violation per key. Keys that are absent are left
 * to their readers (explain requires them, eval may not); symbolic dims are only bounded.
 */
export function metadataShapeViolations(
  metadata: Record<string, string>, inputs: readonly ValueInfo[], outputs: readonly ValueInfo[] = [],
): MetadataViolation[] {
  const out: MetadataViolation[] = [];
  const shapeOf = (list: readonly ValueInfo[], name: string): readonly (number | string)[] | undefined => list.find((v) => v.name === name)?.shape;
  const fmt = (shape: readonly (number | string)[]): string => `[${shape.join(', ')}]`;
  const sized = (key: keyof typeof METADATA_MAXIMA, against: { list: readonly ValueInfo[]; name: string; dims: number[] }[]): void => {
    const v = metadataNumber(metadata, key);
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      out.push({ field: key, message: `ONNX metadata '${key}' must be a positive integer, got ${JSON.stringify(metadata[key])}` });
      return;
    }
    const { max, field } = METADATA_MAXIMA[key];
    if (v > max) {
      out.push({ field: key, message: `ONNX metadata '${key}' is ${v}, more than ${max} (the largest ${field} the config schema allows)` });
      return;
    }
    for (const a of against) {
      const shape = shapeOf(a.list, a.name);
      if (!shape) continue;
      const bad = a.dims.find((d) => typeof shape[d] === 'number' && (shape[d] as number) > 0 && shape[d] !== v);
      if (bad !== undefined) {
        out.push({ field: key, message: `ONNX metadata '${key}' is ${v} but the graph's ${a.list === outputs ? 'output' : 'input'} '${a.name}' has shape ${fmt(shape)}` });
        return;
      }
    }
  };
  sized('image_size', [{ list: inputs, name: 'pixel_values', dims: [2, 3] }]);
  sized('max_length', [
    { list: inputs, name: 'input_ids', dims: [1] }, { list: inputs, name: 'attention_mask', dims: [1] }, { list: inputs, name: 'word_ids', dims: [1] },
  ]);
  sized('max_words', [{ list: inputs, name: 'entity_ids', dims: [1] }]);
  const grid = metadataNumber(metadata, 'grid');
  if (Array.isArray(grid) && grid.length === 2 && grid.every((g) => Number.isInteger(g) && g > 0)) {
    const m = (grid[0] as number) * (grid[1] as number);
    for (const [name, dim] of [['attention', 2], ['region_features', 1]] as const) {
      const shape = shapeOf(outputs, name);
      const got = shape?.[dim];
      if (shape && typeof got === 'number' && got > 0 && got !== m) {
        out.push({ field: 'grid', message: `ONNX metadata 'grid' is ${grid.join('x')} (${m} regions) but the graph's output '${name}' has shape ${fmt(shape)}` });
        break;
      }
    }
  }
  return out;
}

/** Word slots N of a declared entity_ids input: its static dim 1, else metadata max_words. */
function entityWordsOf(session: ort.InferenceSession, metadata: Record<string, string>): number | undefined {
  const info = session.inputMetadata.find((m) => m.name === 'entity_ids');
  if (!info) return undefined;
  const dim = info.isTensor ? info.shape[1] : undefined;
  if (typeof dim === 'number' && dim > 0) return dim;
  const n = Number(metadata.max_words);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Whether this onnxruntime-node build can use the CUDA execution provider. */
export function cudaAvailable(): boolean {
  try {
    return ort.listSupportedBackends().some((b) => b.name === 'cuda' && b.bundled);
  } catch {
    return false;
  }
}

export class ContractSession {
  private constructor(
    readonly file: string,
    private readonly session: ort.InferenceSession,
    readonly metadata: Record<string, string>,
    readonly executionProvider: 'cuda' | 'cpu',
    readonly hasWordIds: boolean,
    /** Word slots N of the model's `entity_ids` input; undefined when it has none. */
    readonly entityWords?: number,
  ) {}

  get hasEntityIds(): boolean {
    return this.entityWords !== undefined;
  }

  /** Opens and checks `file`; CUDA EP when available and `device` is not 'cpu', else CPU. */
  static async open(file: string, opts: { device?: 'auto' | 'cpu' | 'cuda' } = {}): Promise<ContractSession> {
    const bytes = readOnnxModelFile(file);
    let metadata: Record<string, string>;
    try {
      metadata = readModelMetadata(bytes);
    } catch (e) {
      throw new DataError(`${file}: not an ONNX model (${(e as Error).message})`, file);
    }
    const device = opts.device ?? 'auto';
    const wantCuda = device === 'cuda' || (device === 'auto' && cudaAvailable());
    let session: ort.InferenceSession | undefined;
    let ep: 'cuda' | 'cpu' = 'cpu';
    if (wantCuda) {
      try {
        session = await ort.InferenceSession.create(bytes, { executionProviders: ['cuda', 'cpu'] });
        ep = 'cuda';
      } catch (e) {
        if (device === 'cuda') throw new DataError(`${file}: the CUDA execution provider failed (${(e as Error).message})`, file);
      }
    }
    if (!session) {
      try {
        session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
      } catch (e) {
        throw new DataError(`${file}: onnxruntime cannot load the model (${(e as Error).message})`, file);
      }
    }
    const violations = [
      ...contractViolations(session.inputMetadata.map(infoOf), session.outputMetadata.map(infoOf)),
      ...declaredInputViolations(metadata, session.inputNames),
    ];
    const entityWords = entityWordsOf(session, metadata);
    if (session.inputNames.includes('entity_ids') && entityWords === undefined) {
      violations.push("input 'entity_ids' has no static word dimension and metadata has no 'max_words'");
    }
    if (violations.length) {
      await session.release();
      // One line (the CLI prints only the first): every violation, separated by '; '.
      throw new DataError(`${file}: does not follow the RECLF ONNX model contract: ${violations.join('; ')}`, file);
    }
    const metaProblems = metadataShapeViolations(metadata, session.inputMetadata.map(infoOf), session.outputMetadata.map(infoOf));
    if (metaProblems.length) {
      await session.release();
      throw new DataError(`${file}: ${metaProblems.map((p) => p.message).join('; ')}`, file, metaProblems[0].field);
    }
    return new ContractSession(file, session, metadata, ep, session.inputNames.includes('word_ids'), entityWords);
  }

  async run(f: ContractFeeds): Promise<ContractOutputs> {
    const bt = [f.batch, f.seqLen];
    const feeds: Record<string, ort.Tensor> = {
      pixel_values: new ort.Tensor('float32', f.pixels, [f.batch, 1, f.imageSize, f.imageSize]),
      input_ids: int64(f.inputIds, bt),
      attention_mask: int64(f.attentionMask, bt),
    };
    if (this.hasWordIds) feeds.word_ids = int64(f.wordIds, bt);
    if (this.entityWords !== undefined) {
      const size = f.batch * this.entityWords;
      if (f.entityIds && f.entityIds.length !== size) {
        throw new DataError(`${this.file}: entity_ids has ${f.entityIds.length} values, expected batch ${f.batch} x ${this.entityWords} word slots`, this.file, 'entity_ids');
      }
      feeds.entity_ids = int64(f.entityIds ?? new Array<number>(size).fill(-1), [f.batch, this.entityWords]);
    }
    const out = await this.session.run(feeds);
    const result = {} as ContractOutputs;
    for (const name of Object.keys(CONTRACT_OUTPUT_SPEC) as (keyof ContractOutputs)[]) {
      const t = out[name];
      result[name] = { data: t.data as Float32Array, dims: t.dims.map(Number) };
    }
    return result;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
