// Chest anatomy of one synthetic PA radiograph, in normalised "patient" coordinates (x right on the
// image = patient's left, y down, both in [0,1]). Geometry is sampled per study; the density field
// (higher = more attenuation = whiter) is evaluated per pixel by render.ts after the acquisition
// transform, so lesions and masks share exactly the same coordinates.
import type { Rng } from '../../rng';
import { clamp, smoothstep, SplatMap, ValueNoise } from './raster';

export type Side = 'right' | 'left';
export const SIDES: readonly Side[] = ['right', 'left'];

/** Patient right is on the image's left. */
export function sideSign(side: Side): number {
  return side === 'right' ? -1 : 1;
}

export interface Heart {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  /** Tilt of the long axis (apex down toward the patient's left). */
  tilt: number;
  /** Cardiothoracic ratio: heart width / thoracic width. */
  ctr: number;
}

export interface Anatomy {
  cx: number;
  /** Half-width of the thorax (inner rib margin) at its widest. */
  hw: number;
  apexY: number;
  /** Level of the widest thorax. */
  midY: number;
  dome: Record<Side, number>;
  /** Costophrenic angle level. */
  cp: Record<Side, number>;
  /** Upper mediastinum half-width. */
  medW: number;
  heart: Heart;
  knob: { x: number; y: number; r: number };
  hilumY: number;
  bodyHW: number;
  neckHW: number;
  shoulderY: number;
  ribY0: number;
  ribSpacing: number;
  ribTh: number;
  clavY: number;
  bubble?: { x: number; y: number; rx: number; ry: number };
  /** Soft-tissue (breast/chest wall) density scale. */
  tissue: number;
  markings: SplatMap;
  texture: ValueNoise;
  textureFine: ValueNoise;
}

export interface AnatomyAdjust {
  /** Forces a cardiothoracic ratio (cardiomegaly). */
  ctr?: number;
  /** Raises a hemidiaphragm (volume loss), normalised units. */
  raise?: Partial<Record<Side, number>>;
}

export function sampleAnatomy(rng: Rng, size: number, adjust: AnatomyAdjust = {}): Anatomy {
  const cx = 0.5;
  const hw = rng.uniform(0.35, 0.4);
  const apexY = rng.uniform(0.11, 0.15);
  const domeR = rng.uniform(0.64, 0.71);
  const domeL = domeR + rng.uniform(0.01, 0.04);
  const dome: Record<Side, number> = {
    right: domeR - (adjust.raise?.right ?? 0),
    left: domeL - (adjust.raise?.left ?? 0),
  };
  const cpDrop = rng.uniform(0.08, 0.12);
  const cp: Record<Side, number> = { right: dome.right + cpDrop, left: dome.left + cpDrop + rng.uniform(-0.01, 0.01) };
  const ctr = adjust.ctr ?? rng.uniform(0.38, 0.48);
  const width = ctr * 2 * hw;
  const ry = rng.uniform(0.11, 0.13) + (ctr - 0.43) * 0.12;
  const tilt = rng.uniform(0.3, 0.5);
  // rx such that the tilted ellipse's horizontal extent is exactly the cardiac width (CTR holds).
  const halfW = width / 2;
  const rx = Math.sqrt(Math.max(1e-4, halfW * halfW - (ry * Math.sin(tilt)) ** 2)) / Math.cos(tilt);
  const heart: Heart = { cx: cx + 0.12 * width, cy: dome.left - rng.uniform(0.03, 0.06), rx, ry, tilt, ctr };
  const medW = rng.uniform(0.055, 0.07);
  const heartTop = heart.cy - Math.sqrt((rx * Math.sin(tilt)) ** 2 + (ry * Math.cos(tilt)) ** 2);
  const anatomy: Anatomy = {
    cx, hw, apexY, midY: apexY + rng.uniform(0.3, 0.36), dome, cp, medW, heart,
    knob: { x: cx + medW - 0.008, y: heartTop - rng.uniform(0.05, 0.08), r: rng.uniform(0.032, 0.042) },
    hilumY: rng.uniform(0.42, 0.46),
    bodyHW: hw + rng.uniform(0.05, 0.08),
    neckHW: rng.uniform(0.09, 0.12),
    shoulderY: rng.uniform(0.08, 0.12),
    ribY0: apexY + rng.uniform(-0.005, 0.015),
    ribSpacing: (Math.max(cp.right, cp.left) - apexY) / rng.uniform(8.6, 9.4),
    ribTh: rng.uniform(0.016, 0.021),
    clavY: apexY + rng.uniform(0.0, 0.04),
    bubble: rng.bool(0.7) ? { x: cx + rng.uniform(0.12, 0.22), y: dome.left + rng.uniform(0.04, 0.07), rx: rng.uniform(0.03, 0.06), ry: rng.uniform(0.02, 0.035) } : undefined,
    tissue: rng.uniform(0.9, 1.1),
    markings: new SplatMap(size),
    texture: new ValueNoise(rng, 10),
    textureFine: new ValueNoise(rng, 28),
  };
  drawVessels(anatomy, rng);
  return anatomy;
}

