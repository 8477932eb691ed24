// Phrase grounding: the attention of a finding word over image regions against that finding's
// boxes (or the study's mask): pointing game and attention mass inside. Finding words come from
// the manifest's word ground truth; without it, report words that spell a boxed label's name
// ("pneumothorax" for a Pneumothorax box) are grounded instead.
import { argmaxRegion, attentionMassInside, gridGeometry, pointingGameHit, regionCoverage, type GridGeometry, type GroundingTarget, type MaskImage } from './metrics';
import { decodeImageFile } from '../data/image-io';
import type { LoadedStudy } from '../data/manifest-types';
import { labelOfFinding } from '../data/synth/vocabulary';
import type { EncodedSplit } from './features';
import { slotTruths } from './relations';
import type { EvalSource } from './source';

/** Rows whose study has boxes or a mask (the only ones grounding can score). */
export function rowsWithRegions(f: EncodedSplit): number[] {
  return f.studies.flatMap((s, i) => ((s.boxes?.length ?? 0) > 0 || s.maskPath ? [i] : []));
}

function boxesMask(study: LoadedStudy, label: string, width: number, height: number): MaskImage | undefined {
  const boxes = (study.boxes ?? []).filter((b) => b[4].toLowerCase() === label.toLowerCase());
  if (boxes.length === 0) return undefined;
  const data = new Uint8Array(width * height);
  for (const [x, y, w, h] of boxes) {
    for (let yy = Math.max(0, Math.floor(y)); yy < Math.min(height, Math.ceil(y + h)); yy++) {
      for (let xx = Math.max(0, Math.floor(x)); xx < Math.min(width, Math.ceil(x + w)); xx++) data[yy * width + xx] = 1;
    }
  }
  return { width, height, data };
}

/** (slot, label) pairs to ground in one study. */
function groundedSlots(study: LoadedStudy, spans: readonly [number, number][]): { slot: number; label: string }[] {
  if (study.words?.length) {
    return slotTruths(study.words, spans).flatMap((w, slot) =>
      (w && w.role === 'finding' && !w.negated && w.finding ? [{ slot, label: labelOfFinding(w.finding) }] : []));
  }
  const labels = new Set<string>((study.boxes ?? []).map((b) => b[4]));
  for (const [k, v] of Object.entries(study.labels ?? {})) if (v === 1 && study.maskPath) labels.add(k);
  const out: { slot: number; label: string }[] = [];
  spans.forEach(([s, e], slot) => {
    const word = study.report.slice(s, e).toLowerCase();
    for (const l of labels) if (l.toLowerCase().split(/\W+/).includes(word)) out.push({ slot, label: l });
  });
  return out;
}

/** Entropy (nats) of a non-negative row, normalised to sum 1 first. */
export function rowEntropy(p: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += p[i];
  if (!(sum > 0)) return NaN;
  let h = 0;
  for (let i = 0; i < p.length; i++) {
    const q = p[i] / sum;
    if (q > 0) h -= q * Math.log(q);
  }
  return h;
}

/** One-hot attention on the region the target covers most (ties: the first). */
export function oracleAttention(g: GridGeometry, target: GroundingTarget, regions: number): Float32Array {
  const a = new Float32Array(regions);
  a[argmaxRegion(regionCoverage(g, target))] = 1;
  return a;
}

/** Whether some region's centre lies inside the target (else no attention can win the pointing game). */
export function oracleCanPoint(g: GridGeometry, target: GroundingTarget, regions: number): boolean {
  const cov = regionCoverage(g, target);
  const a = new Float32Array(regions);
  for (let r = 0; r < regions; r++) {
    if (cov[r] === 0) continue;
    a.fill(0);
    a[r] = 1;
    if (pointingGameHit(a, g, target)) return true;
  }
  return false;
}

export async function runGrounding(src: EvalSource, f: EncodedSplit, opts: { maxStudies?: number } = {}): Promise<Record<string, number>> {
  const rows = rowsWithRegions(f).slice(0, opts.maxStudies ?? Infinity);
  const ex = await src.explainPairs(f, rows);
  const [gr, gc] = f.grid;
  let mass = 0, massN = 0, chanceMass = 0, entropy = 0, oracleMass = 0;
  // Counted per finding (a large finding's words can carry the pooled figure while small ones
  // never ground); the pooled counts are their sums.
  const byLabel = new Map<string, { words: number; hits: number; oracleHits: number }>();
  for (let k = 0; k < rows.length; k++) {
    const study = f.studies[rows[k]];
    const slots = groundedSlots(study, f.wordSpans[rows[k]]);
    if (slots.length === 0) continue;
    // The stored mask has the image's size; read it once, and the image only when there is no mask.
    const mask = study.maskPath ? await decodeImageFile(study.maskPath) : undefined;
    const dims = mask ?? await decodeImageFile(study.imagePath);
    const g = gridGeometry(dims.width, dims.height, f.imageSize, gr, gc);
    for (const { slot, label } of slots) {
      let target: GroundingTarget | undefined;
      const bm = boxesMask(study, label, dims.width, dims.height);
      if (bm) target = { mask: bm };
      else if (mask) target = { mask: { width: mask.width, height: mask.height, data: mask.data } };
      if (!target) continue;
      const att = ex[k].attention.subarray(slot * f.M, (slot + 1) * f.M);
      const tally = byLabel.get(label) ?? { words: 0, hits: 0, oracleHits: 0 };
      byLabel.set(label, tally);
      tally.words++;
      entropy += rowEntropy(att);
      if (pointingGameHit(att, g, target)) tally.hits++;
      // The best any attention over this grid can do: all of it on the region the target covers
      // most (mass), or on any region whose centre lies inside the target (pointing game).
      const best = oracleAttention(g, target, f.M);
      if (oracleCanPoint(g, target, f.M)) tally.oracleHits++;
      const m = attentionMassInside(att, g, target);
      if (!Number.isNaN(m)) {
        mass += m;
        chanceMass += attentionMassInside(new Float32Array(f.M).fill(1), g, target);
        oracleMass += attentionMassInside(best, g, target);
        massN++;
      }
    }
  }
  let words = 0, hits = 0, oracleHits = 0;
  for (const t of byLabel.values()) { words += t.words; hits += t.hits; oracleHits += t.oracleHits; }
  return {
    pointing_game: words ? hits / words : NaN,
    attention_mass_inside: massN ? mass / massN : NaN,
    // What uniform attention would score: the baseline a model must beat.
    uniform_mass_inside: massN ? chanceMass / massN : NaN,
    // Ceilings of the grid: a box smaller than a region rarely holds a region's centre.
    oracle_pointing_game: words ? oracleHits / words : NaN,
    oracle_mass_inside: massN ? oracleMass / massN : NaN,
    // How far the finding words' attention is from uniform (log M nats) at all.
    attention_entropy: words ? entropy / words : NaN,
    uniform_entropy: Math.log(f.M),
    words_scored: words,
    studies: rows.length,
    ...Object.fromEntries([...byLabel].sort(([a], [b]) => a.localeCompare(b)).flatMap(([label, t]) => [
      [`pointing_game/${label}`, t.hits / t.words], [`oracle_pointing_game/${label}`, t.oracleHits / t.words], [`words_scored/${label}`, t.words]])),
  };
}
