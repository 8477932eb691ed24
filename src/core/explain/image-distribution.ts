// Whether an image looks like the images a model was trained on, judged from the pixels the model
// sees (resized and padded), not from its embeddings: a model trained on synthetic radiographs
// spreads their embeddings over the sphere, so a real radiograph's embedding lands among them
// (measured on the bundled model: centroid cosine, nearest-neighbour cosine and region-feature
// z-scores all overlapped). What does separate them is layout and texture: where the image is
// bright, and how much it varies from pixel to pixel at four scales. The training images are
// summarised at export time as the mean and shrunk inverse covariance of those statistics; an
// image whose Mahalanobis distance exceeds every held-out training image's by a margin is
// flagged, and the explanation says so instead of drawing a flat map without comment.
import { DataError } from '../errors';
import { resizeAndPad, type GreyImage } from '../data/image-io';
import type { ImageDistributionCheck } from '../../protocol/explain';

/**
 * Images are summarised at this size, resized and padded as a model sees them, whatever the
 * model's own input size (so a 32 px test model is judged as a 224 px one).
 */
export const STATISTIC_IMAGE_SIZE = 128;
/** The statistic this module computes; metadata naming another one is not read. */
export const PIXEL_STATISTIC = 'layout8-texture4x4s4';
const LAYOUT_CELLS = 8;
const TEXTURE_BLOCKS = 4;
const TEXTURE_SCALES = 4;
/** The coarsest scale still has two pixels per texture block. */
const MIN_SIZE = 2 * TEXTURE_BLOCKS * 2 ** (TEXTURE_SCALES - 1);
export const STATISTIC_LENGTH = LAYOUT_CELLS ** 2 + TEXTURE_SCALES * TEXTURE_BLOCKS ** 2;

/** Metadata key 'image_distribution'. */
export interface ImageDistribution {
  /** What the images were ("synthetic radiographs (reclf synth), 800 train images"). */
  source: string;
  statistic: typeof PIXEL_STATISTIC;
  /** Mean of the training images' statistics [F]. */
  mean: number[];
  /** Inverse of their shrunk covariance, row-major [F * F]. */
  precision: number[];
  /** Distance above which an image counts as unlike them. */
  threshold: number;
  /** The largest distance among the held-out images the threshold was set from. */
  held_out_max: number;
  /** Images the mean and covariance were fitted on. */
  images: number;
}

/** Default shrinkage of the covariance towards its mean variance (128 statistics, hundreds of images). */
export const DISTRIBUTION_SHRINKAGE = 0.1;
/** The threshold is the farthest held-out training image's distance times this. */
export const DISTRIBUTION_MARGIN = 1.25;

interface SquareImage { width: number; height: number; data: ArrayLike<number> }

function halve(a: Float64Array, s: number): Float64Array {
  const h = s >> 1;
  const o = new Float64Array(h * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < h; x++) {
      const i = 2 * y * s + 2 * x;
      o[y * h + x] = (a[i] + a[i + 1] + a[i + s] + a[i + s + 1]) / 4;
    }
  }
  return o;
}

/** The statistics of a decoded image (any size, values in [0, 1]), resized and padded to STATISTIC_IMAGE_SIZE. */
export function pixelStatistics(img: GreyImage): Float64Array {
  return squareStatistics(resizeAndPad(img, STATISTIC_IMAGE_SIZE));
}

/**
 * Statistics of a square image with values in [0, 1]: the mean of each cell of an 8x8 grid
 * (layout), then, at four scales (the image, halved three times), the mean absolute difference
 * between neighbouring pixels in each block of a 4x4 grid (texture).
 */
