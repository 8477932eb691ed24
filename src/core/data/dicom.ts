// DICOM radiographs -> grey [0,1]: stored values -> modality (rescale) -> VOI window (or min-max)
// -> MONOCHROME1 inversion. Uncompressed (and deflated) transfer syntaxes are read directly,
// baseline JPEG through sharp; other compressed syntaxes are refused with a DataError.
import zlib from 'node:zlib';
import * as dicomParser from 'dicom-parser';
import sharp from 'sharp';
import { DataError } from '../errors';
import type { GreyImage, ImageLimits } from './image-io';
import { DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS, formatBytes, formatPixels, pixelLimitProblem } from './input-guard';

const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
const UNCOMPRESSED = new Set([IMPLICIT_LE, EXPLICIT_LE, DEFLATED_LE, EXPLICIT_BE]);

// Names make the refusal message actionable ("convert with gdcmconv --raw").
const COMPRESSED_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.4.51': 'JPEG extended 12-bit',
  '1.2.840.10008.1.2.4.57': 'JPEG lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS near-lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K lossless',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE lossless',
};

/** 'DICM' at offset 128 (Part 10 file) or a .dcm / .dicom file name. */
export function looksLikeDicom(bytes: Uint8Array, hint = ''): boolean {
  if (bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d) {
    return true;
  }
  return /\.(dcm|dicom)$/i.test(hint);
}

/**
 * Decodes the first frame of a DICOM image to grey [0,1]. Rows x Columns is checked against
 * limits.maxPixels before any pixel buffer is allocated; a deflated data set may not inflate to
 * more than its declared pixels need (and never past limits.maxBytes): see parseDataSet.
 */
export async function decodeDicom(bytes: Uint8Array, hint = 'image.dcm', limits: Partial<ImageLimits> = {}): Promise<GreyImage> {
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const ds = parse(bytes, hint, limits.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES, maxPixels);
  const fail = (msg: string, field?: string): DataError => new DataError(`${hint}: ${msg}`, hint, field);

  const syntax = transferSyntax(ds);
  const pixelEl = ds.elements.x7fe00010;
  if (!pixelEl) throw fail('DICOM has no PixelData (7FE0,0010)', 'PixelData');
  if (!UNCOMPRESSED.has(syntax) && syntax !== JPEG_BASELINE) {
    const name = COMPRESSED_NAMES[syntax] ?? (syntax.startsWith('1.2.840.10008.1.2.4') ? 'JPEG family' : 'unknown');
    throw fail(`compressed DICOM transfer syntax ${syntax} (${name}) not supported; convert to uncompressed (e.g. gdcmconv --raw)`, 'TransferSyntaxUID');
  }

  const rows = ds.uint16('x00280010');
  const cols = ds.uint16('x00280011');
  if (!rows) throw fail('missing or zero Rows (0028,0010)', 'Rows');
  if (!cols) throw fail('missing or zero Columns (0028,0011)', 'Columns');
  const tooBig = pixelLimitProblem(cols, rows, maxPixels);
  if (tooBig) throw fail(`${tooBig} by its Rows/Columns`, 'Rows');
  const photometric = (ds.string('x00280004') ?? 'MONOCHROME2').trim().toUpperCase();
  if (photometric === 'PALETTE COLOR') throw fail('PhotometricInterpretation PALETTE COLOR not supported', 'PhotometricInterpretation');

  let values: Float32Array;
  if (syntax === JPEG_BASELINE) {
    values = await decodeJpegFrame(ds, pixelEl, rows, cols, fail);
  } else {
    values = readNative(ds, pixelEl, rows, cols, photometric, syntax === EXPLICIT_BE, fail);
  }

  // Modality LUT: stored value -> physical value.
  const slope = finiteOr(ds.floatString('x00281053'), 1);
  const intercept = finiteOr(ds.floatString('x00281052'), 0);
  if (slope !== 1 || intercept !== 0) {
    for (let i = 0; i < values.length; i++) values[i] = values[i] * slope + intercept;
  }

  const center = ds.floatString('x00281050', 0);
  const width = ds.floatString('x00281051', 0);
  if (center !== undefined && width !== undefined && Number.isFinite(center) && Number.isFinite(width) && width >= 1) {
    applyWindow(values, center, width);
  } else {
    minMax(values);
  }
  if (photometric === 'MONOCHROME1') {
    for (let i = 0; i < values.length; i++) values[i] = 1 - values[i];
  }
  return { width: cols, height: rows, data: values };
}

