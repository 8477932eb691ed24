// Findings of one synthetic study: what is present (name, location, severity), how it changes the
// anatomy (cardiomegaly, volume loss), and how each lesion part is drawn and masked. A bilateral
// finding has one part per side, so it gets one box per side.
import type { Rng } from '../../rng';
import {
  type Anatomy, type AnatomyAdjust, heartMargin, lateralDistance, lungLateral, lungMargin, type Side, sideSign,
} from './anatomy';
import { clamp, smoothstep, ValueNoise } from './raster';
import { FINDINGS, type FindingName, LOCATIONS, type LocationName, type Severity } from './vocabulary';

export interface FindingSpec {
  name: FindingName;
  location: LocationName;
  severity: Severity;
  /** Nodule diameter in millimetres (a 128 px image spans about 350 mm). */
  sizeMm?: number;
}

/**
 * How a part changes the image: `opacity` adds density, `fluid` replaces lung air with water
 * density, `air` removes lung markings (pneumothorax), `heart` only marks the (enlarged) heart.
 */
export type LesionKind = 'opacity' | 'fluid' | 'air' | 'heart';

export interface LesionPart {
  finding: FindingName;
  kind: LesionKind;
  amp: number;
  /** Density only inside the lung field (multiplied by lung coverage). */
  lungOnly: boolean;
  /** Whether this part contributes to the lesion mask and gets a box. */
  masked: boolean;
  /** Mask requires lung coverage > 0.5 as well as strength > 0.5. */
  maskInLung: boolean;
  /** Anatomical bounds outside which the strength is 0: [x0, y0, x1, y1]. */
  bounds: [number, number, number, number];
  /** A point inside the lesion (anatomical), used when the mask is too small to hit a pixel centre. */
  center: [number, number];
  /** Strength in [0, 1] at an anatomical point. */
  value(x: number, y: number): number;
}

export interface Lesion {
  spec: FindingSpec;
  parts: LesionPart[];
}

const SEVERITIES: readonly Severity[] = ['mild', 'moderate', 'severe'];
const WEIGHTS: readonly [FindingName, number][] = [
  ['consolidation', 1.2], ['pleural effusion', 1.2], ['atelectasis', 1], ['cardiomegaly', 1],
  ['nodule', 0.9], ['pneumothorax', 0.8], ['edema', 0.7],
];
export const NORMAL_FRACTION = 0.3;
/** Millimetres per normalised image unit. */
export const MM_PER_UNIT = 350;

function weightedPick(rng: Rng, items: readonly [FindingName, number][]): FindingName {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let u = rng.next() * total;
  for (const [name, w] of items) {
    u -= w;
    if (u < 0) return name;
  }
  return items[items.length - 1][0];
}

/** What the study shows: [] for a normal study (about 30%), else 1-3 distinct findings. */
export function sampleFindings(rng: Rng): FindingSpec[] {
  if (rng.bool(NORMAL_FRACTION)) return [];
  const u = rng.next();
  const k = u < 0.5 ? 1 : u < 0.83 ? 2 : 3;
  let pool = [...WEIGHTS];
  const specs: FindingSpec[] = [];
  for (let i = 0; i < k; i++) {
    const name = weightedPick(rng, pool);
    pool = pool.filter(([n]) => n !== name);
    const location = rng.pick(FINDINGS[name].locations);
    let severity = rng.pick(SEVERITIES);
    // A pneumothorax confined to the apex is small or moderate; a hemithorax one is not small.
    if (name === 'pneumothorax') severity = location.endsWith('apical') ? rng.pick(['mild', 'moderate'] as const) : rng.pick(['moderate', 'severe'] as const);
    specs.push({ name, location, severity });
  }
  return specs;
}

const CTR: Record<Severity, [number, number]> = { mild: [0.53, 0.57], moderate: [0.57, 0.62], severe: [0.62, 0.68] };

export function anatomyAdjustments(specs: readonly FindingSpec[], rng: Rng): AnatomyAdjust {
  const adjust: AnatomyAdjust = {};
  for (const s of specs) {
    if (s.name === 'cardiomegaly') adjust.ctr = rng.uniform(...CTR[s.severity]);
    if (s.name === 'atelectasis' && /lower|basal|retrocardiac/.test(s.location)) {
      // Volume loss pulls the hemidiaphragm up on the collapsed side.
      adjust.raise ??= {};
      for (const side of LOCATIONS[s.location].sides) adjust.raise[side] = rng.uniform(0.015, 0.035);
    }
  }
  return adjust;
}

