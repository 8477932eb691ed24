// Image decoding into one grey float plane, plus the geometric and intensity preprocessing every
// encoder shares (resize-and-pad, normalisation). Decoding accepts PNG/JPEG (via sharp) and
// uncompressed DICOM (via ./dicom); every failure on user data is a DataError naming the file.
// Limits hold before allocation: the file's size from stat (only regular files are read), the
// image's width x height from its header (data.maxImagePixels).
import fs from 'node:fs/promises';
import sharp from 'sharp';
import { DataError } from '../errors';
import { decodeDicom, looksLikeDicom } from './dicom';
import { DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS, describeKind, formatBytes, pixelLimitProblem } from './input-guard';

export interface ImageLimits {
  /** Largest width x height the header may declare (default 20 MP). */
  maxPixels: number;
  /** Largest file size read (default 512 MiB). */
  maxBytes: number;
}

export function resolveImageLimits(given: Partial<ImageLimits> = {}): ImageLimits {
  return { maxPixels: given.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS, maxBytes: given.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES };
}

export interface GreyImage {
  width: number;
  height: number;
  /** Row-major, values in [0,1] (after `normalize`, the normalised range instead). */
  data: Float32Array;
}

export interface ByteImage {
  width: number;
  height: number;
  data: Uint8Array;
}

// ITU-R BT.601 luma weights: the convention of PIL's convert('L') and of torchvision's
// Grayscale, which is what the public CXR pipelines fed their encoders.
const LUMA_R = 0.299;
const LUMA_G = 0.587;
const LUMA_B = 0.114;

/**
 * Decodes PNG, JPEG or DICOM bytes to a grey image in [0,1]. `hint` names the file in errors. An
 * image whose header declares more than limits.maxPixels is refused before it is decoded.
 */
export async function decodeImage(bytes: Uint8Array, hint = 'image', limits: Partial<ImageLimits> = {}): Promise<GreyImage> {
  const lim = resolveImageLimits(limits);
  if (bytes.length === 0) throw new DataError(`${hint}: empty file`, hint);
  if (looksLikeDicom(bytes, hint)) return decodeDicom(bytes, hint, lim);
  return decodeRaster(bytes, hint, lim.maxPixels);
}

/**
 * Reads and decodes one image file; an unreadable file is a DataError naming it. Only a regular
 * file of at most limits.maxBytes is read (a device such as /dev/zero, a FIFO or a folder is not).
 */