export function squareStatistics(img: SquareImage): Float64Array {
  const s0 = img.width;
  if (img.height !== s0 || s0 < MIN_SIZE || img.data.length !== s0 * s0) {
    throw new RangeError(`squareStatistics: need a square image of at least ${MIN_SIZE} px, got ${img.width}x${img.height}`);
  }
  const out = new Float64Array(STATISTIC_LENGTH);
  const layout = out.subarray(0, LAYOUT_CELLS ** 2);
  const counts = new Float64Array(layout.length);
  for (let y = 0; y < s0; y++) {
    const cy = Math.floor((y * LAYOUT_CELLS) / s0);
    for (let x = 0; x < s0; x++) {
      const c = cy * LAYOUT_CELLS + Math.floor((x * LAYOUT_CELLS) / s0);
      layout[c] += img.data[y * s0 + x];
      counts[c]++;
    }
  }
  for (let c = 0; c < layout.length; c++) layout[c] /= counts[c];
  let a: Float64Array = Float64Array.from(img.data);
  let s = s0;
  for (let scale = 0; scale < TEXTURE_SCALES; scale++) {
    const tex = out.subarray(layout.length + scale * TEXTURE_BLOCKS ** 2, layout.length + (scale + 1) * TEXTURE_BLOCKS ** 2);
    const n = new Float64Array(tex.length);
    for (let y = 0; y < s - 1; y++) {
      const by = Math.floor((y * TEXTURE_BLOCKS) / s);
      for (let x = 0; x < s - 1; x++) {
        const b = by * TEXTURE_BLOCKS + Math.floor((x * TEXTURE_BLOCKS) / s);
        const i = y * s + x;
        tex[b] += Math.abs(a[i + 1] - a[i]) + Math.abs(a[i + s] - a[i]);
        n[b]++;
      }
    }
    for (let b = 0; b < tex.length; b++) tex[b] /= Math.max(n[b], 1);
    if (scale < TEXTURE_SCALES - 1) {
      a = halve(a, s);
      s >>= 1;
    }
  }
  return out;
}

/** Inverse of a symmetric positive-definite matrix [n * n] (Gauss-Jordan with partial pivoting). */
export function invert(m: Float64Array, n: number): Float64Array {
  const w = 2 * n;
  const a = new Float64Array(n * w);
  for (let i = 0; i < n; i++) {
    a.set(m.subarray(i * n, (i + 1) * n), i * w);
    a[i * w + n + i] = 1;
  }
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * w + c]) > Math.abs(a[p * w + c])) p = r;
    if (!(Math.abs(a[p * w + c]) > 1e-300)) throw new RangeError('invert: the matrix is singular');
    if (p !== c) {
      const tmp = a.slice(c * w, (c + 1) * w);
      a.copyWithin(c * w, p * w, (p + 1) * w);
      a.set(tmp, p * w);
    }
    const d = a[c * w + c];
    for (let j = 0; j < w; j++) a[c * w + j] /= d;
    for (let r = 0; r < n; r++) {
      const f = a[r * w + c];
      if (r === c || f === 0) continue;
      for (let j = 0; j < w; j++) a[r * w + j] -= f * a[c * w + j];
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv.set(a.subarray(i * w + n, (i + 1) * w), i * n);
  return inv;
}

/** sqrt((x - mean)^T P (x - mean) / F): about 1 for an image like the training images. */
export function distributionDistance(dist: Pick<ImageDistribution, 'mean' | 'precision'>, x: ArrayLike<number>): number {
  const f = dist.mean.length;
  const z = Float64Array.from({ length: f }, (_, i) => x[i] - dist.mean[i]);
  let s = 0;
  for (let i = 0; i < f; i++) {
    let t = 0;
    for (let j = 0; j < f; j++) t += dist.precision[i * f + j] * z[j];
    s += z[i] * t;
  }
  return Math.sqrt(Math.max(s, 0) / f);
}

const round = (x: number): number => Number(x.toPrecision(6));

/**
 * Fits the mean and shrunk covariance of `fit` (statistics of training images) and sets the
 * threshold from `heldOut` (images of the same distribution the fit did not see).
 */
