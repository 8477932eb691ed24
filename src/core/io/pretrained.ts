// Pretrained-weight import: torchvision ResNet state_dicts (--init-image) and Hugging Face BERT
// state_dicts (--init-text), both as safetensors, mapped by name onto our parameters. PyTorch
// layouts are converted to ours: conv [out, in, kh, kw] -> [kh, kw, in, out] (an RGB conv1 is
// summed over its input channels: a grey image fed as R = G = B gives the same activations),
// Linear [out, in] -> [in, out]. Names that do not map, and shapes that disagree, are reported.
import { DataError } from '../errors';
import type { ParamStore } from '../models/params';
import { IMAGE_PREFIX, TEXT_PREFIX } from '../models/dual-encoder';
import { readSafetensorsFile, type NamedTensor } from './safetensors';

export interface PretrainedReport {
  file: string;
  /** Our parameter names that received values. */
  loaded: string[];
  /** Tensors of the file with no counterpart in the model (e.g. fc.*, pooler.*). */
  unmatched: string[];
  /** Parameters of the model's backbone that the file did not provide (they keep their init). */
  missing: string[];
  /** Notes on adapted tensors (summed RGB conv1, truncated position table). */
  adapted: string[];
}

type Mapped = { name: string; tensor: NamedTensor; note?: string };

// Wrapper prefixes of common training code (DataParallel, Lightning modules). BERT's own
// "encoder." is a real name there, so each side lists its own.
const IMAGE_WRAPPERS = ['module.', 'model.', 'encoder.', 'backbone.', 'visual.'];
const TEXT_WRAPPERS = ['module.', 'model.', 'bert.'];

function stripWrappers(name: string, wrappers: string[]): string {
  let n = name;
  for (let changed = true; changed;) {
    changed = false;
    for (const p of wrappers) {
      if (n.startsWith(p)) {
        n = n.slice(p.length);
        changed = true;
      }
    }
  }
  return n;
}

/** [out, in, kh, kw] -> [kh, kw, in, out], optionally summing `in` to 1 channel. */
export function torchConvToTf(t: NamedTensor, sumInputChannels = false): NamedTensor {
  const [co, ci, kh, kw] = t.shape;
  const cin = sumInputChannels ? 1 : ci;
  const out = new Float32Array(kh * kw * cin * co);
  for (let o = 0; o < co; o++) {
    for (let i = 0; i < ci; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const ti = sumInputChannels ? 0 : i;
          out[((y * kw + x) * cin + ti) * co + o] += t.data[((o * ci + i) * kh + y) * kw + x];
        }
      }
    }
  }
  return { shape: [kh, kw, cin, co], data: out };
}

/** [out, in] -> [in, out]. */
export function torchLinearToTf(t: NamedTensor): NamedTensor {
  const [o, i] = t.shape;
  const out = new Float32Array(o * i);
  for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) out[c * o + r] = t.data[r * i + c];
  return { shape: [i, o], data: out };
}

function apply(params: ParamStore, file: string, mapped: Mapped[], unmatched: string[], backbonePrefix: string): PretrainedReport {
  const mismatched: string[] = [];
  const record: Record<string, NamedTensor> = {};
  const adapted: string[] = [];
  for (const m of mapped) {
    if (!params.has(m.name)) {
      unmatched.push(`${m.name} (no such parameter in this model)`);
      continue;
    }
    const want = params.get(m.name).shape;
    if (want.join(',') !== m.tensor.shape.join(',')) {
      mismatched.push(`${m.name}: file [${m.tensor.shape.join(', ')}] vs model [${want.join(', ')}]`);
      continue;
    }
    record[m.name] = m.tensor;
    if (m.note) adapted.push(`${m.name}: ${m.note}`);
  }
  if (mismatched.length) {
    throw new DataError(`${file}: ${mismatched.length} tensor(s) do not fit the model's shapes:\n  - ${mismatched.join('\n  - ')}`, file);
  }
  const loaded = params.load(record, true);
  if (loaded.length === 0) {
    throw new DataError(`${file}: no tensor matched a parameter of the model (first names in the file: ${unmatched.slice(0, 5).join(', ')})`, file);
  }
  const got = new Set(loaded);
  const missing = params.names().filter((n) => n.startsWith(`${backbonePrefix}.`) && !got.has(n));
  return { file, loaded, unmatched, missing, adapted };
}