/** Distance of x from the midline toward `side` (positive inside that hemithorax). */
export function lateralDistance(a: Anatomy, side: Side, x: number): number {
  return sideSign(side) * (x - a.cx);
}

export function lungLateral(a: Anatomy, side: Side, y: number): number {
  if (y < a.midY) {
    const t = (a.midY - y) / (a.midY - a.apexY);
    return t >= 1 ? 0 : a.hw * Math.sqrt(1 - t * t);
  }
  const t = (y - a.midY) / Math.max(1e-3, a.cp[side] - a.midY);
  return a.hw * (1 - 0.06 * t * t);
}

export function lungMedial(a: Anatomy, y: number): number {
  const top = a.apexY + 0.1;
  const u = y < top ? (top - y) / 0.1 : 0;
  return a.medW + 0.11 * u * u;
}

export function diaphragmY(a: Anatomy, side: Side, d: number): number {
  const t = clamp((d - a.medW) / (a.hw - a.medW), 0, 1);
  const u = (t - 0.4) / 0.6;
  return a.dome[side] + (a.cp[side] - a.dome[side]) * u * u;
}

/** Signed margin (normalised units, positive inside) of the lung field, before the heart cut-out. */
export function lungMargin(a: Anatomy, side: Side, x: number, y: number): number {
  const d = lateralDistance(a, side, x);
  return Math.min(d - lungMedial(a, y), lungLateral(a, side, y) - d, diaphragmY(a, side, d) - y);
}

/** Signed margin of the heart shadow (positive inside). */
export function heartMargin(a: Anatomy, x: number, y: number): number {
  const h = a.heart;
  const c = Math.cos(h.tilt);
  const s = Math.sin(h.tilt);
  const u = (x - h.cx) * c + (y - h.cy) * s;
  const v = -(x - h.cx) * s + (y - h.cy) * c;
  const r = Math.sqrt((u / h.rx) ** 2 + (v / h.ry) ** 2);
  // The heart sits on the diaphragm: cut at the dome under it, so no lung shows below it.
  const side: Side = x < a.cx ? 'right' : 'left';
  const below = y - (diaphragmY(a, side, Math.abs(x - a.cx)) + 0.015);
  return Math.min((1 - r) * Math.min(h.rx, h.ry), -below);
}

/** Lung-field coverage at a point in [0,1] (soft edge of `edge` units), heart and aortic knob excluded. */
export function lungAt(a: Anatomy, x: number, y: number, edge: number): number {
  const side: Side = x < a.cx ? 'right' : 'left';
  const m = lungMargin(a, side, x, y);
  if (m < -edge) return 0;
  let v = smoothstep(-edge, edge, m);
  v *= 1 - smoothstep(-edge, edge, heartMargin(a, x, y));
  const k = a.knob;
  v *= 1 - smoothstep(-edge, edge, k.r - Math.hypot(x - k.x, y - k.y));
  return v;
}

export function whichSide(a: Anatomy, x: number): Side {
  return x < a.cx ? 'right' : 'left';
}

