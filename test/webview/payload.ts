// A realistic explanation payload for webview tests: a synthetic chest-like radiograph (made
// with sharp), a ~100-word report, and attention / relation / importance arrays shaped like a
// model's (softmax rows, location words peaking where they point, finding words important).
// Deterministic: seeded RNG, no model involved (the webview only draws what it is given).
import sharp from 'sharp';
import { Rng } from '../../src/core/rng';
import type { ExplanationPayload, ExplainWord } from '../../src/protocol/explain';

export const SYNTH_REPORT = [
  'FINDINGS: PA and lateral views of the chest. There is a moderate left pleural effusion with adjacent',
  'basilar atelectasis in the left lower lobe. The right lung is clear without focal consolidation.',
  'No pneumothorax is seen. The cardiac silhouette is mildly enlarged. The mediastinal contours are',
  'within normal limits. There is mild pulmonary vascular congestion in the upper zones. Degenerative',
  'changes of the thoracic spine are noted. A right internal jugular central venous catheter terminates',
  'in the lower superior vena cava. IMPRESSION: Moderate left pleural effusion and left basilar',
  'atelectasis; mild cardiomegaly with vascular congestion, no overt edema. Recommend follow-up',
  'radiograph after diuresis to assess the effusion and exclude underlying pneumonia in the left base.',
].join('\n');

/** Words = maximal runs of letters/digits/hyphens, with their char offsets. */
export function tokenizeWords(report: string): ExplainWord[] {
  const out: ExplainWord[] = [];
  for (const m of report.matchAll(/[A-Za-z0-9][A-Za-z0-9-]*/g)) out.push({ text: m[0], start: m.index, end: m.index + m[0].length });
  return out;
}

const FINDINGS = new Set(['effusion', 'atelectasis', 'consolidation', 'pneumothorax', 'enlarged', 'congestion', 'cardiomegaly', 'edema', 'pneumonia', 'catheter', 'degenerative', 'opacity', 'granulomas', 'calcified', 'infiltrate']);
const LOCATIONS = new Set(['left', 'right', 'lower', 'upper', 'basilar', 'base', 'lobe', 'cardiac', 'mediastinal', 'spine', 'jugular', 'cava', 'apical', 'zones', 'lungs', 'heart', 'aorta']);

/** Where in the image (fractions, y down) a word points, following radiographic convention (patient's left = image right). */
function focusOf(words: string[], i: number, rng: Rng): [number, number, number] {
  const w = words[i].toLowerCase();
  const near = words.slice(Math.max(0, i - 3), i + 4).map((s) => s.toLowerCase());
  let x = 0.5, y = 0.5, s = 0.25;
  if (near.includes('left')) x = 0.72; else if (near.includes('right')) x = 0.28;
  if (near.some((t) => ['lower', 'basilar', 'base', 'effusion', 'atelectasis'].includes(t))) y = 0.74;
  if (near.some((t) => ['upper', 'apical', 'zones'].includes(t))) y = 0.28;
  if (['cardiac', 'cardiomegaly', 'heart', 'silhouette', 'enlarged'].includes(w)) { x = 0.55; y = 0.62; s = 0.14; }
  if (['mediastinal', 'aorta', 'cava', 'spine', 'thoracic'].includes(w)) { x = 0.5; y = 0.45; s = 0.1; }
  if (w === 'jugular' || w === 'catheter') { x = 0.4; y = 0.2; s = 0.1; }
  if (FINDINGS.has(w) || LOCATIONS.has(w)) s *= 0.6;
  else { x += rng.uniform(-0.2, 0.2); y += rng.uniform(-0.2, 0.2); s = 0.35; }
  return [x, y, s];
}

function softmaxInPlace(a: Float32Array, off: number, len: number): void {
  let max = -Infinity;
  for (let k = 0; k < len; k++) max = Math.max(max, a[off + k]);
  let sum = 0;
  for (let k = 0; k < len; k++) { a[off + k] = Math.exp(a[off + k] - max); sum += a[off + k]; }
  for (let k = 0; k < len; k++) a[off + k] /= sum;
}