interface Zone { y0: number; y1: number }

function zoneOf(a: Anatomy, side: Side, location: LocationName): Zone {
  const L = a.dome[side] - a.apexY;
  if (location.includes('upper')) return { y0: a.apexY + 0.05, y1: a.apexY + L / 3 };
  if (location.includes('middle')) return { y0: a.apexY + L / 3, y1: a.apexY + (2 * L) / 3 };
  if (location.includes('lower')) return { y0: a.apexY + (2 * L) / 3, y1: a.dome[side] + 0.03 };
  if (location.includes('apical')) return { y0: a.apexY + 0.01, y1: a.apexY + 0.1 };
  return { y0: a.dome[side] - 0.06, y1: a.cp[side] - 0.01 };
}

/** A point inside the lung zone at least `margin` from the lung edge and the heart. */
function pointInZone(a: Anatomy, rng: Rng, side: Side, zone: Zone, margin: number): [number, number] {
  const s = sideSign(side);
  let best: [number, number] = [a.cx + s * a.hw * 0.55, (zone.y0 + zone.y1) / 2];
  let bestM = -Infinity;
  for (let t = 0; t < 200; t++) {
    const x = a.cx + s * rng.uniform(a.medW, a.hw);
    const y = rng.uniform(zone.y0, zone.y1);
    const m = Math.min(lungMargin(a, side, x, y), -heartMargin(a, x, y));
    if (m >= margin) return [x, y];
    if (m > bestM) { bestM = m; best = [x, y]; }
  }
  return best;
}

function bounds(cx: number, cy: number, rx: number, ry: number): [number, number, number, number] {
  return [cx - rx, cy - ry, cx + rx, cy + ry];
}

/** Builds the drawable parts of every finding. `px` is one pixel in normalised units. */
export function buildLesions(specs: FindingSpec[], a: Anatomy, rng: Rng, px: number): Lesion[] {
  return specs.map((spec) => ({ spec, parts: buildParts(spec, a, rng, px) }));
}

function buildParts(spec: FindingSpec, a: Anatomy, rng: Rng, px: number): LesionPart[] {
  const sides = LOCATIONS[spec.location].sides;
  const sev = SEVERITIES.indexOf(spec.severity);
  const base = { finding: spec.name, masked: true, maskInLung: true };
  switch (spec.name) {
    case 'consolidation':
      return sides.map((side) => consolidation(a, rng, side, spec.location, sev, px, base));
    case 'nodule': {
      const r = Math.max([0.017, 0.023, 0.03][sev] * rng.uniform(0.85, 1.2), 1.6 * px);
      spec.sizeMm = Math.round(2 * r * MM_PER_UNIT);
      const side = sides[0];
      const [cx, cy] = pointInZone(a, rng, side, zoneOf(a, side, spec.location), r + 0.01);
      const e = Math.max(0.004, 0.7 * px);
      return [{
        ...base, kind: 'opacity', amp: 0.24 + 0.04 * sev, lungOnly: false, maskInLung: false,
        bounds: bounds(cx, cy, r + e, r + e), center: [cx, cy],
        value: (x, y) => smoothstep(r + e, r - e, Math.hypot(x - cx, y - cy)),
      }];
    }
    case 'pleural effusion':
      return sides.map((side) => effusion(a, rng, side, sev, px, base));
    case 'pneumothorax':
      return pneumothorax(a, rng, sides[0], spec.location.endsWith('apical'), spec.severity, px, base);
    case 'cardiomegaly': {
      const h = a.heart;
      const e = px;
      return [{
        ...base, kind: 'heart', amp: 0, lungOnly: false, maskInLung: false,
        bounds: bounds(h.cx, h.cy, Math.max(h.rx, h.ry) + e, Math.max(h.rx, h.ry) + e), center: [h.cx, h.cy - h.ry / 2],
        value: (x, y) => smoothstep(-e, e, heartMargin(a, x, y)),
      }];
    }
    case 'atelectasis':
      return spec.location === 'retrocardiac'
        ? [retrocardiac(a, rng, sev, px, base)]
        : sides.map((side) => atelectasisBand(a, rng, side, spec.location, sev, px, base));
    case 'edema':
      return sides.flatMap((side) => edema(a, rng, side, sev, px, base));
  }
}

type PartBase = Pick<LesionPart, 'finding' | 'masked' | 'maskInLung'>;

