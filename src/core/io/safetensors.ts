// safetensors (Hugging Face's tensor file format): 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}, __metadata__: {string: string}}, then raw data.
// Used for checkpoints (readable from Python) and for importing torchvision / HF weights.
import fs from 'node:fs';
import { DataError } from '../errors';

export type SafeDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES: Record<SafeDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1 };

/** Serialises float32 tensors (sorted by name, as the reference writer does) with string metadata. */
export function encodeSafetensors(tensors: Record<string, NamedTensor>, metadata: Record<string, string> = {}): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape}] does not match ${t.data.length} values`);
    const bytes = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (allowed by the format).
  const pad = (8 - ((8 + Buffer.byteLength(json)) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name].data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, pos);
    pos += d.byteLength;
  }
  return out;
}

export interface DecodedSafetensors {
  tensors: Record<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** Parses a safetensors buffer; every dtype is converted to float32. `file` names the source in errors. */
export function decodeSafetensors(buf: Uint8Array, file = 'safetensors'): DecodedSafetensors {
  if (buf.length < 8) throw new DataError(`${file}: too short to be a safetensors file`, file);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen <= 0 || 8 + headerLen > buf.length) throw new DataError(`${file}: header length ${headerLen} exceeds the file`, file);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, headerLen).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new DataError(`${file}: header is not valid JSON (${(e as Error).message})`, file);
  }
  const dataStart = 8 + headerLen;
  const tensors: Record<string, NamedTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = raw as Record<string, string>; continue; }
    const e = raw as HeaderEntry;
    const dtype = e.dtype as SafeDType;
    if (!(dtype in BYTES)) throw new DataError(`${file}: tensor ${name} has unsupported dtype ${e.dtype}`, file, name);
    const [start, end] = e.data_offsets;
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (end - start !== count * BYTES[dtype] || dataStart + end > buf.length) {
      throw new DataError(`${file}: tensor ${name} data_offsets [${start}, ${end}] do not match shape [${e.shape}] ${dtype}`, file, name);
    }
    tensors[name] = { shape: e.shape, data: toFloat32(buf, buf.byteOffset + dataStart + start, count, dtype) };
  }
  return { tensors, metadata };
}

/** Largest header the reference implementation accepts (100 MB); a bigger one is damage, not data. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsLayout {
  /** Bytes of the JSON header (the 8-byte length prefix not included). */
  headerLength: number;
  /** Bytes of tensor data the header declares (the largest end offset). */
  dataLength: number;
  /** The only valid file length: 8 + headerLength + dataLength. */
  fileLength: number;
}

/**
 * What the header says the file's length must be. `head` holds at least the first 8 + header
 * length bytes. Throws a DataError naming `file` when the header is unreadable.
 */
export function safetensorsLayout(head: Uint8Array, file = 'safetensors'): SafetensorsLayout {
  const headerLength = declaredHeaderLength(head, file);
  if (8 + headerLength > head.length) throw new DataError(`${file}: truncated: ${head.length} bytes, the header alone declares ${8 + headerLength}`, file);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(head.buffer, head.byteOffset + 8, headerLength).toString('utf8'));
  } catch (e) {
    throw new DataError(`${file}: header is not valid JSON (${(e as Error).message})`, file);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new DataError(`${file}: header is not a JSON object`, file);
  let dataLength = 0;
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const offsets = (raw as { data_offsets?: unknown } | null)?.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) || offsets[0] > offsets[1]) {
      throw new DataError(`${file}: tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)}`, file, name);
    }
    dataLength = Math.max(dataLength, offsets[1] as number);
  }
  return { headerLength, dataLength, fileLength: 8 + headerLength + dataLength };
}

function declaredHeaderLength(head: Uint8Array, file: string): number {
  if (head.length < 8) throw new DataError(`${file}: too short to be a safetensors file (${head.length} bytes)`, file);
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (n === 0n || n > BigInt(MAX_HEADER_BYTES)) throw new DataError(`${file}: header length ${n} is not plausible (damaged file?)`, file);
  return Number(n);
}

/**
 * Checks a safetensors file on disk (by descriptor, e.g. a temp file before it is renamed into
 * place): its length must be exactly what its header declares. Reads only the header.
 */
export function checkSafetensorsFd(fd: number, file: string): SafetensorsLayout {
  const size = fs.fstatSync(fd).size;
  const prefix = Buffer.alloc(8);
  if (size < 8 || fs.readSync(fd, prefix, 0, 8, 0) !== 8) throw new DataError(`${file}: truncated: ${size} bytes, too short to hold a safetensors header`, file);
  const headerLength = declaredHeaderLength(prefix, file);
  if (8 + headerLength > size) throw new DataError(`${file}: truncated: ${size} bytes, the header alone declares ${8 + headerLength}`, file);
  const head = Buffer.alloc(8 + headerLength);
  prefix.copy(head, 0);
  let got = 8;
  while (got < head.length) {
    const n = fs.readSync(fd, head, got, head.length - got, got);
    if (n === 0) break;
    got += n;
  }
  const layout = safetensorsLayout(head.subarray(0, got), file);
  checkLength(layout, size, file);
  return layout;
}

/** Throws unless `size` is exactly the length `layout` declares. */
export function checkLength(layout: SafetensorsLayout, size: number, file: string): void {
  if (size < layout.fileLength) throw new DataError(`${file}: truncated: ${size} bytes of the ${layout.fileLength} its header declares`, file);
  if (size > layout.fileLength) throw new DataError(`${file}: ${size - layout.fileLength} unexpected bytes after the ${layout.fileLength} its header declares`, file);
}

export function readSafetensorsFile(file: string): DecodedSafetensors {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, file);
  }
  return decodeSafetensors(buf, file);
}

function toFloat32(buf: Uint8Array, byteOffset: number, count: number, dtype: SafeDType): Float32Array {
  const dv = new DataView(buf.buffer, byteOffset, count * BYTES[dtype]);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'F32': out[i] = dv.getFloat32(i * 4, true); break;
      case 'F64': out[i] = dv.getFloat64(i * 8, true); break;
      case 'I64': out[i] = Number(dv.getBigInt64(i * 8, true)); break;
      case 'I32': out[i] = dv.getInt32(i * 4, true); break;
      case 'U8': out[i] = dv.getUint8(i); break;
      case 'F16': out[i] = halfToFloat(dv.getUint16(i * 2, true)); break;
      case 'BF16': {
        const tmp = new DataView(new ArrayBuffer(4));
        tmp.setUint32(0, dv.getUint16(i * 2, true) << 16, true);
        out[i] = tmp.getFloat32(0, true);
        break;
      }
    }
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
