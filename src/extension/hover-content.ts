// Hover text for one report word, from an explanation payload (pure: no `vscode`, so tests can
// check exactly what the user reads). The thumbnail is the model's input image with the word's
// attention over it, drawn here with the panel's colour-blind-safe palette.
import type { ExplanationPayload } from '../protocol/explain';
import { paletteLut } from '../../webview/colormap';
import { decodePngGray, encodeRgbPng } from './png';

/** Index of the payload word covering `offset` (char offset into the report), or -1. */
export function wordAtOffset(p: ExplanationPayload, offset: number): number {
  let lo = 0, hi = p.words.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const w = p.words[mid];
    if (offset < w.start) hi = mid - 1;
    else if (offset >= w.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** The k words most related to word i by SRM (itself excluded), strongest first. */
export function topRelated(p: ExplanationPayload, i: number, k = 5): Array<{ index: number; text: string; value: number }> {
  const N = p.words.length;
  const row = p.relation.subarray(i * N, (i + 1) * N);
  return [...row.keys()].filter((j) => j !== i)
    .sort((a, b) => row[b] - row[a] || a - b)
    .slice(0, k)
    .map((j) => ({ index: j, text: p.words[j].text, value: row[j] }));
}

/** 1-based rank of word i by importance (1 = most important). */
export function importanceRank(p: ExplanationPayload, i: number): number {
  let rank = 1;
  for (let j = 0; j < p.importance.length; j++) if (p.importance[j] > p.importance[i]) rank++;
  return rank;
}

/** Bilinear sample of a [R, C] grid at (u, v) in [0, 1) image coordinates (cell centres). */
function sampleGrid(a: Float32Array, off: number, R: number, C: number, u: number, v: number): number {
  const x = Math.min(C - 1, Math.max(0, u * C - 0.5)), y = Math.min(R - 1, Math.max(0, v * R - 0.5));
  const x0 = Math.floor(x), y0 = Math.floor(y), x1 = Math.min(C - 1, x0 + 1), y1 = Math.min(R - 1, y0 + 1);
  const fx = x - x0, fy = y - y0;
  const g = (r: number, c: number): number => a[off + r * C + c];
  return (g(y0, x0) * (1 - fx) + g(y0, x1) * fx) * (1 - fy) + (g(y1, x0) * (1 - fx) + g(y1, x1) * fx) * fy;
}

/** A size x size PNG: the image in grey with word i's attention (max-normalised) blended over it. */
export function attentionThumbnail(p: ExplanationPayload, i: number, size = 64): Buffer {
  const [R, C] = p.grid;
  const M = R * C;
  const off = i * M;
  let max = 0;
  for (let m = 0; m < M; m++) max = Math.max(max, p.attention[off + m]);
  const img = decodePngGray(p.image.png);
  const lut = paletteLut('viridis');
  const rgb = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5) / size, v = (y + 0.5) / size;
      const t = max > 0 ? Math.max(0, sampleGrid(p.attention, off, R, C, u, v)) / max : 0;
      const base = img ? img.gray[Math.floor(v * img.height) * img.width + Math.floor(u * img.width)] : 0;
      // Low attention shows the X-ray; high attention shows the palette colour.
      const alpha = img ? 0.15 + 0.6 * t : 1;
      const k = Math.round(t * 255) * 3;
      const o = (y * size + x) * 3;
      for (let ch = 0; ch < 3; ch++) rgb[o + ch] = Math.round(base * (1 - alpha) + lut[k + ch] * alpha);
    }
  }
  return encodeRgbPng(size, size, rgb);
}

export interface HoverContentOptions {
  /** Command run by the "Show in panel" link, with its JSON arguments. */
  command: string;
  commandArgs: unknown[];
  thumbnailPx?: number;
}

const mdEscape = (s: string): string => s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);

/** Markdown for the hover of word i (the caller marks it trusted for `command` only). */
export function hoverMarkdown(p: ExplanationPayload, i: number, o: HoverContentOptions): string {
  const w = p.words[i];
  const N = p.words.length;
  const related = topRelated(p, i, 5).map((r) => `${mdEscape(r.text)} (${r.value.toFixed(3)})`).join(', ');
  const thumb = attentionThumbnail(p, i, o.thumbnailPx ?? 64).toString('base64');
  const link = `command:${o.command}?${encodeURIComponent(JSON.stringify(o.commandArgs))}`;
  return [
    `**${mdEscape(w.text)}** — RECLF (${mdEscape(p.model.name)}, ${mdEscape(p.model.method)})`,
    '',
    `- IRM importance: ${p.importance[i].toFixed(3)} (rank ${importanceRank(p, i)} of ${N})`,
    `- Local-matching score: ${p.wordScore[i].toFixed(3)}`,
    `- SRM-related words: ${related || 'none'}`,
    '',
    `![attention of "${mdEscape(w.text)}"](data:image/png;base64,${thumb})`,
    '',
    `[Show in panel](${link} "Open the RECLF panel on this word")`,
  ].join('\n');
}
