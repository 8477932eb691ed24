// Seeded image augmentation for contrastive pretraining: random resized crop, a small affine and
// brightness/contrast jitter, composed into ONE inverse mapping so the image is resampled once.
// No horizontal flip: it would swap anatomical sides and contradict "left"/"right" in the report.
import { ConfigError } from '../errors';
import type { Rng } from '../rng';
import type { GreyImage } from './image-io';

export interface AugmentConfig {
  enabled: boolean;
  /** Area fraction of the random crop, [min, max] in (0, 1]. */
  cropScale: [number, number];
  /** Aspect ratio (w/h) of the random crop, [min, max] > 0; drawn log-uniformly. */
  cropRatio: [number, number];
  /** Rotation drawn uniformly in [-rotation, rotation] degrees. */
  rotation: number;
  /** Translation drawn uniformly in [-translate, translate] times the image side. */
  translate: number;
  /** Zoom factor range [min, max] > 0. */
  scale: [number, number];
  /** Multiplicative brightness drawn in [1 - brightness, 1 + brightness]. */
  brightness: number;
  /** Contrast about the image mean drawn in [1 - contrast, 1 + contrast]. */
  contrast: number;
}

// Close to MGCA's RandomCrop(224 of 256) + RandomAffine(10 deg, 0.0625, 0.9-1.1) + ColorJitter(0.2).
export const DEFAULT_AUGMENT: Readonly<AugmentConfig> = Object.freeze({
  enabled: true,
  cropScale: [0.75, 1] as [number, number],
  cropRatio: [0.9, 1.1] as [number, number],
  rotation: 10,
  translate: 0.0625,
  scale: [0.9, 1.1] as [number, number],
  brightness: 0.2,
  contrast: 0.2,
});

/** Fills defaults and validates; a bad field is a ConfigError naming `augment.<field>`. */
export function resolveAugmentConfig(partial: Partial<AugmentConfig> = {}): AugmentConfig {
  const c: AugmentConfig = {
    ...DEFAULT_AUGMENT,
    cropScale: [...DEFAULT_AUGMENT.cropScale],
    cropRatio: [...DEFAULT_AUGMENT.cropRatio],
    scale: [...DEFAULT_AUGMENT.scale],
    ...partial,
  };
  const range = (name: keyof AugmentConfig, r: unknown, lo: number, hi: number): void => {
    if (!Array.isArray(r) || r.length !== 2 || !r.every((v) => typeof v === 'number' && Number.isFinite(v))
      || r[0] > r[1] || r[0] <= lo || r[1] > hi) {
      throw new ConfigError(`augment.${name} must be [min, max] with ${lo} < min <= max <= ${hi}, got ${JSON.stringify(r)}`, `augment.${name}`);
    }
  };
  const scalar = (name: keyof AugmentConfig, v: unknown, hi: number): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > hi) {
      throw new ConfigError(`augment.${name} must be a number in [0, ${hi}], got ${JSON.stringify(v)}`, `augment.${name}`);
    }
  };
  if (typeof c.enabled !== 'boolean') throw new ConfigError(`augment.enabled must be true or false`, 'augment.enabled');
  range('cropScale', c.cropScale, 0, 1);
  range('cropRatio', c.cropRatio, 0, Infinity);
  range('scale', c.scale, 0, Infinity);
  scalar('rotation', c.rotation, 180);
  scalar('translate', c.translate, 1);
  scalar('brightness', c.brightness, 1);
  scalar('contrast', c.contrast, 1);
  return c;
}

/** The random draws of one augmentation, exposed so tests and explainers can reproduce it. */
export interface AugmentParams {
  crop: { x: number; y: number; w: number; h: number };
  angle: number;
  zoom: number;
  shift: { x: number; y: number };
  brightness: number;
  contrast: number;
}

