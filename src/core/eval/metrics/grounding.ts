// Phrase grounding of one word's attention over the model's region grid against a box or mask
// given in the stored image's pixels. The grid tiles the square model input, into which the image
// was resized and padded (src/core/data/image-io.ts padPlacement), so region geometry is mapped
// back through that placement; regions over padding cover no image at all.

import { padPlacement, type PadPlacement } from '../../data/image-io';
import type { XYWH } from './detection';

export interface GridGeometry {
  rows: number;
  cols: number;
  /** Side of the square model input the grid tiles. */
  inputSize: number;
  imageWidth: number;
  imageHeight: number;
  placement: PadPlacement;
}

export function gridGeometry(imageWidth: number, imageHeight: number, inputSize: number, rows: number, cols: number): GridGeometry {
  for (const [name, v] of [['imageWidth', imageWidth], ['imageHeight', imageHeight], ['inputSize', inputSize], ['rows', rows], ['cols', cols]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`gridGeometry: ${name} must be a positive integer, got ${v}`);
  }
  return { rows, cols, inputSize, imageWidth, imageHeight, placement: padPlacement(imageWidth, imageHeight, inputSize) };
}

export interface MaskImage {
  width: number;
  height: number;
  /** Row-major, non-zero = inside. */
  data: ArrayLike<number>;
}

/** Box [x, y, w, h] or mask, both in the stored image's pixels. */
export type GroundingTarget = { box: XYWH } | { mask: MaskImage };

/** Canvas point -> image point (continuous pixel coordinates). */
function canvasToImage(g: GridGeometry, cx: number, cy: number): [number, number] {
  const p = g.placement;
  return [((cx - p.left) * g.imageWidth) / p.width, ((cy - p.top) * g.imageHeight) / p.height];
}

/** Image point -> canvas point. */
function imageToCanvas(g: GridGeometry, x: number, y: number): [number, number] {
  const p = g.placement;
  return [p.left + (x * p.width) / g.imageWidth, p.top + (y * p.height) / g.imageHeight];
}

function checkTarget(g: GridGeometry, target: GroundingTarget): void {
  if ('mask' in target) {
    const m = target.mask;
    if (m.width !== g.imageWidth || m.height !== g.imageHeight) {
      throw new RangeError(`grounding: mask is ${m.width}x${m.height} but the image is ${g.imageWidth}x${g.imageHeight}`);
    }
    if (m.data.length !== m.width * m.height) throw new RangeError(`grounding: mask data has ${m.data.length} values, expected ${m.width * m.height}`);
  }
}

/** Whether an image point lies in the target: boxes are half-open [x, x+w) x [y, y+h). */
function pointInside(g: GridGeometry, target: GroundingTarget, x: number, y: number): boolean {
  if (x < 0 || y < 0 || x >= g.imageWidth || y >= g.imageHeight) return false;
  if ('box' in target) {
    const [bx, by, bw, bh] = target.box;
    return x >= bx && x < bx + bw && y >= by && y < by + bh;
  }
  const m = target.mask;
  return m.data[Math.floor(y) * m.width + Math.floor(x)] !== 0;
}

function checkAttention(g: GridGeometry, attention: ArrayLike<number>): void {
  if (attention.length !== g.rows * g.cols) {
    throw new RangeError(`grounding: attention has ${attention.length} regions, expected ${g.rows}x${g.cols}`);
  }
}

/** Index (row-major) of the largest attention; the first index wins a tie. */
export function argmaxRegion(attention: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < attention.length; i++) if (attention[i] > attention[best]) best = i;
  return best;
}

/**
 * Pointing game: a hit when the centre of the most-attended region falls inside the target
 * (a centre over padding is a miss). The centre, not any overlap, so that a coarse region
 * touching a box corner does not count.
 */
export function pointingGameHit(attention: ArrayLike<number>, g: GridGeometry, target: GroundingTarget): boolean {
  checkAttention(g, attention);
  checkTarget(g, target);
  const r = argmaxRegion(attention);
  const row = Math.floor(r / g.cols);
  const col = r % g.cols;
  const [x, y] = canvasToImage(g, ((col + 0.5) * g.inputSize) / g.cols, ((row + 0.5) * g.inputSize) / g.rows);
  return pointInside(g, target, x, y);
}

/**
 * Fraction of each region's canvas area that the target covers. Boxes are intersected exactly;
 * a mask is counted per pixel, each pixel assigned to the region under its centre.
 */
export function regionCoverage(g: GridGeometry, target: GroundingTarget): Float64Array {
  checkTarget(g, target);
  const cov = new Float64Array(g.rows * g.cols);
  const rw = g.inputSize / g.cols;
  const rh = g.inputSize / g.rows;
  if ('box' in target) {
    const [bx, by, bw, bh] = target.box;
    const x0 = Math.max(0, bx), y0 = Math.max(0, by);
    const x1 = Math.min(g.imageWidth, bx + bw), y1 = Math.min(g.imageHeight, by + bh);
    if (x1 <= x0 || y1 <= y0) return cov;
    const [cx0, cy0] = imageToCanvas(g, x0, y0);
    const [cx1, cy1] = imageToCanvas(g, x1, y1);
    for (let row = 0; row < g.rows; row++) {
      const oy = Math.max(0, Math.min(cy1, (row + 1) * rh) - Math.max(cy0, row * rh));
      if (oy === 0) continue;
      for (let col = 0; col < g.cols; col++) {
        const ox = Math.max(0, Math.min(cx1, (col + 1) * rw) - Math.max(cx0, col * rw));
        cov[row * g.cols + col] = (ox * oy) / (rw * rh);
      }
    }
    return cov;
  }
  const m = target.mask;
  const pixelArea = (g.placement.width / g.imageWidth) * (g.placement.height / g.imageHeight);
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      if (m.data[y * m.width + x] === 0) continue;
      const [cx, cy] = imageToCanvas(g, x + 0.5, y + 0.5);
      const col = Math.min(g.cols - 1, Math.floor(cx / rw));
      const row = Math.min(g.rows - 1, Math.floor(cy / rh));
      cov[row * g.cols + col] += pixelArea / (rw * rh);
    }
  }
  for (let i = 0; i < cov.length; i++) cov[i] = Math.min(1, cov[i]);
  return cov;
}

/**
 * Share of the word's attention that falls on the target: sum_r a_r * coverage_r / sum_r a_r.
 * Attention need not be normalised; NaN when it sums to zero.
 */
export function attentionMassInside(attention: ArrayLike<number>, g: GridGeometry, target: GroundingTarget): number {
  checkAttention(g, attention);
  const cov = regionCoverage(g, target);
  let inside = 0, total = 0;
  for (let i = 0; i < attention.length; i++) {
    if (attention[i] < 0) throw new RangeError(`attentionMassInside: attention at ${i} is negative (${attention[i]})`);
    inside += attention[i] * cov[i];
    total += attention[i];
  }
  return total > 0 ? inside / total : NaN;
}