function consolidation(a: Anatomy, rng: Rng, side: Side, location: LocationName, sev: number, px: number, base: PartBase): LesionPart {
  const rx = rng.uniform(0.05, 0.075) + 0.012 * sev;
  const ry = rng.uniform(0.045, 0.07) + 0.01 * sev;
  const [cx, cy] = pointInZone(a, rng, side, zoneOf(a, side, location), 0.03);
  const noise = new ValueNoise(rng, 14);
  const amp = [0.13, 0.18, 0.25][sev];
  return {
    ...base, kind: 'opacity', amp, lungOnly: true,
    bounds: bounds(cx, cy, rx * 1.7, ry * 1.7), center: [cx, cy],
    value: (x, y) => {
      const q = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
      if (q > 2.9) return 0;
      const blob = Math.exp(-q * 1.1) * (0.5 + 0.9 * noise.at(x, y));
      return smoothstep(0.25, 0.6, blob);
    },
  };
}

function effusion(a: Anatomy, rng: Rng, side: Side, sev: number, px: number, base: PartBase): LesionPart {
  const h = Math.max([0.065, 0.1, 0.17][sev] * rng.uniform(0.85, 1.25), 3 * px);
  const cp = a.cp[side];
  const e = Math.max(0.01, 1.2 * px);
  const s = sideSign(side);
  const lat = lungLateral(a, side, cp);
  return {
    ...base, kind: 'fluid', amp: 1, lungOnly: true,
    bounds: side === 'right' ? [a.cx - a.hw - 0.02, cp - h - e - 0.02, a.cx, cp + 0.02] : [a.cx, cp - h - e - 0.02, a.cx + a.hw + 0.02, cp + 0.02],
    center: [a.cx + s * lat * 0.9, cp - 0.5 * h],
    value: (x, y) => {
      // Meniscus: the fluid surface climbs laterally along the chest wall.
      const t = clamp(lateralDistance(a, side, x) / lat, 0, 1);
      const top = cp - h * (0.7 + 0.3 * t * t);
      return smoothstep(top - e, top + e, y);
    },
  };
}

function pneumothorax(a: Anatomy, rng: Rng, side: Side, apical: boolean, severity: Severity, px: number, base: PartBase): LesionPart[] {
  const f = { mild: [0.12, 0.2], moderate: [0.22, 0.32], severe: [0.35, 0.5] }[severity];
  const k = rng.uniform(f[0], f[1]);
  const s = sideSign(side);
  // The collapsed lung is the lung shrunk toward an anchor: low for an apical pneumothorax
  // (the apex drops), at the hilum for a large one (the lateral border moves in too).
  const ax = a.cx + s * (a.medW + 0.05);
  const ay = apical ? a.cp[side] : a.hilumY + 0.05;
  const kx = 1 - k * (apical ? 0.35 : 0.9);
  const ky = 1 - k;
  const km = Math.min(kx, ky);
  const e = Math.max(0.006, 0.8 * px);
  const collapsed = (x: number, y: number) => lungMargin(a, side, ax + (x - ax) / kx, ay + (y - ay) / ky) * km;
  const b: [number, number, number, number] = side === 'right' ? [a.cx - a.hw - 0.02, a.apexY - 0.02, a.cx, a.cp[side]] : [a.cx, a.apexY - 0.02, a.cx + a.hw + 0.02, a.cp[side]];
  const lw = Math.max(0.003, 0.55 * px);
  return [
    {
      ...base, kind: 'air', amp: 1, lungOnly: true, bounds: b,
      center: [a.cx + s * a.hw * 0.45, a.apexY + 0.4 * k * (a.cp[side] - a.apexY)],
      value: (x, y) => smoothstep(-e, e, lungMargin(a, side, x, y)) * smoothstep(e, -e, collapsed(x, y)),
    },
    {
      // The visceral pleural line at the edge of the collapsed lung.
      ...base, kind: 'opacity', amp: 0.16, lungOnly: true, masked: false, bounds: b, center: [ax, ay],
      value: (x, y) => {
        const m = collapsed(x, y);
        if (Math.abs(m) > 4 * lw) return 0;
        return Math.exp(-((m / lw) ** 2)) * smoothstep(-e, e, lungMargin(a, side, x, y) - 2 * e);
      },
    },
  ];
}

