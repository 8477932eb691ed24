// Small raster helpers for the synthetic renderer: smooth value noise, anti-aliased line splats
// into a map, separable box blur. All draw their randomness from a passed Rng so the output is a
// function of the seed alone.
import type { Rng } from '../../rng';

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

export function smoothstep(e0: number, e1: number, x: number): number {
  const t = clamp((x - e0) / (e1 - e0), 0, 1);
  return t * t * (3 - 2 * t);
}

/** Smooth value noise on [0,1]^2 with `cells` lattice cells per side; values in [0,1]. */
export class ValueNoise {
  private readonly grid: Float32Array;
  private readonly n: number;

  constructor(rng: Rng, readonly cells: number) {
    this.n = cells + 2;
    this.grid = new Float32Array(this.n * this.n);
    for (let i = 0; i < this.grid.length; i++) this.grid[i] = rng.next();
  }

  at(x: number, y: number): number {
    const gx = clamp(x, 0, 1) * this.cells;
    const gy = clamp(y, 0, 1) * this.cells;
    const ix = Math.floor(gx);
    const iy = Math.floor(gy);
    let fx = gx - ix;
    let fy = gy - iy;
    fx = fx * fx * (3 - 2 * fx);
    fy = fy * fy * (3 - 2 * fy);
    const n = this.n;
    const g = this.grid;
    const i0 = iy * n + ix;
    const a = g[i0] + (g[i0 + 1] - g[i0]) * fx;
    const b = g[i0 + n] + (g[i0 + n + 1] - g[i0 + n]) * fx;
    return a + (b - a) * fy;
  }
}

/** A square float map over [0,1]^2 that line segments are drawn into (max-blended). */
export class SplatMap {
  readonly data: Float32Array;

  constructor(readonly size: number) {
    this.data = new Float32Array(size * size);
  }

  /** Anti-aliased segment of width w (normalised units) and peak value `value`. */
  line(x0: number, y0: number, x1: number, y1: number, w: number, value: number): void {
    const s = this.size;
    const ax = x0 * s - 0.5;
    const ay = y0 * s - 0.5;
    const bx = x1 * s - 0.5;
    const by = y1 * s - 0.5;
    const r = Math.max(0.75, (w * s) / 2);
    const pad = r + 0.5;
    const i0 = Math.max(0, Math.floor(Math.min(ax, bx) - pad));
    const i1 = Math.min(s - 1, Math.ceil(Math.max(ax, bx) + pad));
    const j0 = Math.max(0, Math.floor(Math.min(ay, by) - pad));
    const j1 = Math.min(s - 1, Math.ceil(Math.max(ay, by) + pad));
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy || 1e-9;
    const pad2 = pad * pad;
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) {
        // Distance from the pixel centre to the segment.
        const t = clamp(((i - ax) * dx + (j - ay) * dy) / len2, 0, 1);
        const ex = i - ax - t * dx;
        const ey = j - ay - t * dy;
        const d2 = ex * ex + ey * ey;
        if (d2 >= pad2) continue;
        const v = value * clamp(pad - Math.sqrt(d2), 0, 1);
        const idx = j * s + i;
        if (v > this.data[idx]) this.data[idx] = v;
      }
    }
  }

  /** Bilinear sample at normalised coordinates; 0 outside. */
  at(x: number, y: number): number {
    const s = this.size;
    const gx = x * s - 0.5;
    const gy = y * s - 0.5;
    if (gx < -1 || gy < -1 || gx > s || gy > s) return 0;
    const ix = Math.floor(gx);
    const iy = Math.floor(gy);
    const fx = gx - ix;
    const fy = gy - iy;
    const v00 = this.px(ix, iy);
    const v10 = this.px(ix + 1, iy);
    const v01 = this.px(ix, iy + 1);
    const v11 = this.px(ix + 1, iy + 1);
    return (v00 + (v10 - v00) * fx) * (1 - fy) + (v01 + (v11 - v01) * fx) * fy;
  }

  private px(i: number, j: number): number {
    if (i < 0 || j < 0 || i >= this.size || j >= this.size) return 0;
    return this.data[j * this.size + i];
  }
}

/** In-place separable box blur of radius r (pixels), edges clamped. */
export function boxBlur(img: Float32Array, size: number, r: number): void {
  if (r <= 0) return;
  const tmp = new Float32Array(img.length);
  const norm = 1 / (2 * r + 1);
  for (let y = 0; y < size; y++) {
    const row = y * size;
    for (let x = 0; x < size; x++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += img[row + clamp(x + k, 0, size - 1)];
      tmp[row + x] = acc * norm;
    }
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += tmp[clamp(y + k, 0, size - 1) * size + x];
      img[y * size + x] = acc * norm;
    }
  }
}