export async function decodeImageFile(file: string, limits: Partial<ImageLimits> = {}): Promise<GreyImage> {
  const lim = resolveImageLimits(limits);
  let bytes: Buffer;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new DataError(`${file}: the image is ${describeKind(st)}, not a regular file`, file, 'image');
    if (st.size > lim.maxBytes) {
      throw new DataError(`${file}: the image file is ${formatBytes(st.size)}, more than the ${formatBytes(lim.maxBytes)} limit (data.maxImageBytes)`, file, 'image');
    }
    const handle = await fs.open(file, 'r');
    try {
      // Read at most the limit even if the file grew since stat.
      const buf = Buffer.allocUnsafe(Math.min(st.size, lim.maxBytes));
      let n = 0;
      while (n < buf.length) {
        const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      bytes = buf.subarray(0, n);
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${file}: cannot read image file (${errorText(e)})`, file);
  }
  return decodeImage(bytes, file, lim);
}

async function decodeRaster(bytes: Uint8Array, hint: string, maxPixels: number): Promise<GreyImage> {
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>["metadata"]>>;
  try {
    meta = await sharp(bytes).metadata();
  } catch (e) {
    throw new DataError(`${hint}: cannot decode image (${oneLine(errorText(e))})`, hint);
  }
  // The header's size, before a single pixel is decoded.
  if (meta.width && meta.height) {
    const tooBig = pixelLimitProblem(meta.width, meta.height, maxPixels);
    if (tooBig) throw new DataError(`${hint}: ${tooBig}`, hint, 'image');
  }
  try {
    const sixteen = meta.depth === 'ushort' || meta.depth === 'short';
    const grey = (meta.channels ?? 3) <= 2;
    // sharp 0.35 widens grey to sRGB and narrows 16-bit to 8 unless the colourspace is pinned.
    const space = sixteen ? (grey ? 'grey16' : 'rgb16') : grey ? 'b-w' : 'srgb';
    // limitInputPixels repeats the check inside libvips for formats whose metadata lacks a size.
    const { data, info } = await sharp(bytes, { limitInputPixels: Math.max(1, Math.floor(maxPixels)) })
      .autoOrient()
      .toColourspace(space)
      .raw(sixteen ? { depth: 'ushort' } : undefined)
      .toBuffer({ resolveWithObject: true });
    const samples = sixteen
      ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength >> 1)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return toGrey(samples, info.width, info.height, info.channels, sixteen ? 65535 : 255);
  } catch (e) {
    throw new DataError(`${hint}: cannot decode image (${oneLine(errorText(e))})`, hint);
  }
}

/** Interleaved 1-4 channel samples -> grey in [0,1]; alpha is ignored (radiographs carry none). */
export function toGrey(
  samples: ArrayLike<number>, width: number, height: number, channels: number, maxValue: number,
): GreyImage {
  const n = width * height;
  const out = new Float32Array(n);
  const inv = 1 / maxValue;
  if (channels <= 2) {
    for (let i = 0; i < n; i++) out[i] = samples[i * channels] * inv;
  } else {
    for (let i = 0, j = 0; i < n; i++, j += channels) {
      out[i] = (LUMA_R * samples[j] + LUMA_G * samples[j + 1] + LUMA_B * samples[j + 2]) * inv;
    }
  }
  return { width, height, data: out };
}

/** PNG bytes of a grey image ([0,1] floats are clamped and rounded to 8 bits). */
export async function encodePng(img: GreyImage | ByteImage): Promise<Buffer> {
  const n = img.width * img.height;
  if (img.data.length !== n) throw new Error(`encodePng: data length ${img.data.length} != ${img.width}x${img.height}`);
  let bytes: Uint8Array;
  if (img.data instanceof Uint8Array) {
    bytes = img.data;
  } else {
    bytes = new Uint8Array(n);
    const d = img.data;
    for (let i = 0; i < n; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, d[i])) * 255);
  }
  // Pinning b-w keeps a one-channel PNG (sharp would otherwise widen to sRGB).
  return sharp(bytes, { raw: { width: img.width, height: img.height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

export interface PadPlacement {
  /** Size of the resized image inside the square canvas. */
  width: number;
  height: number;
  /** Offset of its top-left corner in the canvas. */
  left: number;
  top: number;
}

/** Where resizeAndPad puts an image of the given size: callers map boxes and masks with it. */
export function padPlacement(width: number, height: number, size: number): PadPlacement {
  const long = Math.max(width, height);
  const w = Math.max(1, Math.round((width * size) / long));
  const h = Math.max(1, Math.round((height * size) / long));
  return { width: w, height: h, left: (size - w) >> 1, top: (size - h) >> 1 };
}

/**
 * Keeps the aspect ratio, scales the longer side to `size` and pads the short side symmetrically
 * with 0. Bilinear when enlarging or shrinking mildly; exact area averaging when shrinking by 2x
 * or more so a 3000 px film reduced to 128 px does not alias.
 */
export function resizeAndPad(img: GreyImage, size: number): GreyImage {
  if (!Number.isInteger(size) || size < 1) throw new Error(`resizeAndPad: size must be a positive integer, got ${size}`);
  const p = padPlacement(img.width, img.height, size);
  const resized = resize(img, p.width, p.height);
  if (p.width === size && p.height === size) return resized;
  const out = new Float32Array(size * size);
  for (let y = 0; y < p.height; y++) {
    out.set(resized.data.subarray(y * p.width, (y + 1) * p.width), (y + p.top) * size + p.left);
  }
  return { width: size, height: size, data: out };
}

/** Separable resize to exactly width x height (bilinear, or area averaging per axis when shrinking >= 2x). */
export function resize(img: GreyImage, width: number, height: number): GreyImage {
  if (img.width === width && img.height === height) {
    return { width, height, data: new Float32Array(img.data) };
  }
  const xs = axisWeights(img.width, width);
  const ys = axisWeights(img.height, height);
  // Horizontal pass first: img.height rows of `width`, then vertical.
  const tmp = new Float32Array(img.height * width);
  const src = img.data;
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width;
    const orow = y * width;
    for (let x = 0; x < width; x++) {
      let acc = 0;
      const start = xs.start[x];
      const base = xs.offset[x];
      for (let k = 0; k < xs.count[x]; k++) acc += src[row + start + k] * xs.weight[base + k];
      tmp[orow + x] = acc;
    }
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const start = ys.start[y];
    const base = ys.offset[y];
    const orow = y * width;
    for (let k = 0; k < ys.count[y]; k++) {
      const wgt = ys.weight[base + k];
      const trow = (start + k) * width;
      for (let x = 0; x < width; x++) out[orow + x] += tmp[trow + x] * wgt;
    }
  }
  return { width, height, data: out };
}

interface AxisWeights {
  start: Int32Array;
  count: Int32Array;
  offset: Int32Array;
  weight: Float32Array;
}

/** For each output index along one axis: the contiguous source taps and their weights (sum 1). */
function axisWeights(n: number, m: number): AxisWeights {
  const scale = n / m;
  const start = new Int32Array(m);
  const count = new Int32Array(m);
  const offset = new Int32Array(m);
  const weights: number[] = [];
  for (let o = 0; o < m; o++) {
    offset[o] = weights.length;
    if (scale >= 2) {
      // Area: output pixel o covers source interval [o*scale, (o+1)*scale).
      const a = o * scale;
      const b = Math.min(n, (o + 1) * scale);
      const i0 = Math.floor(a);
      const i1 = Math.min(n, Math.ceil(b));
      start[o] = i0;
      count[o] = i1 - i0;
      for (let i = i0; i < i1; i++) weights.push((Math.min(i + 1, b) - Math.max(i, a)) / (b - a));
    } else {
      // Bilinear with pixel centres aligned (align_corners = false), clamped at the edges.
      const s = Math.min(n - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const i0 = Math.floor(s);
      const f = s - i0;
      start[o] = i0;
      if (f > 0 && i0 + 1 < n) {
        count[o] = 2;
        weights.push(1 - f, f);
      } else {
        count[o] = 1;
        weights.push(1);
      }
    }
  }
  return { start, count, offset, weight: Float32Array.from(weights) };
}

export interface NormalizeOptions {
  mean?: number;
  std?: number;
}

/** (x - mean) / std; the defaults (0.5, 0.5) map [0,1] to [-1,1] as MGCA does. */
export function normalize(img: GreyImage, opts: NormalizeOptions = {}): GreyImage {
  const out = new Float32Array(img.data);
  normalizeInPlace(out, opts);
  return { width: img.width, height: img.height, data: out };
}

export function normalizeInPlace(data: Float32Array, opts: NormalizeOptions = {}): void {
  const mean = opts.mean ?? 0.5;
  const std = opts.std ?? 0.5;
  if (!(std > 0)) throw new Error(`normalize: std must be > 0, got ${std}`);
  const inv = 1 / std;
  for (let i = 0; i < data.length; i++) data[i] = (data[i] - mean) * inv;
}

/**
 * sharp's messages span lines (libvips repeats each warning, and "Warning treated as error" comes
 * first): one line, each distinct part once, so a record's reason stays one line in info and events.
 */
export function oneLine(text: string): string {
  return [...new Set(text.split('\n').map((l) => l.trim()).filter(Boolean))].join('; ');
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  if (typeof e === 'object' && e !== null && 'exception' in e) return errorText((e as { exception: unknown }).exception);
  return String(e);
}
