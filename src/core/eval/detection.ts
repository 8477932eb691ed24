// Detection transfer (METHODS.md section 6, MGCA's protocol as MLIP reports it): a YOLOv3-style
// head on the frozen image encoder's last three feature stages, 3 anchors per scale (YOLOv3's,
// rescaled to the input size), trained on 1/10/100% of the train studies that have boxes (seeded
// fractions x seeds), at most 10 boxes per image; predictions kept at confidence >= 0.5, NMS at
// IoU 0.5, at most 10 per image; metric = mAP averaged over IoU 0.40:0.05:0.75 (COCO-style, see
// metrics/detection.ts).
// Images without ground-truth boxes: MGCA skips them in the metric (false positives on healthy
// films never count). We do the same, and since they would then only matter as training
// negatives, which MGCA's box dataset does not use either, both sides use box studies only; the
// count left out is published as eval_images_without_boxes and in details.notes.
// CPU budget: the encoder is frozen, so its three maps are computed once per image and the head
// (per scale conv3x3 -> leaky ReLU -> conv1x1 to 3 x [x, y, w, h, obj], no top-down path: lighter
// than YOLOv3's neck) trains on those cached features, standardised per channel.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeJsonAtomic } from '../fs-atomic';
import { mixSeed, Rng } from '../rng';
import { AdamW } from '../train/adamw';
import { readAllAndDispose, readScalar } from '../runtime/host-read';
import { decodeImageFile, errorText, normalizeInPlace, padPlacement, resizeAndPad, type PadPlacement } from '../data/image-io';
import type { LoadedStudy } from '../data/manifest-types';
import type { LoadedRun } from '../train/run-loader';
import { mean, meanAveragePrecision, nms, MGCA_IOU_THRESHOLDS, type Detection, type DetectionImage, type XYWH } from './metrics';
import { drawFraction } from './linear-probe';
import { decodeRaw, scaleAnchors, targetPlanes, TARGET_CH, type ScaleSpec } from './yolo';
import { RunAhead } from '../runtime/run-ahead';

export const DETECTION_DEFAULTS = {
  fractions: [0.01, 0.1, 1], epochs: 10, batchSize: 16, lr: 3e-3, weightDecay: 1e-6, hidden: 32, maxStudies: 400,
  maxBoxes: 10, confidence: 0.5, nmsIou: 0.5, previewImages: 4,
};

export interface DetectionOptions extends Partial<typeof DETECTION_DEFAULTS> {
  seeds: number[];
  /** Where the fraction id files go (RUN/eval/detection-fractions); not written when absent. */
  fractionsDir?: string;
  dataHash?: string;
  log?: (m: string) => void;
}

/** A box as drawn on the stored image: [x, y, w, h] in the image file's own pixels. */
export type ImageBox = [number, number, number, number];

export interface DetectionPreviewImage {
  id: string;
  /** Absolute path of the image file; boxes are in its pixel coordinates. */
  path: string;
  width: number;
  height: number;
  truth: ImageBox[];
  predicted: { box: ImageBox; score: number }[];
  /** PNG of the image (at most 256 px a side, same aspect) relative to RUN/eval, for the panel. */
  thumbnail?: string;
}

export interface DetectionPreview {
  task: 'detection';
  /** The fraction and seed of the head that drew these predictions (the largest fraction, first seed). */
  fraction: number;
  seed: number;
  images: DetectionPreviewImage[];
}

export interface DetectionResult {
  metrics: Record<string, number>;
  details: Record<string, unknown>;
  preview?: DetectionPreview;
}

interface DetImage {
  study: LoadedStudy;
  width: number;
  height: number;
  place: PadPlacement;
  /** Ground truth in input pixels (after resize-and-pad). */
  boxes: XYWH[];
}

/** Cached frozen features: per scale [n, h, w, c] row-major. */
interface FeatureSet {
  images: DetImage[];
  feats: Float32Array[];
}

/** Stored-image box -> input-pixel box, through the same resize-and-pad as the image. */
export function toInputBox(b: XYWH, width: number, height: number, p: PadPlacement): XYWH {
  const kx = p.width / width, ky = p.height / height;
  return [p.left + b[0] * kx, p.top + b[1] * ky, b[2] * kx, b[3] * ky];
}

