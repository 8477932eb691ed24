// Renders anatomy + lesions into an 8-bit radiograph under a sampled acquisition (rotation, shift,
// zoom, exposure window, gamma, blur, quantum noise), and the per-part lesion masks in the same
// pixel grid, so boxes and masks match the stored image exactly.
import type { Rng } from '../../rng';
import { type Anatomy, type BaseSample, sampleBase } from './anatomy';
import type { Lesion, LesionPart } from './findings';
import { boxBlur, clamp } from './raster';

export interface Acquisition {
  angle: number;
  shiftX: number;
  shiftY: number;
  scale: number;
  /** Density mapped to black / white before gamma. */
  lo: number;
  hi: number;
  gamma: number;
  noise: number;
  blur: number;
}

export function sampleAcquisition(rng: Rng, size: number): Acquisition {
  return {
    angle: rng.uniform(-0.05, 0.05),
    shiftX: rng.uniform(-0.025, 0.025),
    shiftY: rng.uniform(-0.02, 0.03),
    scale: rng.uniform(0.94, 1.04),
    lo: rng.uniform(-0.04, 0.05),
    hi: rng.uniform(0.66, 0.8),
    gamma: rng.uniform(0.8, 1.25),
    noise: rng.uniform(0.008, 0.028),
    blur: Math.round(rng.uniform(0, 0.009) * size),
  };
}

export interface PartMask {
  part: LesionPart;
  mask: Uint8Array;
  /** [x, y, w, h] in pixels. */
  box: [number, number, number, number];
}

export interface Rendered {
  image: Uint8Array;
  parts: PartMask[];
}

/** Pixel -> anatomical coordinates (and back) for one acquisition. */
export class Transform {
  private readonly c: number;
  private readonly s: number;

  constructor(private readonly acq: Acquisition, private readonly size: number) {
    this.c = Math.cos(acq.angle);
    this.s = Math.sin(acq.angle);
  }

  toAnatomy(i: number, j: number, out: [number, number]): void {
    const px = (i + 0.5) / this.size - 0.5 - this.acq.shiftX;
    const py = (j + 0.5) / this.size - 0.5 - this.acq.shiftY;
    const ux = px / this.acq.scale;
    const uy = py / this.acq.scale;
    out[0] = 0.5 + this.c * ux + this.s * uy;
    out[1] = 0.5 - this.s * ux + this.c * uy;
  }

  toPixel(x: number, y: number): [number, number] {
    const ux = x - 0.5;
    const uy = y - 0.5;
    const rx = (this.c * ux - this.s * uy) * this.acq.scale;
    const ry = (this.s * ux + this.c * uy) * this.acq.scale;
    return [Math.floor((rx + 0.5 + this.acq.shiftX) * this.size), Math.floor((ry + 0.5 + this.acq.shiftY) * this.size)];
  }
}

export function render(a: Anatomy, lesions: readonly Lesion[], acq: Acquisition, size: number, noiseRng: Rng): Rendered {
  const n = size * size;
  const img = new Float32Array(n);
  const parts = lesions.flatMap((l) => l.parts);
  const masks = parts.map((p) => (p.masked ? new Uint8Array(n) : undefined));
  const tf = new Transform(acq, size);
  const edge = 1.2 / size;
  const xy: [number, number] = [0, 0];
  const base: BaseSample = { density: 0, lung: 0, lungDetail: 0 };
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      tf.toAnatomy(i, j, xy);
      const x = xy[0];
      const y = xy[1];
      sampleBase(a, x, y, edge, base);
      let extra = 0;
      let detail = 1;
      for (let k = 0; k < parts.length; k++) {
        const p = parts[k];
        const b = p.bounds;
        if (x < b[0] || y < b[1] || x > b[2] || y > b[3]) continue;
        const v = p.value(x, y);
        if (v <= 0) continue;
        const cover = p.lungOnly ? base.lung : 1;
        switch (p.kind) {
          case 'opacity': extra += p.amp * v * cover; break;
          case 'fluid': extra += v * cover * 0.36; detail *= 1 - v * cover; break;
          case 'air': extra -= 0.07 * v * cover; detail *= 1 - v * cover; break;
          case 'heart': break;
        }
        const m = masks[k];
        if (m && v > 0.5 && (!p.maskInLung || base.lung > 0.5)) m[j * size + i] = 1;
      }
      img[j * size + i] = base.density + base.lungDetail * detail + extra;
    }
  }
  boxBlur(img, size, acq.blur);
  const out = new Uint8Array(n);
  const span = acq.hi - acq.lo;
  for (let k = 0; k < n; k++) {
    const v = clamp((img[k] - acq.lo) / span, 0, 1) ** acq.gamma + acq.noise * noiseRng.normal();
    out[k] = Math.round(clamp(v, 0, 1) * 255);
  }
  const partMasks: PartMask[] = [];
  parts.forEach((part, k) => {
    const mask = masks[k];
    if (!mask) return;
    let box = bbox(mask, size);
    if (!box) {
      // Too small to cover a pixel centre at this size: mark the pixel under its centre.
      const [pi, pj] = tf.toPixel(part.center[0], part.center[1]);
      const ci = clamp(pi, 0, size - 1);
      const cj = clamp(pj, 0, size - 1);
      mask[cj * size + ci] = 1;
      box = [ci, cj, 1, 1];
    }
    partMasks.push({ part, mask, box });
  });
  return { image: out, parts: partMasks };
}

function bbox(mask: Uint8Array, size: number): [number, number, number, number] | undefined {
  let x0 = size;
  let y0 = size;
  let x1 = -1;
  let y1 = -1;
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      if (!mask[j * size + i]) continue;
      if (i < x0) x0 = i;
      if (i > x1) x1 = i;
      if (j < y0) y0 = j;
      if (j > y1) y1 = j;
    }
  }
  return x1 < 0 ? undefined : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}
