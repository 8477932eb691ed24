// YOLOv3 box coding, pure and tensor-free so it can be unit-tested by hand: anchors rescaled to
// the input size, the assignment of a ground-truth box to one (scale, cell, anchor) and its
// targets (tx, ty as in-cell offsets under a sigmoid, tw, th as log ratios to the anchor), and
// the inverse decoding of raw head outputs back to [x, y, w, h] boxes in input pixels.
import { boxIou, type XYWH } from './metrics/detection';

/** YOLOv3's nine anchors for a 416 px input, [w, h], grouped by scale finest (stride 8) first. */
export const YOLOV3_ANCHORS_416: readonly (readonly (readonly [number, number])[])[] = [
  [[10, 13], [16, 30], [33, 23]],
  [[30, 61], [62, 45], [59, 119]],
  [[116, 90], [156, 198], [373, 326]],
];

export type Anchor = readonly [number, number];

/** Anchors scaled by size / 416, so they cover the same fraction of the image at any input size. */
export function scaleAnchors(size: number, base = YOLOV3_ANCHORS_416): Anchor[][] {
  const k = size / 416;
  return base.map((scale) => scale.map(([w, h]) => [w * k, h * k] as const));
}

/** One scale of the head: its grid and the three anchors predicted per cell. */
export interface ScaleSpec {
  gridH: number;
  gridW: number;
  anchors: readonly Anchor[];
}

export interface BoxTarget {
  scale: number;
  anchor: number;
  gx: number;
  gy: number;
  /** Offset of the centre inside its cell, in [0, 1): the target of sigmoid(raw x). */
  tx: number;
  ty: number;
  /** log(w / anchor w), log(h / anchor h): the targets of the raw w, h outputs. */
  tw: number;
  th: number;
}

/** IoU of two boxes sharing a centre: YOLOv3's rule for which anchor answers for a box. */
export function shapeIou(a: Anchor, b: Anchor): number {
  const inter = Math.min(a[0], b[0]) * Math.min(a[1], b[1]);
  const union = a[0] * a[1] + b[0] * b[1] - inter;
  return union > 0 ? inter / union : 0;
}

/** Assigns a box (input pixels) to the best-shaped anchor of all scales and encodes its targets. */
export function encodeBox(box: XYWH, scales: readonly ScaleSpec[], size: number): BoxTarget {
  const [x, y, w, h] = box;
  let best = { scale: 0, anchor: 0, iou: -1 };
  scales.forEach((s, si) => s.anchors.forEach((a, ai) => {
    const v = shapeIou([w, h], a);
    if (v > best.iou) best = { scale: si, anchor: ai, iou: v };
  }));
  const s = scales[best.scale];
  const strideX = size / s.gridW, strideY = size / s.gridH;
  const cx = (x + w / 2) / strideX, cy = (y + h / 2) / strideY;
  const gx = Math.min(s.gridW - 1, Math.max(0, Math.floor(cx)));
  const gy = Math.min(s.gridH - 1, Math.max(0, Math.floor(cy)));
  const a = s.anchors[best.anchor];
  return {
    scale: best.scale, anchor: best.anchor, gx, gy,
    tx: cx - gx, ty: cy - gy,
    tw: Math.log(Math.max(w, 1e-6) / a[0]), th: Math.log(Math.max(h, 1e-6) / a[1]),
  };
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** Raw head outputs [x, y, w, h] of one (scale, cell, anchor) -> box in input pixels. */
export function decodeRaw(raw: readonly [number, number, number, number], s: ScaleSpec, anchor: number, gx: number, gy: number, size: number): XYWH {
  const strideX = size / s.gridW, strideY = size / s.gridH;
  const a = s.anchors[anchor];
  // exp is clamped so an untrained head cannot produce Infinity-sized boxes.
  const w = a[0] * Math.exp(Math.min(raw[2], 10)), h = a[1] * Math.exp(Math.min(raw[3], 10));
  const cx = (gx + sigmoid(raw[0])) * strideX, cy = (gy + sigmoid(raw[1])) * strideY;
  return [cx - w / 2, cy - h / 2, w, h];
}

/** Channels of the per-cell target planes built by targetPlanes (layout [h, w, 3, TARGET_CH]). */
export const TARGET_CH = 7;

/**
 * Dense YOLO targets of one image for every scale: per (cell, anchor) [pos, neg, tx, ty, tw, th,
 * boxWeight]. neg = 1 where no box is assigned and the anchor's prior box at that cell overlaps
 * no ground truth with IoU > ignoreIou (YOLOv3 ignores those; we use the prior, not the
 * prediction, so targets are fixed and precomputable). boxWeight = 2 - w*h/size^2 (YOLOv3's
 * small-box emphasis). When two boxes land on the same slot the later one wins.
 */
export function targetPlanes(boxes: readonly XYWH[], scales: readonly ScaleSpec[], size: number, ignoreIou = 0.5): Float32Array[] {
  const planes = scales.map((s) => {
    const p = new Float32Array(s.gridH * s.gridW * s.anchors.length * TARGET_CH);
    for (let i = 0; i < s.gridH * s.gridW * s.anchors.length; i++) p[i * TARGET_CH + 1] = 1;
    return p;
  });
  if (boxes.length > 0) {
    scales.forEach((s, si) => {
      const sx = size / s.gridW, sy = size / s.gridH;
      for (let gy = 0; gy < s.gridH; gy++) for (let gx = 0; gx < s.gridW; gx++) s.anchors.forEach((a, ai) => {
        const prior: XYWH = [(gx + 0.5) * sx - a[0] / 2, (gy + 0.5) * sy - a[1] / 2, a[0], a[1]];
        if (boxes.some((b) => boxIou(prior, b) > ignoreIou)) planes[si][((gy * s.gridW + gx) * s.anchors.length + ai) * TARGET_CH + 1] = 0;
      });
    });
  }
  for (const b of boxes) {
    const t = encodeBox(b, scales, size);
    const s = scales[t.scale];
    const o = ((t.gy * s.gridW + t.gx) * s.anchors.length + t.anchor) * TARGET_CH;
    planes[t.scale].set([1, 0, t.tx, t.ty, t.tw, t.th, 2 - (b[2] * b[3]) / (size * size)], o);
  }
  return planes;
}