function parse(bytes: Uint8Array, hint: string, maxBytes: number, maxPixels: number): dicomParser.DataSet {
  try {
    return parseDataSet(bytes, maxBytes, undefined, maxPixels);
  } catch (e) {
    // A deflate bomb is not corrupt: say what it would cost and which limit holds it.
    if (e instanceof InflateLimitError) throw new DataError(`${hint}: ${e.message}`, hint, e.field);
    throw new DataError(`${hint}: corrupt or truncated DICOM (${parserMessage(e)})`, hint);
  }
}

/** Room a deflated data set gets besides one frame of its declared pixels: header, overlays, padding. */
export const DEFLATE_SLACK_BYTES = 8 << 20;

/** A deflated data set refused before (or while) inflating: a decompression bomb, or over data.maxImagePixels. */
export class InflateLimitError extends Error {
  constructor(message: string, readonly field?: string) {
    super(message);
    this.name = 'InflateLimitError';
  }
}

/**
 * dicom-parser on a Part 10 file (preamble + 'DICM') or a bare data set (assumed implicit little
 * endian, the default syntax): the one way train, explain and info read DICOM. `untilTag` stops
 * before the pixel data (header reads). Throws dicom-parser's own errors (strings or objects), or
 * an InflateLimitError.
 *
 * A deflated data set is inflated at most to what its first frame needs, Rows x Columns x
 * SamplesPerPixel x BitsAllocated/8 read from the start of the stream, plus DEFLATE_SLACK_BYTES
 * (never past maxBytes), so a small file cannot expand to hundreds of MB. With `maxPixels`, Rows x
 * Columns above it is refused before the pixel data is inflated.
 */
export function parseDataSet(bytes: Uint8Array, maxBytes: number, untilTag?: string, maxPixels?: number): dicomParser.DataSet {
  // dicom-parser copies with Buffer methods when inflating deflated data sets.
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const part10 = buf.length >= 132 && buf.toString('latin1', 128, 132) === 'DICM';
  const opts: dicomParser.ParseDicomOptions = {
    ...(part10 ? {} : { TransferSyntaxUID: IMPLICIT_LE }), ...(untilTag ? { untilTag } : {}),
  };
  const inflater = (arr: Uint8Array, position: number): Uint8Array => {
    const head = Buffer.from(arr.buffer, arr.byteOffset, position);
    const deflated = Buffer.from(arr.buffer, arr.byteOffset + position, arr.byteLength - position);
    const cap = inflateCap(declaredFrame(buf, opts, head, deflated), maxBytes, maxPixels);
    let inflated: Buffer;
    try {
      inflated = zlib.inflateRawSync(deflated, { maxOutputLength: cap.bytes });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw new InflateLimitError(cap.refusal);
      throw new Error(`cannot inflate the deflated data set (${(e as Error).message})`);
    }
    return Buffer.concat([head, inflated]);
  };
  return dicomParser.parseDicom(buf, { ...opts, inflater });
}

interface DeclaredFrame {
  rows: number;
  cols: number;
  samples: number;
  bits: number;
}

/**
 * Rows, Columns, SamplesPerPixel and BitsAllocated of a deflated data set, read by inflating ever
 * longer prefixes of the stream (1 KiB, 8 KiB, ... of deflated bytes, each inflating to at most
 * DEFLATE_SLACK_BYTES) until the pixel data tag is reached. Undefined when they are not found
 * there (the caller then falls back to a looser cap) or the stream is corrupt (the full inflate
 * then says so).
 */