export function fakeModelArrays(words: ExplainWord[], grid: [number, number], seed = 7): Pick<ExplanationPayload, 'attention' | 'relation' | 'importance' | 'wordScore'> {
  const rng = new Rng(seed);
  const N = words.length;
  const [R, C] = grid;
  const M = R * C;
  const texts = words.map((w) => w.text);
  const attention = new Float32Array(N * M);
  const foci = texts.map((_, i) => focusOf(texts, i, rng));
  for (let i = 0; i < N; i++) {
    const [fx, fy, s] = foci[i];
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) {
      const dx = (c + 0.5) / C - fx, dy = (r + 0.5) / R - fy;
      attention[i * M + r * C + c] = -(dx * dx + dy * dy) / (2 * s * s) * 4 + rng.normal(0, 0.15);
    }
    softmaxInPlace(attention, i * M, M);
  }
  const relation = new Float32Array(N * N);
  const isKey = (t: string): boolean => FINDINGS.has(t.toLowerCase()) || LOCATIONS.has(t.toLowerCase());
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const dist = Math.abs(i - j);
      const same = texts[i].toLowerCase() === texts[j].toLowerCase() && i !== j;
      const pair = isKey(texts[i]) && isKey(texts[j]);
      const dxy = Math.hypot(foci[i][0] - foci[j][0], foci[i][1] - foci[j][1]);
      relation[i * N + j] = i === j ? 2 : (same ? 3 : 0) + (pair ? 2.2 - 4 * dxy : 0) - dist / 6 + rng.normal(0, 0.3);
    }
    softmaxInPlace(relation, i * N, N);
  }
  const importance = new Float32Array(N);
  for (let i = 0; i < N; i++) importance[i] = (FINDINGS.has(texts[i].toLowerCase()) ? 2.5 : LOCATIONS.has(texts[i].toLowerCase()) ? 1.4 : 0) + rng.normal(0, 0.4);
  softmaxInPlace(importance, 0, N);
  const wordScore = new Float32Array(N);
  for (let i = 0; i < N; i++) wordScore[i] = Math.min(0.95, Math.max(0.05, (isKey(texts[i]) ? 0.62 : 0.3) + rng.normal(0, 0.08)));
  return { attention, relation, importance, wordScore };
}

/** A 224 px greyscale radiograph-like image: dark lungs, bright mediastinum/heart, ribs, spine, soft tissue. */
export async function syntheticChestPng(size = 224): Promise<Uint8Array> {
  const px = new Uint8Array(size * size);
  const rng = new Rng(3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = x / size, v = y / size;
      let val = 150 + 40 * Math.abs(u - 0.5); // soft tissue, brighter laterally
      const lung = (cx: number): number => {
        const dx = (u - cx) / 0.19, dy = (v - 0.5) / 0.34;
        return dx * dx + dy * dy;
      };
      const inLung = Math.min(lung(0.3), lung(0.7));
      if (inLung < 1) val = 55 + 60 * inLung ** 2; // aerated lung is dark
      // ribs: arcs across each lung
      if (inLung < 1.1) {
        const band = Math.sin((v + 0.6 * (u - 0.5) ** 2) * 46);
        if (band > 0.82) val += 35;
      }
      const heart = ((u - 0.56) / 0.17) ** 2 + ((v - 0.64) / 0.15) ** 2;
      if (heart < 1) val = Math.max(val, 185 - 30 * heart);
      if (Math.abs(u - 0.5) < 0.045 && v > 0.12) val = Math.max(val, 200); // spine / mediastinum
      if (v > 0.86) val = Math.max(val, 175 + 60 * (v - 0.86)); // diaphragm / abdomen
      if (u < 0.04 || u > 0.96) val = 20; // outside the body
      // left effusion: hazy opacity at the left base (image right)
      const eff = ((u - 0.72) / 0.17) ** 2 + ((v - 0.8) / 0.12) ** 2;
      if (eff < 1) val = Math.max(val, 150 - 40 * eff);
      px[y * size + x] = Math.max(0, Math.min(255, Math.round(val + rng.normal(0, 5))));
    }
  }
  const png = await sharp(Buffer.from(px), { raw: { width: size, height: size, channels: 1 } }).blur(1.2).png().toBuffer();
  return new Uint8Array(png);
}

/** The synthetic report cut to `n` words (the speed target is stated for 100 words). */
export function reportOfWords(n: number): string {
  const all = tokenizeWords(SYNTH_REPORT);
  return n >= all.length ? SYNTH_REPORT : SYNTH_REPORT.slice(0, all[n - 1].end) + '.';
}

export async function syntheticPayload(nWords = 100): Promise<ExplanationPayload> {
  const report = reportOfWords(nWords);
  const words = tokenizeWords(report);
  const grid: [number, number] = [14, 14];
  return {
    model: { name: 'bundled', method: 'reclf', source: 'bundled' },
    image: { png: await syntheticChestPng(224), width: 224, height: 224, sourcePath: 'synthetic/chest-0001.png' },
    grid, report, reportPath: '/tmp/reports/chest-0001.txt', words,
    ...fakeModelArrays(words, grid),
    scores: { global: 0.412, local: 0.287 },
  };
}

/** The same arrays around a real image (resized and padded to 224 like the model sees it) and its real report. */
export async function realImagePayload(imagePath: string, report: string): Promise<ExplanationPayload> {
  const png = await sharp(imagePath).greyscale().resize(224, 224, { fit: 'contain', background: { r: 0, g: 0, b: 0 } }).png().toBuffer();
  const words = tokenizeWords(report);
  const grid: [number, number] = [14, 14];
  return {
    model: { name: 'bundled', method: 'reclf', source: 'bundled' },
    image: { png: new Uint8Array(png), width: 224, height: 224, sourcePath: imagePath },
    grid, report, words, ...fakeModelArrays(words, grid, 11), scores: { global: 0.37, local: 0.24 },
  };
}