export function describeDistribution(
  fit: readonly ArrayLike<number>[], heldOut: readonly ArrayLike<number>[], source: string,
  o: { shrinkage?: number; margin?: number } = {},
): ImageDistribution {
  const f = STATISTIC_LENGTH;
  if (fit.length < 2 || heldOut.length < 1) throw new RangeError(`describeDistribution: need at least 2 fitted and 1 held-out image, got ${fit.length} and ${heldOut.length}`);
  if ([...fit, ...heldOut].some((x) => x.length !== f)) throw new RangeError(`describeDistribution: every statistic must have ${f} values`);
  const shrinkage = o.shrinkage ?? DISTRIBUTION_SHRINKAGE;
  const mean = new Float64Array(f);
  for (const x of fit) for (let i = 0; i < f; i++) mean[i] += x[i] / fit.length;
  const cov = new Float64Array(f * f);
  for (const x of fit) {
    for (let i = 0; i < f; i++) {
      const zi = x[i] - mean[i];
      for (let j = 0; j < f; j++) cov[i * f + j] += (zi * (x[j] - mean[j])) / fit.length;
    }
  }
  let trace = 0;
  for (let i = 0; i < f; i++) trace += cov[i * f + i] / f;
  // A floor on the shrinkage target keeps a constant statistic (a black padded corner) invertible.
  const target = Math.max(trace, 1e-8);
  for (let i = 0; i < f * f; i++) cov[i] *= 1 - shrinkage;
  for (let i = 0; i < f; i++) cov[i * f + i] += shrinkage * target;
  const dist = { mean: Array.from(mean, round), precision: Array.from(invert(cov, f), round) };
  const heldOutMax = Math.max(...heldOut.map((x) => distributionDistance(dist, x)));
  return {
    source, statistic: PIXEL_STATISTIC, ...dist,
    threshold: round(heldOutMax * (o.margin ?? DISTRIBUTION_MARGIN)), held_out_max: round(heldOutMax), images: fit.length,
  };
}

/**
 * Reads the optional metadata entry; a malformed one is an error naming the model and the key.
 * An entry of another statistic (the embedding centroid of models exported before this check)
 * claims nothing, so it is not read.
 */
export function readDistribution(meta: Record<string, string>, file: string): ImageDistribution | undefined {
  const raw = meta.image_distribution;
  if (raw === undefined) return undefined;
  const bad = (why: string): never => { throw new DataError(`${file}: ONNX metadata 'image_distribution' ${why}`, file, 'image_distribution'); };
  let v: Partial<ImageDistribution>;
  try {
    v = JSON.parse(raw) as Partial<ImageDistribution>;
  } catch {
    return bad('is not JSON');
  }
  if (typeof v !== 'object' || v === null) return bad('must be an object');
  if (v.statistic !== PIXEL_STATISTIC) return undefined;
  const numbers = (x: unknown, n: number): x is number[] => Array.isArray(x) && x.length === n && x.every((y) => typeof y === 'number' && Number.isFinite(y));
  if (!numbers(v.mean, STATISTIC_LENGTH)) return bad(`needs a mean of ${STATISTIC_LENGTH} numbers`);
  if (!numbers(v.precision, STATISTIC_LENGTH ** 2)) return bad(`needs a precision matrix of ${STATISTIC_LENGTH}x${STATISTIC_LENGTH} numbers`);
  if (typeof v.threshold !== 'number' || !(v.threshold > 0) || !Number.isFinite(v.threshold)) return bad('needs a positive threshold');
  return {
    source: typeof v.source === 'string' ? v.source : 'training images', statistic: PIXEL_STATISTIC,
    mean: v.mean, precision: v.precision, threshold: v.threshold,
    held_out_max: Number(v.held_out_max) || 0, images: Number(v.images) || 0,
  };
}

/** Where one decoded image (values in [0, 1]) lies against the distribution. */
export function checkDistribution(dist: ImageDistribution, image: GreyImage): ImageDistributionCheck {
  const distance = distributionDistance(dist, pixelStatistics(image));
  return { source: dist.source, distance, threshold: dist.threshold, outside: distance > dist.threshold };
}