export function toImageBox(b: XYWH, width: number, height: number, p: PadPlacement): ImageBox {
  const kx = p.width / width, ky = p.height / height;
  return [(b[0] - p.left) / kx, (b[1] - p.top) / ky, b[2] / kx, b[3] / ky];
}

async function loadAndEncode(run: LoadedRun, studies: readonly LoadedStudy[], size: number, maxBoxes: number, log: (m: string) => void): Promise<{ set: FeatureSet; shapes: [number, number, number][] }> {
  const images: DetImage[] = [];
  const pixels: Float32Array[] = [];
  for (const s of studies) {
    try {
      const img = await decodeImageFile(s.imagePath);
      const place = padPlacement(img.width, img.height, size);
      const r = resizeAndPad(img, size);
      const data = new Float32Array(r.data);
      normalizeInPlace(data);
      const boxes = (s.boxes ?? []).slice(0, maxBoxes).map(([x, y, w, h]) => toInputBox([x, y, w, h], img.width, img.height, place)).filter((b) => b[2] > 0 && b[3] > 0);
      images.push({ study: s, width: img.width, height: img.height, place, boxes });
      pixels.push(data);
    } catch (e) {
      log(`detection: skipped ${s.id}: ${errorText(e)}`);
    }
  }
  const parts: Float32Array[][] = [];
  let shapes: [number, number, number][] = [];
  const B = 32;
  for (let start = 0; start < images.length; start += B) {
    const n = Math.min(B, images.length - start);
    const x = new Float32Array(n * size * size);
    for (let i = 0; i < n; i++) x.set(pixels[start + i], i * size * size);
    const maps = tf.tidy(() => {
      const out = run.model.image.forward(tf.tensor4d(x, [n, size, size, 1]), false);
      const [gh, gw] = out.grid;
      // An encoder without a pyramid still gets a (single-scale, three-anchor-set) head on its local map.
      return out.pyramid ?? [tf.reshape(out.local, [n, gh, gw, out.local.shape[2]]) as tf.Tensor4D];
    });
    shapes = maps.map((m) => [m.shape[1], m.shape[2], m.shape[3]]);
    // Every scale of the batch in one device round trip.
    const vals = await readAllAndDispose(maps);
    vals.forEach((v, k) => { (parts[k] ??= []).push(v); });
  }
  const feats = parts.map((p) => {
    const all = new Float32Array(p.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const q of p) { all.set(q, o); o += q.length; }
    return all;
  });
  return { set: { images, feats }, shapes };
}

/** Per-channel mean and std of the given rows' features (all cells), per scale. */
function channelStats(set: FeatureSet, rows: readonly number[], shapes: readonly [number, number, number][]): { mu: Float32Array; sd: Float32Array }[] {
  return shapes.map(([h, w, c], k) => {
    const f = set.feats[k], cells = h * w;
    const mu = new Float64Array(c), sq = new Float64Array(c);
    for (const r of rows) for (let i = 0; i < cells; i++) for (let ch = 0; ch < c; ch++) {
      const v = f[(r * cells + i) * c + ch];
      mu[ch] += v;
      sq[ch] += v * v;
    }
    const n = Math.max(1, rows.length * cells);
    const m = Float32Array.from(mu, (v) => v / n);
    const sd = Float32Array.from(sq, (v, ch) => Math.sqrt(Math.max(0, v / n - m[ch] * m[ch])) || 1);
    return { mu: m, sd };
  });
}

function batchFeatures(set: FeatureSet, rows: readonly number[], shapes: readonly [number, number, number][], stats: { mu: Float32Array; sd: Float32Array }[]): tf.Tensor4D[] {
  return shapes.map(([h, w, c], k) => {
    const per = h * w * c;
    const out = new Float32Array(rows.length * per);
    rows.forEach((r, i) => {
      const src = set.feats[k].subarray(r * per, (r + 1) * per);
      for (let j = 0; j < per; j++) out[i * per + j] = (src[j] - stats[k].mu[j % c]) / stats[k].sd[j % c];
    });
    return tf.tensor4d(out, [rows.length, h, w, c]);
  });
}