function declaredFrame(buf: Buffer, opts: dicomParser.ParseDicomOptions, head: Buffer, deflated: Buffer): DeclaredFrame | undefined {
  for (let k = 1024; ; k *= 8) {
    const end = Math.min(k, deflated.length);
    let partial: Buffer;
    try {
      partial = zlib.inflateRawSync(deflated.subarray(0, end), { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: DEFLATE_SLACK_BYTES });
    } catch {
      return undefined;
    }
    const prefix = Buffer.concat([head, partial]);
    let ds: dicomParser.DataSet | undefined;
    try {
      ds = dicomParser.parseDicom(buf, { ...opts, untilTag: 'x7fe00010', inflater: () => prefix });
    } catch (e) {
      // The prefix ends inside an element: what was read before it is still there.
      ds = (e as { dataSet?: dicomParser.DataSet } | null)?.dataSet;
    }
    const done = ds?.elements.x7fe00010 !== undefined || end === deflated.length;
    if (done) {
      const rows = ds?.uint16('x00280010');
      const cols = ds?.uint16('x00280011');
      if (!ds || !rows || !cols) return undefined;
      return { rows, cols, samples: ds.uint16('x00280002') ?? 1, bits: ds.uint16('x00280100') ?? 16 };
    }
  }
}

/** The most a deflated data set may inflate to, and the refusal when it inflates to more. */
function inflateCap(frame: DeclaredFrame | undefined, maxBytes: number, maxPixels: number | undefined): { bytes: number; refusal: string } {
  const over = (n: number): string => `deflated data set inflates to more than ${formatBytes(n)}`;
  if (frame) {
    if (maxPixels !== undefined) {
      const tooBig = pixelLimitProblem(frame.cols, frame.rows, maxPixels);
      if (tooBig) throw new InflateLimitError(`${tooBig} by its Rows/Columns`, 'Rows');
    }
    const samples = Math.max(1, frame.samples);
    const bytesPer = Math.max(1, Math.ceil(frame.bits / 8));
    const need = frame.rows * frame.cols * samples * bytesPer + DEFLATE_SLACK_BYTES;
    if (need < maxBytes) {
      const what = `${frame.cols}x${frame.rows} pixels of ${samples} x ${bytesPer * 8} bits`;
      return { bytes: need, refusal: `${over(need)}, the most its ${what} and ${formatBytes(DEFLATE_SLACK_BYTES)} of other elements can take` };
    }
  } else if (maxPixels !== undefined) {
    const need = maxPixels * 3 * 2 + DEFLATE_SLACK_BYTES;
    if (need < maxBytes) {
      return { bytes: need, refusal: `${over(need)}, the most the ${formatPixels(maxPixels)} limit (data.maxImagePixels) allows (no Rows/Columns before its pixel data)` };
    }
  }
  return { bytes: maxBytes, refusal: `${over(maxBytes)} (data.maxImageBytes)` };
}

function transferSyntax(ds: dicomParser.DataSet): string {
  // Without a Part 10 header dicom-parser stores the assumed syntax as a synthetic `Value`.
  const el = ds.elements.x00020010 as (dicomParser.Element & { Value?: unknown }) | undefined;
  if (!el) return IMPLICIT_LE;
  const raw = typeof el.Value === 'string' ? el.Value : ds.string('x00020010') ?? IMPLICIT_LE;
  return raw.replace(/\0/g, '').trim();
}

/** dicom-parser throws strings, Errors, or {exception, dataSet} objects: the text of any of them. */
export function parserMessage(e: unknown): string {
  let msg: string;
  if (typeof e === 'string') msg = e;
  else if (e instanceof Error) msg = e.message;
  else if (typeof e === 'object' && e !== null && 'exception' in e) return parserMessage((e as { exception: unknown }).exception);
  else if (typeof e === 'object' && e !== null && 'message' in e) msg = String((e as { message: unknown }).message);
  else msg = typeof e === 'object' ? 'unknown parser error' : String(e);
  return msg.split('\n')[0].replace(/^[A-Za-z]+\.\w+: /, '');
}