/** Pulmonary vessels: branching trees from each hilum, drawn once into the markings map. */
function drawVessels(a: Anatomy, rng: Rng): void {
  for (const side of SIDES) {
    const s = sideSign(side);
    const hx = a.cx + s * (a.medW + 0.05);
    const hy = a.hilumY;
    const n = 7;
    for (let i = 0; i < n; i++) {
      // Angles from up-medial-ish (-115 deg) to down (+100 deg) around the lateral direction.
      const ang = ((-115 + (215 * (i + rng.uniform(0.1, 0.9))) / n) * Math.PI) / 180;
      branch(a.markings, rng, hx, hy, s * Math.cos(ang), Math.sin(ang), rng.uniform(0.07, 0.1), 0.009, 0);
    }
  }
}

function branch(map: SplatMap, rng: Rng, x: number, y: number, dx: number, dy: number, len: number, w: number, depth: number): void {
  // Two slightly bent pieces per branch, so vessels do not look ruler-straight.
  const bend = rng.uniform(-0.3, 0.3);
  const bx = dx * Math.cos(bend) - dy * Math.sin(bend);
  const by = dx * Math.sin(bend) + dy * Math.cos(bend);
  const xm = x + dx * len * 0.5;
  const ym = y + dy * len * 0.5;
  const x1 = xm + bx * len * 0.5;
  const y1 = ym + by * len * 0.5;
  const v = clamp(0.4 + w * 50, 0.3, 0.9);
  map.line(x, y, xm, ym, w, v);
  map.line(xm, ym, x1, y1, w * 0.9, v);
  if (depth >= 4) return;
  for (const turn of [-1, 1]) {
    if (depth >= 2 && rng.bool(0.3)) continue;
    const a = turn * rng.uniform(0.2, 0.6);
    const c = Math.cos(a);
    const s = Math.sin(a);
    branch(map, rng, x1, y1, bx * c - by * s, bx * s + by * c, len * rng.uniform(0.7, 0.9), w * 0.7, depth + 1);
  }
}

export interface BaseSample {
  /** Attenuation (0 air .. ~1 bone). */
  density: number;
  /** Lung-field coverage in [0,1]. */
  lung: number;
  /** Pulmonary markings + parenchymal texture that a pneumothorax removes. */
  lungDetail: number;
}

/** Density of the normal anatomy at (x, y). `edge` = soft-edge width (about one pixel). */
export function sampleBase(a: Anatomy, x: number, y: number, edge: number, out: BaseSample): void {
  const dx = x - a.cx;
  const adx = Math.abs(dx);
  // Body outline: neck above the shoulders, widening to the chest wall; abdomen continues below.
  const shoulder = smoothstep(a.shoulderY - 0.06, a.shoulderY + 0.05, y);
  const bodyHalf = a.neckHW + (a.bodyHW + 0.04 - a.neckHW) * shoulder - 0.03 * smoothstep(0.6, 1, y);
  const bodyIn = smoothstep(-edge * 2, edge * 2, bodyHalf - adx);
  // Tissue is thinner toward the body edge, so the periphery is darker.
  const thick = Math.sqrt(clamp((bodyHalf - adx) / 0.2, 0, 1));
  let density = bodyIn * (0.24 + 0.34 * thick) * a.tissue;

  const lung = lungAt(a, x, y, edge);
  const d = adx;
  const side: Side = dx < 0 ? 'right' : 'left';
  // Air in the lungs; lungs are a bit darker laterally and at the apices (less overlapping tissue).
  const apexFade = smoothstep(a.apexY, a.apexY + 0.12, y);
  const baseFade = smoothstep(a.midY, a.cp[side] + 0.02, y);
  density -= lung * (0.3 + 0.05 * smoothstep(0.05, a.hw, d) * apexFade - 0.04 * (1 - apexFade) - 0.05 * baseFade);
  // Trachea: an air column in the upper mediastinum.
  if (y < a.hilumY - 0.06 && adx < 0.03) {
    const tr = smoothstep(0.018 + edge, 0.018 - edge, adx) * smoothstep(0.0, 0.06, y) * (1 - smoothstep(a.hilumY - 0.14, a.hilumY - 0.06, y));
    density -= 0.1 * tr * bodyIn;
  }
  // Heart a bit denser than the rest of the mediastinum; liver under the right dome.
  density += 0.03 * smoothstep(-edge, edge, heartMargin(a, x, y));
  const dia = diaphragmY(a, side, d);
  if (y > dia) density += (side === 'right' ? 0.06 : 0.04) * bodyIn * smoothstep(dia, dia + 0.03, y);
  if (a.bubble) {
    const b = a.bubble;
    const r = Math.hypot((x - b.x) / b.rx, (y - b.y) / b.ry);
    if (r < 1.2 && y > a.dome.left + 0.01) density -= 0.12 * smoothstep(1.1, 0.8, r);
  }
  // Hila.
  const hx = a.cx + (dx < 0 ? -1 : 1) * (a.medW + 0.045);
  density += 0.1 * Math.exp(-(((x - hx) / 0.04) ** 2) - (((y - a.hilumY) / 0.06) ** 2)) * (0.5 + 0.5 * lung);

  // Spine: visible through the mediastinum, with darker disc spaces.
  if (adx < 0.05 && y > 0.02) {
    const col = smoothstep(0.04 + edge, 0.03 - edge, adx);
    const disc = 0.5 + 0.5 * Math.cos(((y - a.apexY) / a.ribSpacing) * 2 * Math.PI);
    density += col * (0.045 + 0.025 * disc) * bodyIn;
  }
  // Bone contrast is lost against dense soft tissue, so ribs show mainly over the lungs.
  density += bodyIn * (ribs(a, side, d, y, edge) * (0.3 + 0.7 * lung) + clavicle(a, d, y, edge) * (0.5 + 0.5 * lung));

  let lungDetail = 0;
  if (lung > 0) {
    const fall = 1 - 0.75 * smoothstep(0.08, a.hw * 0.9, d);
    lungDetail = lung * (0.07 * a.markings.at(x, y) * fall + 0.035 * (a.texture.at(x, y) - 0.5) + 0.03 * (a.textureFine.at(x, y) - 0.5));
  }
  out.density = density;
  out.lung = lung;
  out.lungDetail = lungDetail;
}

