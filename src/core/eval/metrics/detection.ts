// Box detection metrics: IoU of [x, y, w, h] boxes, greedy NMS, and mAP over IoU thresholds
// 0.40:0.05:0.75 as MGCA evaluates RSNA detection.
//
// Which mAP: MGCA's detector (mgca/models/ssl_detector.py) feeds torchmetrics'
// MeanAveragePrecision(iou_thresholds=[0.4..0.75]), i.e. the COCO definition, not an average of
// per-image APs: detections of all evaluated images are pooled and ranked by score, each matched
// greedily to the best still-unmatched ground truth of its own image with IoU >= threshold,
// precision is made monotone (envelope) and sampled at the 101 recall points 0, 0.01, ..., 1;
// AP is their mean; mAP is the mean over thresholds (and over classes having ground truth).
// We implement that definition so our numbers compare with MGCA's and MLIP's tables.
//
// Which images: MGCA drops an image whose ground truth is empty before updating the metric, so
// false positives on healthy images never count; we do the same (documented in the results).
// MGCA also drops an image when NMS left no prediction at all (its loop `continue`s on None),
// which silently forgives every box missed on such an image. That inflates mAP, so it is off by
// default here (missed boxes count, AP falls); skipImagesWithoutPredictions: true reproduces it.

export type XYWH = readonly [number, number, number, number];

export interface Detection {
  box: XYWH;
  score: number;
  /** Class; detections of different classes never suppress or match each other. */
  label?: number | string;
}

export interface TruthBox {
  box: XYWH;
  label?: number | string;
}

/** IoU of two [x, y, w, h] boxes in continuous coordinates; 0 when the union is empty. */
export function boxIou(a: XYWH, b: XYWH): number {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = Math.max(0, a[2]) * Math.max(0, a[3]) + Math.max(0, b[2]) * Math.max(0, b[3]) - inter;
  return union > 0 ? inter / union : 0;
}

export interface NmsOptions {
  /** A box is suppressed when its IoU with a kept box of its class is >= this (MGCA: 0.5). */
  iouThreshold: number;
  /** Boxes scoring below this are dropped first (MGCA: confidence 0.5; kept when >=). */
  scoreThreshold?: number;
  /** At most this many boxes are kept, highest scores first (MGCA: 10). */
  maxBoxes?: number;
}

/**
 * Greedy NMS per class. Candidates are visited by descending score; equal scores keep their input
 * order (stable sort), so the earlier box of a tied pair survives. Output is in that visiting order.
 */
export function nms(dets: readonly Detection[], opts: NmsOptions): Detection[] {
  const minScore = opts.scoreThreshold ?? -Infinity;
  const order = dets
    .map((d, i) => ({ d, i }))
    .filter(({ d }) => d.score >= minScore)
    .sort((a, b) => b.d.score - a.d.score || a.i - b.i);
  const kept: Detection[] = [];
  const max = opts.maxBoxes ?? Infinity;
  for (const { d } of order) {
    if (kept.length >= max) break;
    const suppressed = kept.some((k) => k.label === d.label && boxIou(k.box, d.box) >= opts.iouThreshold);
    if (!suppressed) kept.push(d);
  }
  return kept;
}

/** 0.40, 0.45, ..., 0.75 (written out: accumulating 0.05 would drift in the last digit). */
export const MGCA_IOU_THRESHOLDS: readonly number[] = [0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75];

/** COCO's 101 recall points, computed as numpy.linspace does (i * 0.01, last exactly 1). */
const RECALL_POINTS: readonly number[] = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * 0.01));

export interface DetectionImage {
  predictions: readonly Detection[];
  truths: readonly TruthBox[];
}

export interface MapOptions {
  iouThresholds?: readonly number[];
  /** Detections kept per image, by score (COCO / torchmetrics: 100). */
  maxDetections?: number;
  /** Reproduce MGCA's skipping of images with no prediction (see the file comment). */
  skipImagesWithoutPredictions?: boolean;
}

export interface MapResult {
  /** Mean of the per-threshold APs; NaN when no evaluated image has a ground-truth box. */
  map: number;
  perThreshold: { iou: number; ap: number }[];
  imagesEvaluated: number;
  imagesSkippedNoTruth: number;
  imagesSkippedNoPrediction: number;
}

type Key = number | string | undefined;

/** AP of one class at one threshold over the given images (COCO accumulate); NaN without truths. */
function classAp(images: readonly DetectionImage[], cls: Key, iou: number, maxDet: number): number {
  const threshold = Math.min(iou, 1 - 1e-10);
  const pooled: { score: number; tp: boolean }[] = [];
  let nTruth = 0;
  for (const img of images) {
    const truths = img.truths.filter((t) => t.label === cls);
    nTruth += truths.length;
    const dets = img.predictions
      .map((d, i) => ({ d, i }))
      .filter(({ d }) => d.label === cls)
      .sort((a, b) => b.d.score - a.d.score || a.i - b.i)
      .slice(0, maxDet);
    const matched = new Array<boolean>(truths.length).fill(false);
    for (const { d } of dets) {
      let best = -1;
      let bestIou = threshold;
      truths.forEach((t, g) => {
        if (matched[g]) return;
        const v = boxIou(d.box, t.box);
        if (v < bestIou) return;
        bestIou = v;
        best = g;
      });
      if (best >= 0) matched[best] = true;
      pooled.push({ score: d.score, tp: best >= 0 });
    }
  }
  if (nTruth === 0) return NaN;
  // Array.prototype.sort is stable: ties keep image order, then score order within the image.
  pooled.sort((a, b) => b.score - a.score);
  const recall: number[] = [];
  const precision: number[] = [];
  let tp = 0, fp = 0;
  for (const p of pooled) {
    if (p.tp) tp++;
    else fp++;
    recall.push(tp / nTruth);
    precision.push(tp / (tp + fp));
  }
  for (let i = precision.length - 1; i > 0; i--) if (precision[i] > precision[i - 1]) precision[i - 1] = precision[i];
  let sum = 0;
  for (const r of RECALL_POINTS) {
    // First index whose recall reaches r (numpy searchsorted, side 'left'); none = precision 0.
    let lo = 0, hi = recall.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (recall[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    if (lo < precision.length) sum += precision[lo];
  }
  return sum / RECALL_POINTS.length;
}

export function meanAveragePrecision(images: readonly DetectionImage[], opts: MapOptions = {}): MapResult {
  const thresholds = opts.iouThresholds ?? MGCA_IOU_THRESHOLDS;
  const maxDet = opts.maxDetections ?? 100;
  let skippedTruth = 0, skippedPred = 0;
  const kept = images.filter((img) => {
    if (img.truths.length === 0) { skippedTruth++; return false; }
    if (opts.skipImagesWithoutPredictions && img.predictions.length === 0) { skippedPred++; return false; }
    return true;
  });
  const classes = new Set<Key>();
  for (const img of kept) {
    for (const t of img.truths) classes.add(t.label);
    for (const d of img.predictions) classes.add(d.label);
  }
  const all: number[] = [];
  const perThreshold = thresholds.map((iou) => {
    const aps = [...classes].map((c) => classAp(kept, c, iou, maxDet)).filter((v) => !Number.isNaN(v));
    all.push(...aps);
    return { iou, ap: aps.length === 0 ? NaN : aps.reduce((a, b) => a + b, 0) / aps.length };
  });
  return {
    map: all.length === 0 ? NaN : all.reduce((a, b) => a + b, 0) / all.length,
    perThreshold,
    imagesEvaluated: kept.length,
    imagesSkippedNoTruth: skippedTruth,
    imagesSkippedNoPrediction: skippedPred,
  };
}