function readNative(
  ds: dicomParser.DataSet, el: dicomParser.Element, rows: number, cols: number, photometric: string,
  bigEndian: boolean, fail: (msg: string, field?: string) => DataError,
): Float32Array {
  if (el.encapsulatedPixelData) throw fail('encapsulated PixelData in an uncompressed transfer syntax', 'PixelData');
  const bitsAllocated = ds.uint16('x00280100') ?? 16;
  if (bitsAllocated !== 8 && bitsAllocated !== 16) throw fail(`BitsAllocated ${bitsAllocated} not supported (8 or 16)`, 'BitsAllocated');
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  if (bitsStored < 1 || bitsStored > bitsAllocated) throw fail(`BitsStored ${bitsStored} inconsistent with BitsAllocated ${bitsAllocated}`, 'BitsStored');
  const signed = ds.uint16('x00280103') === 1;
  const spp = ds.uint16('x00280002') ?? 1;
  if (spp !== 1 && spp !== 3) throw fail(`SamplesPerPixel ${spp} not supported (1 or 3)`, 'SamplesPerPixel');
  const planar = ds.uint16('x00280006') === 1;

  const n = rows * cols;
  const bytesPer = bitsAllocated >> 3;
  const needed = n * spp * bytesPer;
  const arr = ds.byteArray;
  const available = Math.min(el.length, arr.length - el.dataOffset);
  if (available < needed) {
    throw fail(`truncated PixelData: ${Math.max(0, available)} bytes present, ${needed} needed for ${cols}x${rows}x${spp} at ${bitsAllocated} bits`, 'PixelData');
  }
  const view = new DataView(arr.buffer, arr.byteOffset + el.dataOffset, needed);
  const mask = bitsStored >= 32 ? 0xffffffff : (1 << bitsStored) - 1;
  const signBit = 1 << (bitsStored - 1);
  const sample = (k: number): number => {
    let v = bytesPer === 1 ? view.getUint8(k) : view.getUint16(k * 2, !bigEndian);
    // Bits above BitsStored may hold overlays or garbage: mask them, then sign-extend.
    v &= mask;
    if (signed && (v & signBit) !== 0) v -= mask + 1;
    return v;
  };

  const out = new Float32Array(n);
  if (spp === 1) {
    for (let i = 0; i < n; i++) out[i] = sample(i);
  } else if (photometric.startsWith('YBR')) {
    // Y is already luma.
    for (let i = 0; i < n; i++) out[i] = sample(planar ? i : i * 3);
  } else {
    for (let i = 0; i < n; i++) {
      const r = sample(planar ? i : i * 3);
      const g = sample(planar ? n + i : i * 3 + 1);
      const b = sample(planar ? 2 * n + i : i * 3 + 2);
      out[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    }
  }
  return out;
}

async function decodeJpegFrame(
  ds: dicomParser.DataSet, el: dicomParser.Element, rows: number, cols: number,
  fail: (msg: string, field?: string) => DataError,
): Promise<Float32Array> {
  if (!el.encapsulatedPixelData) throw fail('JPEG transfer syntax but PixelData is not encapsulated', 'PixelData');
  let frame: Uint8Array;
  try {
    frame = el.basicOffsetTable && el.basicOffsetTable.length > 0
      ? dicomParser.readEncapsulatedImageFrame(ds, el, 0)
      : dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, el.fragments?.length ?? 1);
  } catch (e) {
    throw fail(`cannot read encapsulated JPEG frame (${parserMessage(e)})`, 'PixelData');
  }
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await sharp(frame).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw fail(`cannot decode JPEG frame (${parserMessage(e)})`, 'PixelData');
  }
  if (decoded.info.width !== cols || decoded.info.height !== rows) {
    throw fail(`JPEG frame is ${decoded.info.width}x${decoded.info.height} but Rows/Columns say ${cols}x${rows}`, 'PixelData');
  }
  const n = rows * cols;
  const ch = decoded.info.channels;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = decoded.data[i * ch];
  return out;
}

/** DICOM PS3.3 C.11.2.1.2.1 linear VOI function, output scaled to [0,1]. */
export function applyWindow(values: Float32Array, center: number, width: number): void {
  const lo = center - 0.5 - (width - 1) / 2;
  const hi = center - 0.5 + (width - 1) / 2;
  const c = center - 0.5;
  const w = width - 1;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x <= lo) values[i] = 0;
    else if (x > hi) values[i] = 1;
    else values[i] = w > 0 ? (x - c) / w + 0.5 : 1;
  }
}

function minMax(values: Float32Array): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo;
  if (!(span > 0)) {
    values.fill(0);
    return;
  }
  const inv = 1 / span;
  for (let i = 0; i < values.length; i++) values[i] = (values[i] - lo) * inv;
}

function finiteOr(v: number | undefined, fallback: number): number {
  return v !== undefined && Number.isFinite(v) ? v : fallback;
}