function ribProfile(dist: number, half: number, edge: number): number {
  // Rib shadow with denser cortical margins.
  const p = Math.abs(dist) / half;
  if (p > 1 + edge / half) return 0;
  const body = smoothstep(1 + edge / half, 1 - edge / half, p);
  return body * (0.55 + 0.45 * p ** 4);
}

function ribs(a: Anatomy, side: Side, d: number, y: number, edge: number): number {
  const tn = d / a.hw;
  if (tn < 0.08 || tn > 1.12 || y < a.apexY - 0.06 || y > a.cp[side] + 0.05) return 0;
  const half = a.ribTh / 2;
  let v = 0;
  // Posterior ribs: from the spine, slightly up, then arcing down to the lateral wall.
  const post = -0.06 * tn + 0.3 * tn * tn;
  const kp = Math.round((y - a.ribY0 - post) / a.ribSpacing);
  for (let k = kp - 1; k <= kp + 1; k++) {
    if (k < -1 || k > 9) continue;
    v = Math.max(v, 0.075 * ribProfile(y - (a.ribY0 + k * a.ribSpacing + post), half, edge));
  }
  // Anterior ribs: fainter, running down and medially from the lateral wall.
  if (tn > 0.35) {
    const ant = 0.1 * (1 - tn);
    const ka = Math.round((y - a.ribY0 - 0.05 - ant) / (a.ribSpacing * 1.05));
    for (let k = ka - 1; k <= ka + 1; k++) {
      if (k < 0 || k > 6) continue;
      v += 0.045 * ribProfile(y - (a.ribY0 + 0.05 + k * a.ribSpacing * 1.05 + ant), half * 1.2, edge) * smoothstep(0.35, 0.5, tn);
    }
  }
  // Ribs fade where they leave the thorax.
  return v * smoothstep(1.12, 1.0, tn);
}

function clavicle(a: Anatomy, d: number, y: number, edge: number): number {
  if (d < 0.03 || d > 0.36) return 0;
  const t = (d - 0.03) / 0.33;
  const cy = a.clavY + 0.035 - 0.07 * t + 0.012 * Math.sin(t * Math.PI * 2);
  const v = ribProfile(y - cy, 0.013, edge);
  return 0.15 * v * smoothstep(0.36, 0.3, d);
}
