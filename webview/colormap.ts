// Colour-blind-safe sequential palettes (matplotlib's viridis and cividis, sampled at evenly
// spaced stops and linearly interpolated into a 256-entry lookup table) and the contrast maths
// used to keep coloured words readable on any VS Code theme.

export type PaletteName = 'viridis' | 'cividis';
export const PALETTES: readonly PaletteName[] = ['viridis', 'cividis'];
export type Rgb = [number, number, number];

const STOPS: Record<PaletteName, string[]> = {
  viridis: ['#440154', '#482878', '#3e4a89', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'],
  cividis: ['#00224e', '#35456c', '#666970', '#948e77', '#c8b866', '#fee838'],
};

export function parseHex(hex: string): Rgb {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const luts = new Map<PaletteName, Uint8ClampedArray>();

/** 256 RGB triples, [r0, g0, b0, r1, ...]. */
export function paletteLut(name: PaletteName): Uint8ClampedArray {
  const cached = luts.get(name);
  if (cached) return cached;
  const stops = STOPS[name].map(parseHex);
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(x));
    const f = x - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(stops[k][c] * (1 - f) + stops[k + 1][c] * f);
  }
  luts.set(name, lut);
  return lut;
}

/** Colour of t in [0, 1] (clamped; NaN maps to 0). */
export function paletteColor(name: PaletteName, t: number): Rgb {
  const lut = paletteLut(name);
  const i = Number.isFinite(t) ? Math.round(Math.min(1, Math.max(0, t)) * 255) : 0;
  return [lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2]];
}

export const rgbCss = (c: Rgb, alpha = 1): string =>
  alpha >= 1 ? `rgb(${c[0]}, ${c[1]}, ${c[2]})` : `rgba(${c[0]}, ${c[1]}, ${c[2]}, ${+alpha.toFixed(3)})`;

/** Parses the computed-style forms `rgb(r, g, b)`, `rgba(r, g, b, a)` and `#rrggbb`. */
export function parseCssColor(s: string): Rgb | undefined {
  const t = s.trim();
  if (/^#[0-9a-f]{6}$/i.test(t)) return parseHex(t);
  const m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/i.exec(t);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** WCAG relative luminance. */
export function luminance(c: Rgb): number {
  const lin = c.map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

export function contrastRatio(a: Rgb, b: Rgb): number {
  const la = luminance(a);
  const lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

export function composite(fg: Rgb, alpha: number, bg: Rgb): Rgb {
  return [0, 1, 2].map((i) => Math.round(fg[i] * alpha + bg[i] * (1 - alpha))) as Rgb;
}

/**
 * Background and text colour of a word with normalised importance t over the theme background:
 * the tint grows with importance (unimportant words stay almost plain) and the text is black or
 * white, whichever contrasts more with the composited tint.
 */
export function wordColors(name: PaletteName, t: number, themeBg: Rgb): { bg: string; fg: string; composite: Rgb } {
  const tt = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const alpha = 0.07 + 0.93 * tt;
  const c = paletteColor(name, tt);
  const mixed = composite(c, alpha, themeBg);
  const fg: Rgb = contrastRatio(mixed, [0, 0, 0]) >= contrastRatio(mixed, [255, 255, 255]) ? [0, 0, 0] : [255, 255, 255];
  return { bg: rgbCss(c, alpha), fg: rgbCss(fg), composite: mixed };
}