/** Draws every parameter in a fixed order, whatever the config, so a seed always means the same stream. */
export function drawAugmentParams(width: number, height: number, rng: Rng, opts: AugmentConfig): AugmentParams {
  const area = rng.uniform(opts.cropScale[0], opts.cropScale[1]);
  const ratio = Math.exp(rng.uniform(Math.log(opts.cropRatio[0]), Math.log(opts.cropRatio[1])));
  const w = Math.min(1, Math.sqrt(area * ratio)) * width;
  const h = Math.min(1, Math.sqrt(area / ratio)) * height;
  const x = rng.uniform(0, 1) * (width - w);
  const y = rng.uniform(0, 1) * (height - h);
  const angle = (rng.uniform(-opts.rotation, opts.rotation) * Math.PI) / 180;
  const zoom = rng.uniform(opts.scale[0], opts.scale[1]);
  const shift = { x: rng.uniform(-opts.translate, opts.translate) * width, y: rng.uniform(-opts.translate, opts.translate) * height };
  const brightness = rng.uniform(1 - opts.brightness, 1 + opts.brightness);
  const contrast = rng.uniform(1 - opts.contrast, 1 + opts.contrast);
  return { crop: { x, y, w, h }, angle, zoom, shift, brightness, contrast };
}

/**
 * Returns a new augmented image of the same size (or `img` itself when disabled). Pixels mapped
 * from outside the source are 0, the same black as resize-and-pad's padding.
 */
export function augment(img: GreyImage, rng: Rng, opts: AugmentConfig): GreyImage {
  if (!opts.enabled) return img;
  return applyAugment(img, drawAugmentParams(img.width, img.height, rng, opts));
}

export function applyAugment(img: GreyImage, p: AugmentParams): GreyImage {
  const { width: W, height: H, data: src } = img;
  const out = new Float32Array(W * H);
  const cx = W / 2;
  const cy = H / 2;
  const cos = Math.cos(-p.angle);
  const sin = Math.sin(-p.angle);
  const inv = 1 / p.zoom;
  const kx = p.crop.w / W;
  const ky = p.crop.h / H;
  // Output pixel centre -> undo shift/zoom/rotation about the centre -> crop frame -> source pixel.
  // The map is affine, so walk it incrementally along each row.
  const ax = cos * inv * kx; // d(source x)/d(output x)
  const ay = sin * inv * ky; // d(source y)/d(output x)
  for (let y = 0; y < H; y++) {
    const dy = y + 0.5 - cy - p.shift.y;
    const dx0 = 0.5 - cx - p.shift.x;
    let sx = p.crop.x + (cx + (cos * dx0 - sin * dy) * inv) * kx - 0.5;
    let sy = p.crop.y + (cy + (sin * dx0 + cos * dy) * inv) * ky - 0.5;
    const row = y * W;
    for (let x = 0; x < W; x++, sx += ax, sy += ay) {
      out[row + x] = sampleZero(src, W, H, sx, sy);
    }
  }
  jitter(out, p.brightness, p.contrast);
  return { width: W, height: H, data: out };
}

function sampleZero(src: Float32Array, W: number, H: number, sx: number, sy: number): number {
  if (sx <= -1 || sy <= -1 || sx >= W || sy >= H) return 0;
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const fx = sx - x0;
  const fy = sy - y0;
  const x1 = x0 + 1;
  const y1 = y0 + 1;
  const inX0 = x0 >= 0;
  const inX1 = x1 < W;
  const inY0 = y0 >= 0;
  const inY1 = y1 < H;
  let v = 0;
  if (inY0) {
    const r = y0 * W;
    if (inX0) v += src[r + x0] * (1 - fx) * (1 - fy);
    if (inX1 && fx > 0) v += src[r + x1] * fx * (1 - fy);
  }
  if (inY1 && fy > 0) {
    const r = y1 * W;
    if (inX0) v += src[r + x0] * (1 - fx) * fy;
    if (inX1 && fx > 0) v += src[r + x1] * fx * fy;
  }
  return v;
}

function jitter(data: Float32Array, brightness: number, contrast: number): void {
  if (brightness === 1 && contrast === 1) return;
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i];
  const mean = sum / data.length;
  for (let i = 0; i < data.length; i++) {
    const v = brightness * ((data[i] - mean) * contrast + mean);
    data[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}
