// ONNX Runtime sessions for models that follow the "ONNX model contract" (ARCHITECTURE.md):
// ours, or any PyTorch export with the same inputs and outputs. Opening a model checks the
// contract and names every missing or mis-shaped input/output, so a wrong file fails up front
// with one clear message instead of at the first run.
import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { DataError } from '../errors';
import { readModelMetadata } from '../export/onnx-proto';

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
  ) {}

  /** Opens and checks `file`; CUDA EP when available and `device` is not 'cpu', else CPU. */
  static async open(file: string, opts: { device?: 'auto' | 'cpu' | 'cuda' } = {}): Promise<ContractSession> {
    let bytes: Uint8Array;
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      throw new DataError(`${file}: cannot read the ONNX model (${(e as Error).message})`, file);
    }
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
    const violations = contractViolations(session.inputMetadata.map(infoOf), session.outputMetadata.map(infoOf));
    if (violations.length) {
      await session.release();
      throw new DataError(`${file}: does not follow the RECLF ONNX model contract:\n  - ${violations.join('\n  - ')}`, file);
    }
    return new ContractSession(file, session, metadata, ep, session.inputNames.includes('word_ids'));
  }

  async run(f: ContractFeeds): Promise<ContractOutputs> {
    const bt = [f.batch, f.seqLen];
    const feeds: Record<string, ort.Tensor> = {
      pixel_values: new ort.Tensor('float32', f.pixels, [f.batch, 1, f.imageSize, f.imageSize]),
      input_ids: int64(f.inputIds, bt),
      attention_mask: int64(f.attentionMask, bt),
    };
    if (this.hasWordIds) feeds.word_ids = int64(f.wordIds, bt);
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