/**
 * torchvision ResNet weights onto the image backbone (resnet18 / resnet50). fc.* and
 * num_batches_tracked are unmatched; a 3-channel conv1 is summed to our 1-channel input.
 */
export function loadPretrainedImage(params: ParamStore, file: string): PretrainedReport {
  const { tensors } = readSafetensorsFile(file);
  const prefix = `${IMAGE_PREFIX}.model`;
  const mapped: Mapped[] = [];
  const unmatched: string[] = [];
  for (const [raw, t] of Object.entries(tensors)) {
    const n = stripWrappers(raw, IMAGE_WRAPPERS);
    if (n.endsWith('num_batches_tracked') || n.startsWith('fc.')) {
      unmatched.push(raw);
      continue;
    }
    const name = `${prefix}.${n}`;
    if (t.shape.length === 4) {
      const rgb = n === 'conv1.weight' && t.shape[1] === 3;
      mapped.push({ name, tensor: torchConvToTf(t, rgb), note: rgb ? 'RGB conv1 summed over its 3 input channels' : undefined });
    } else {
      mapped.push({ name, tensor: t });
    }
  }
  return apply(params, file, mapped, unmatched, prefix);
}

/**
 * Hugging Face BERT weights (BertModel / BertForMaskedLM / Bio_ClinicalBERT names, with or
 * without the "bert." prefix) onto the text encoder. Linear weights are transposed; old
 * LayerNorm gamma/beta names are accepted; a longer position table is cut to maxLength rows.
 */
export function loadPretrainedText(params: ParamStore, file: string): PretrainedReport {
  const { tensors } = readSafetensorsFile(file);
  const prefix = `${TEXT_PREFIX}.model`;
  const mapped: Mapped[] = [];
  const unmatched: string[] = [];
  for (const [raw, t] of Object.entries(tensors)) {
    let n = stripWrappers(raw, TEXT_WRAPPERS).replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
    if (n.endsWith('position_ids') || n.startsWith('pooler.') || n.startsWith('cls.')) {
      unmatched.push(raw);
      continue;
    }
    if (!n.startsWith('embeddings.') && !n.startsWith('encoder.')) {
      unmatched.push(raw);
      continue;
    }
    n = `${prefix}.${n}`;
    if (n.endsWith('position_embeddings.weight') && params.has(n)) {
      const rows = params.get(n).shape[0];
      if (t.shape[0] > rows) {
        mapped.push({ name: n, tensor: { shape: [rows, t.shape[1]], data: t.data.slice(0, rows * t.shape[1]) }, note: `first ${rows} of ${t.shape[0]} positions` });
        continue;
      }
    }
    const isLinear = t.shape.length === 2 && !n.includes('.embeddings.');
    mapped.push({ name: n, tensor: isLinear ? torchLinearToTf(t) : t });
  }
  return apply(params, file, mapped, unmatched, prefix);
}

/** One human-readable paragraph for the run log. */
export function describePretrained(kind: 'image' | 'text', r: PretrainedReport): string {
  const lines = [`--init-${kind}: loaded ${r.loaded.length} tensors from ${r.file}`];
  if (r.adapted.length) lines.push(`  adapted: ${r.adapted.join('; ')}`);
  if (r.unmatched.length) lines.push(`  unused from the file (${r.unmatched.length}): ${r.unmatched.slice(0, 8).join(', ')}${r.unmatched.length > 8 ? ', ...' : ''}`);
  if (r.missing.length) lines.push(`  not in the file, left at init (${r.missing.length}): ${r.missing.slice(0, 8).join(', ')}${r.missing.length > 8 ? ', ...' : ''}`);
  return lines.join('\n');
}