class YoloHead {
  readonly vars: tf.Variable[] = [];
  private static count = 0;
  constructor(channels: readonly number[], hidden: number, anchors: number, rng: Rng) {
    const id = YoloHead.count++;
    const he = (shape: number[], fan: number, name: string): tf.Variable =>
      tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.next() * 2 - 1) * Math.sqrt(6 / fan)), shape), true, `det${id}_${name}`);
    // Objectness starts at p = 0.01 (RetinaNet's prior) so the untrained head predicts no boxes.
    const bias2 = Float32Array.from({ length: anchors * 5 }, (_, i) => (i % 5 === 4 ? -Math.log(99) : 0));
    // In tidy: the initial values are released once the variables hold them.
    tf.tidy(() => channels.forEach((c, k) => {
      this.vars.push(he([3, 3, c, hidden], 9 * c, `s${k}_w1`), tf.variable(tf.zeros([hidden]), true, `det${id}_s${k}_b1`),
        he([1, 1, hidden, anchors * 5], hidden, `s${k}_w2`), tf.variable(tf.tensor1d(bias2), true, `det${id}_s${k}_b2`));
    }));
  }
  /** feats[k] [B, h, w, c] -> raw [B, h, w, anchors * 5] (x, y, w, h, obj per anchor). */
  apply(feats: readonly tf.Tensor4D[]): tf.Tensor4D[] {
    return feats.map((f, k) => {
      const [w1, b1, w2, b2] = this.vars.slice(4 * k, 4 * k + 4);
      const h = tf.leakyRelu(tf.add(tf.conv2d(f, w1 as tf.Tensor4D, 1, 'same'), b1), 0.1) as tf.Tensor4D;
      return tf.add(tf.conv2d(h, w2 as tf.Tensor4D, 1, 'same'), b2) as tf.Tensor4D;
    });
  }
  dispose(): void { tf.dispose(this.vars); }
}

const bce = (logit: tf.Tensor, y: tf.Tensor): tf.Tensor => tf.add(tf.sub(tf.relu(logit), tf.mul(logit, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logit)))));

/** YOLOv3 loss summed over cells and anchors, averaged over images. */
function yoloLoss(raw: readonly tf.Tensor4D[], targets: readonly tf.Tensor[], nA: number): tf.Scalar {
  const B = raw[0].shape[0];
  let total: tf.Tensor = tf.scalar(0);
  raw.forEach((r, k) => {
    const [, h, w] = r.shape;
    const [px, py, pw, ph, po] = tf.split(tf.reshape(r, [B, h, w, nA, 5]), 5, -1);
    const [pos, neg, tx, ty, tw, th, wt] = tf.split(targets[k], TARGET_CH, -1);
    const boxW = tf.mul(pos, wt);
    const xy = tf.mul(boxW, tf.add(bce(px, tx), bce(py, ty)));
    const wh = tf.mul(tf.mul(boxW, 0.5), tf.add(tf.square(tf.sub(pw, tw)), tf.square(tf.sub(ph, th))));
    const obj = tf.add(tf.mul(pos, bce(po, tf.onesLike(po))), tf.mul(neg, bce(po, tf.zerosLike(po))));
    total = tf.add(total, tf.sum(tf.add(tf.add(xy, wh), obj)));
  });
  return tf.div(total, B) as tf.Scalar;
}

/** Confidence filter, decoding and NMS of one image's raw outputs; boxes in input pixels. */
function detect(raws: readonly Float32Array[], img: number, scales: readonly ScaleSpec[], size: number, o: typeof DETECTION_DEFAULTS): Detection[] {
  const cands: Detection[] = [];
  scales.forEach((s, k) => {
    const nA = s.anchors.length, per = s.gridH * s.gridW * nA * 5;
    const r = raws[k].subarray(img * per, (img + 1) * per);
    for (let gy = 0; gy < s.gridH; gy++) for (let gx = 0; gx < s.gridW; gx++) for (let a = 0; a < nA; a++) {
      const off = ((gy * s.gridW + gx) * nA + a) * 5;
      const score = 1 / (1 + Math.exp(-r[off + 4]));
      if (score < o.confidence) continue;
      cands.push({ box: decodeRaw([r[off], r[off + 1], r[off + 2], r[off + 3]], s, a, gx, gy, size), score });
    }
  });
  return nms(cands, { iouThreshold: o.nmsIou, scoreThreshold: o.confidence, maxBoxes: o.maxBoxes });
}

