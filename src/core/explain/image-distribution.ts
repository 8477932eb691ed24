// Whether an image looks like the images a model was trained on: the training images' global
// embeddings, summarised at export time as their mean direction and how far from it they go,
// stored in the model's metadata. A real radiograph shown to a model trained on synthetic images
// lands outside, and the explanation says so instead of drawing a flat map without comment.
import { DataError } from '../errors';
import type { ImageDistributionCheck } from '../../protocol/explain';

/** Metadata key 'image_distribution'. */
export interface ImageDistribution {
  /** What the images were ("synthetic (reclf synth)", a dataset folder name). */
  source: string;
  /** Mean direction of the l2-normalised image embeddings (unit length). */
  centroid: number[];
  /** Cosine to the centroid below which an image counts as unlike them (a low quantile of theirs). */
  min_cosine: number;
  /** Images summarised. */
  images: number;
}

export const DISTRIBUTION_QUANTILE = 0.01;

function unit(v: ArrayLike<number>, offset: number, d: number): Float64Array {
  const out = new Float64Array(d);
  let ss = 0;
  for (let k = 0; k < d; k++) ss += v[offset + k] ** 2;
  const s = 1 / Math.sqrt(Math.max(ss, 1e-24));
  for (let k = 0; k < d; k++) out[k] = v[offset + k] * s;
  return out;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += a[k] * b[k];
  return s;
}

/** Summarises n embeddings [n * d]: the centroid of their unit vectors and the `quantile` of their cosines to it. */
export function describeDistribution(embeddings: Float32Array, n: number, d: number, source: string, quantile = DISTRIBUTION_QUANTILE): ImageDistribution {
  if (n < 2 || embeddings.length !== n * d) throw new RangeError(`describeDistribution: need at least 2 embeddings of ${d} values, got ${embeddings.length / d}`);
  const units = Array.from({ length: n }, (_, i) => unit(embeddings, i * d, d));
  const mean = new Float64Array(d);
  for (const u of units) for (let k = 0; k < d; k++) mean[k] += u[k] / n;
  const centroid = unit(mean, 0, d);
  const cos = units.map((u) => dot(u, centroid, d)).sort((a, b) => a - b);
  const at = Math.min(n - 1, Math.max(0, Math.floor(quantile * (n - 1))));
  return { source, centroid: Array.from(centroid, (x) => Math.round(x * 1e6) / 1e6), min_cosine: cos[at], images: n };
}

/** Reads the optional metadata entry; a malformed one is an error naming the model and the key. */
export function readDistribution(meta: Record<string, string>, file: string, dim?: number): ImageDistribution | undefined {
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
  if (!Array.isArray(v.centroid) || v.centroid.length === 0 || !v.centroid.every((x) => typeof x === 'number' && Number.isFinite(x))) return bad('needs a numeric centroid');
  if (dim !== undefined && v.centroid.length !== dim) bad(`has a centroid of ${v.centroid.length} values, the model's embedding has ${dim}`);
  if (typeof v.min_cosine !== 'number' || !(v.min_cosine >= -1 && v.min_cosine <= 1)) return bad('needs min_cosine in [-1, 1]');
  return { source: typeof v.source === 'string' ? v.source : 'training images', centroid: v.centroid, min_cosine: v.min_cosine, images: Number(v.images) || 0 };
}

/** Where one image embedding lies against the distribution. */
export function checkDistribution(dist: ImageDistribution, embedding: ArrayLike<number>): ImageDistributionCheck {
  const d = dist.centroid.length;
  const cosine = dot(unit(embedding, 0, d), dist.centroid, d);
  return { source: dist.source, cosine, threshold: dist.min_cosine, outside: cosine < dist.min_cosine };
}
