// SIIM-ACR pneumothorax run-length encoding (the competition's mask_functions.py):
// "start length start length ...", where each start is RELATIVE to the end of the previous run
// (the first one to pixel 0), and pixels are counted column-major (down each column first), so
// decoding into a row-major image is a transpose. " -1" (or "-1") means an empty mask.
import { DataError } from '../errors';

/** Row-major binary mask: 1 = positive. */
export interface BinaryMask {
  width: number;
  height: number;
  data: Uint8Array;
}

export function isEmptyRle(rle: string): boolean {
  const t = rle.trim();
  return t === '-1' || t === '';
}

/** Decodes one SIIM RLE string into a row-major mask. Throws DataError on malformed input. */
export function decodeSiimRle(rle: string, width = 1024, height = 1024): BinaryMask {
  const data = new Uint8Array(width * height);
  const mask = { width, height, data };
  if (isEmptyRle(rle)) return mask;
  const parts = rle.trim().split(/\s+/);
  if (parts.length % 2 !== 0) throw new DataError(`RLE has an odd number of values (${parts.length})`);
  const total = width * height;
  let pos = 0;
  for (let k = 0; k < parts.length; k += 2) {
    const start = Number(parts[k]);
    const len = Number(parts[k + 1]);
    if (!Number.isInteger(start) || start < 0 || !Number.isInteger(len) || len < 0) {
      throw new DataError(`RLE pair ${k / 2 + 1} is not two non-negative integers ('${parts[k]} ${parts[k + 1]}')`);
    }
    pos += start;
    if (pos + len > total) {
      throw new DataError(`RLE run ${k / 2 + 1} ends at pixel ${pos + len}, past the ${width}x${height} image`);
    }
    for (let p = pos; p < pos + len; p++) {
      // Column-major index p -> column p / height, row p % height.
      const x = Math.floor(p / height);
      const y = p - x * height;
      data[y * width + x] = 1;
    }
    pos += len;
  }
  return mask;
}

/** Encodes a row-major mask as SIIM RLE (relative starts, column-major); "-1" when empty. */
export function encodeSiimRle(mask: BinaryMask): string {
  const { width, height, data } = mask;
  const out: number[] = [];
  let lastEnd = 0;
  let runStart = -1;
  const total = width * height;
  for (let p = 0; p < total; p++) {
    const x = Math.floor(p / height);
    const y = p - x * height;
    const on = data[y * width + x] !== 0;
    if (on && runStart < 0) runStart = p;
    if (!on && runStart >= 0) {
      out.push(runStart - lastEnd, p - runStart);
      lastEnd = p;
      runStart = -1;
    }
  }
  if (runStart >= 0) out.push(runStart - lastEnd, total - runStart);
  return out.length ? out.join(' ') : '-1';
}

/** Sets every positive pixel of `src` in `target` (several SIIM rows per image are one mask). */
export function unionMask(target: BinaryMask, src: BinaryMask): void {
  if (target.width !== src.width || target.height !== src.height) {
    throw new Error(`mask size mismatch: ${target.width}x${target.height} vs ${src.width}x${src.height}`);
  }
  for (let i = 0; i < src.data.length; i++) if (src.data[i]) target.data[i] = 1;
}

/** Tight bounding box [x, y, w, h] of the positive pixels, or undefined for an empty mask. */
export function maskBoundingBox(mask: BinaryMask): [number, number, number, number] | undefined {
  const { width, height, data } = mask;
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (data[row + x]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? undefined : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}