export async function runDetection(run: LoadedRun, trainStudies: readonly LoadedStudy[], evalStudies: readonly LoadedStudy[], opts: DetectionOptions): Promise<DetectionResult> {
  const o = { ...DETECTION_DEFAULTS, ...opts };
  const log = opts.log ?? (() => {});
  const size = run.config.model.image.imageSize;
  const hasBoxes = (s: LoadedStudy): boolean => (s.boxes?.length ?? 0) > 0;
  const trainBox = trainStudies.filter(hasBoxes).slice(0, o.maxStudies);
  const evalBox = evalStudies.filter(hasBoxes).slice(0, o.maxStudies);
  const { set: train, shapes } = await loadAndEncode(run, trainBox, size, o.maxBoxes, log);
  const { set: test } = await loadAndEncode(run, evalBox, size, o.maxBoxes, log);
  const metrics: Record<string, number> = {
    train_images: train.images.length, eval_images: test.images.length, eval_images_without_boxes: evalStudies.length - evalStudies.filter(hasBoxes).length,
  };
  const base = scaleAnchors(size);
  // One map (no pyramid): its single scale takes the middle anchors.
  const anchorSets = shapes.length === 3 ? base : shapes.length === 1 ? [base[1]] : base.slice(-shapes.length);
  const scales: ScaleSpec[] = shapes.map(([h, w], k) => ({ gridH: h, gridW: w, anchors: anchorSets[k] }));
  const nA = 3;
  const planes = (set: FeatureSet): Float32Array[][] => set.images.map((im) => targetPlanes(im.boxes, scales, size));
  const trainTargets = planes(train);
  let preview: DetectionPreview | undefined;
  const notes = [
    `images without ground-truth boxes are skipped in the metric as MGCA does (${metrics.eval_images_without_boxes} in the eval split) and not used for training`,
    'mAP = COCO-style AP (101 recall points, pooled over images) averaged over IoU 0.40:0.05:0.75',
    'boxes are mapped through the same resize-and-pad as the image; preview boxes are in stored-image pixels',
  ];
  if (train.images.length === 0 || test.images.length === 0) {
    for (const f of o.fractions) metrics[`mAP@${+(f * 100).toFixed(2)}%`] = NaN;
    return { metrics, details: detailsOf(o, scales, notes) };
  }
  const largest = Math.max(...o.fractions);
  for (const fraction of o.fractions) {
    const maps: number[] = [];
    for (const seed of o.seeds) {
      const rows = drawFraction(train.images.length, fraction, seed);
      if (o.fractionsDir) {
        writeJsonAtomic(path.join(o.fractionsDir, `${o.dataHash ?? 'data'}-${+(fraction * 100).toFixed(2)}pct-seed${seed}.json`), {
          fraction, seed, split: 'train', ids: rows.map((r) => train.images[r].study.id),
        });
      }
      const stats = channelStats(train, rows, shapes);
      const rng = new Rng(mixSeed(seed, 0xde7, Math.round(fraction * 1e4)));
      const head = new YoloHead(shapes.map((s) => s[2]), o.hidden, nA, rng);
      const opt = new AdamW({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: o.weightDecay }, () => false);
      try {
        const runAhead = new RunAhead();
        for (let epoch = 0; epoch < o.epochs; epoch++) {
          const order = rng.shuffle([...rows]);
          // The epoch's loss sum stays on the device (a running scalar, only in the logged last
          // epoch); it is read once, when it is logged.
          const logged = epoch === o.epochs - 1;
          let lossSum: tf.Scalar | undefined;
          let batches = 0;
          try {
            for (let s = 0; s < order.length; s += o.batchSize) {
              const idx = order.slice(s, s + o.batchSize);
              const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
                const feats = batchFeatures(train, idx, shapes, stats);
                const targets = scales.map((sc, k) => {
                  const per = sc.gridH * sc.gridW * nA * TARGET_CH;
                  const t = new Float32Array(idx.length * per);
                  idx.forEach((r, i) => t.set(trainTargets[r][k], i * per));
                  return tf.tensor(t, [idx.length, sc.gridH, sc.gridW, nA, TARGET_CH]);
                });
                return yoloLoss(head.apply(feats), targets, nA);
              }), head.vars);
              batches++;
              if (logged && !lossSum) lossSum = value;
              else {
                if (logged) {
                  const prev: tf.Scalar = lossSum!;
                  lossSum = tf.add(prev, value) as tf.Scalar;
                  prev.dispose();
                }
                value.dispose();
              }
              opt.apply(head.vars, grads, o.lr);
              tf.dispose(Object.values(grads));
              await runAhead.step();
            }
            if (logged) {
              const sum = lossSum ? await readScalar(lossSum) : 0;
              log(`detection ${+(fraction * 100).toFixed(2)}% seed ${seed}: final epoch loss ${(sum / Math.max(1, batches)).toFixed(3)}`);
            }
          } finally {
            lossSum?.dispose();
          }
        }
        const raws: Float32Array[][] = scales.map(() => []);
        for (let s = 0; s < test.images.length; s += o.batchSize) {
          const idx = Array.from({ length: Math.min(o.batchSize, test.images.length - s) }, (_, i) => s + i);
          const out = tf.tidy(() => head.apply(batchFeatures(test, idx, shapes, stats)));
          const vals = await readAllAndDispose(out);
          vals.forEach((v, k) => raws[k].push(v));
        }
        const flat = raws.map((parts) => {
          const all = new Float32Array(parts.reduce((a, b) => a + b.length, 0));
          let off = 0;
          for (const p of parts) { all.set(p, off); off += p.length; }
          return all;
        });
        const dets = test.images.map((_, i) => detect(flat, i, scales, size, o));
        const evalImages: DetectionImage[] = test.images.map((im, i) => ({ predictions: dets[i], truths: im.boxes.map((box) => ({ box })) }));
        maps.push(meanAveragePrecision(evalImages, { iouThresholds: MGCA_IOU_THRESHOLDS }).map);
        if (!preview && fraction === largest && o.previewImages > 0) {
          preview = {
            task: 'detection', fraction, seed,
            images: test.images.slice(0, o.previewImages).map((im, i) => ({
              id: im.study.id, path: im.study.imagePath, width: im.width, height: im.height,
              truth: im.boxes.map((b) => toImageBox(b, im.width, im.height, im.place)),
              predicted: dets[i].map((d) => ({ box: toImageBox(d.box, im.width, im.height, im.place), score: d.score })),
            })),
          };
        }
      } finally {
        head.dispose();
        opt.dispose();
      }
    }
    const name = `mAP@${+(fraction * 100).toFixed(2)}%`;
    const ok = maps.filter((m) => !Number.isNaN(m));
    metrics[name] = ok.length ? mean(ok) : NaN;
    metrics[`${name}_std`] = ok.length ? Math.sqrt(mean(ok.map((m) => (m - mean(ok)) ** 2))) : NaN;
    log(`detection ${name}: ${metrics[name].toFixed(4)}`);
  }
  return { metrics, details: detailsOf(o, scales, notes), ...(preview ? { preview } : {}) };
}

function detailsOf(o: typeof DETECTION_DEFAULTS & DetectionOptions, scales: readonly ScaleSpec[], notes: string[]): Record<string, unknown> {
  return {
    fractions: o.fractions, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, weightDecay: o.weightDecay, hidden: o.hidden,
    maxStudies: o.maxStudies, maxBoxes: o.maxBoxes, confidence: o.confidence, nmsIou: o.nmsIou, seeds: o.seeds,
    head: 'YOLOv3-style per scale: conv3x3 -> leaky ReLU 0.1 -> conv1x1 to 3 anchors x [x, y, w, h, obj]; frozen encoder',
    scales: scales.map((s) => ({ grid: [s.gridH, s.gridW], anchors: s.anchors.map((a) => [+a[0].toFixed(2), +a[1].toFixed(2)]) })),
    iou_thresholds: MGCA_IOU_THRESHOLDS, notes,
  };
}