function atelectasisBand(a: Anatomy, rng: Rng, side: Side, location: LocationName, sev: number, px: number, base: PartBase): LesionPart {
  const len = rng.uniform(0.1, 0.15) + 0.015 * sev;
  const th = Math.max([0.012, 0.018, 0.026][sev] * rng.uniform(0.85, 1.2), 1.8 * px);
  const [cx, cy] = pointInZone(a, rng, side, zoneOf(a, side, location), 0.03);
  // Plate atelectasis runs roughly horizontally, dipping toward the lateral chest wall.
  const ang = sideSign(side) * rng.uniform(0.0, 0.35);
  const c = Math.cos(ang);
  const sn = Math.sin(ang);
  const e = Math.max(0.003, 0.6 * px);
  const r = len / 2 + th;
  return {
    ...base, kind: 'opacity', amp: 0.2 + 0.04 * sev, lungOnly: true,
    bounds: bounds(cx, cy, r, r), center: [cx, cy],
    value: (x, y) => {
      const u = (x - cx) * c + (y - cy) * sn;
      const w = -(x - cx) * sn + (y - cy) * c;
      const taper = 1 - 0.5 * (Math.abs(u) / (len / 2)) ** 2;
      const half = (th / 2) * Math.max(0.3, taper);
      return smoothstep(half + e, half - e, Math.abs(w)) * smoothstep(len / 2, len / 2 - 0.015, Math.abs(u));
    },
  };
}

function retrocardiac(a: Anatomy, rng: Rng, sev: number, px: number, base: PartBase): LesionPart {
  const cx = a.cx + rng.uniform(0.07, 0.11);
  const cy = a.dome.left - rng.uniform(0.03, 0.06);
  const rx = rng.uniform(0.045, 0.065) + 0.006 * sev;
  const ry = rng.uniform(0.035, 0.05) + 0.005 * sev;
  const noise = new ValueNoise(rng, 12);
  return {
    ...base, kind: 'opacity', amp: 0.12 + 0.03 * sev, lungOnly: false, maskInLung: false,
    bounds: bounds(cx, cy, rx * 1.3, ry * 1.3), center: [cx, cy],
    value: (x, y) => {
      const r = Math.hypot((x - cx) / rx, (y - cy) / ry);
      return smoothstep(1.15, 0.75, r) * (0.75 + 0.5 * noise.at(x, y)) * (y < a.dome.left + 0.01 ? 1 : 0);
    },
  };
}

function edema(a: Anatomy, rng: Rng, side: Side, sev: number, px: number, base: PartBase): LesionPart[] {
  const s = sideSign(side);
  const cx = a.cx + s * (a.medW + rng.uniform(0.06, 0.09));
  const cy = a.hilumY + rng.uniform(0.0, 0.05);
  const rx = rng.uniform(0.12, 0.15) + 0.01 * sev;
  const ry = rng.uniform(0.14, 0.18) + 0.01 * sev;
  const noise = new ValueNoise(rng, 16);
  const lineGap = rng.uniform(0.018, 0.026);
  const lineW = Math.max(0.0035, 0.6 * px);
  const yTop = a.hilumY + 0.08;
  const haze: LesionPart = {
    ...base, kind: 'opacity', amp: [0.12, 0.17, 0.22][sev], lungOnly: true,
    bounds: bounds(cx, cy, rx * 1.8, ry * 1.8), center: [cx, cy],
    value: (x, y) => {
      const q = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
      if (q > 3.3) return 0;
      return smoothstep(0.2, 0.65, Math.exp(-q) * (0.65 + 0.7 * noise.at(x, y)));
    },
  };
  // Kerley B lines: short horizontal lines reaching the lateral pleura at the bases.
  const kerley: LesionPart = {
    ...base, kind: 'opacity', amp: 0.06 + 0.02 * sev, lungOnly: true, masked: false,
    bounds: side === 'right' ? [a.cx - a.hw - 0.01, yTop, a.cx, a.cp[side]] : [a.cx, yTop, a.cx + a.hw + 0.01, a.cp[side]],
    center: [a.cx + s * a.hw * 0.9, (yTop + a.cp[side]) / 2],
    value: (x, y) => {
      const toWall = lungLateral(a, side, y) - lateralDistance(a, side, x);
      if (toWall > 0.05 || toWall < 0) return 0;
      const ph = ((y - yTop) / lineGap) % 1;
      return smoothstep(lineW / lineGap + 0.05, lineW / lineGap, Math.abs(ph - 0.5)) * smoothstep(0.05, 0.02, toWall) * smoothstep(yTop, yTop + 0.05, y);
    },
  };
  return [haze, kerley];
}
