// Segmentation transfer (METHODS.md section 6): a decoder on the pretrained image encoder, frozen
// or fine-tuned, trained with MixedLoss (10 * focal(gamma 2) - log soft Dice) on 1/10/100% of
// the train split and scored with Dice at 0.5 per image (empty-mask rule) on the eval split.
// Masks come from the manifest's mask PNG, or from its boxes filled (RSNA). The decoder is
// U-Net-like in shape (conv, upsample x2 stages to the input size) but, since the encoder
// interface exposes only its local map, its one skip is that map: a lighter decoder than
// MGCA's ResNet U-Net, sized for CPU.
import * as tf from '@tensorflow/tfjs-core';
import { mixSeed, Rng } from '../rng';
import { AdamW } from '../train/adamw';
import { readOne } from '../runtime/host-read';
import { decodeImageFile, resizeAndPad } from '../data/image-io';
import { ImageLoader } from '../data/image-loader';
import type { LoadedStudy, Split } from '../data/manifest-types';
import type { LoadedRun } from '../train/run-loader';
import { meanDice, mean } from './metrics';
import { drawFraction } from './linear-probe';
import { RunAhead } from '../runtime/run-ahead';

export const SEGMENTATION_DEFAULTS = { fractions: [0.01, 0.1, 1], epochs: 3, batchSize: 8, lr: 5e-4, fineTune: false, channels: 16, maxStudies: 400 };

export interface SegmentationOptions extends Partial<typeof SEGMENTATION_DEFAULTS> {
  seeds: number[];
  split: Split;
  log?: (m: string) => void;
}

interface SegSet { pixels: Float32Array; masks: Float32Array; n: number }

async function loadSet(studies: readonly LoadedStudy[], size: number): Promise<SegSet> {
  const loader = new ImageLoader({ workers: 0, size });
  try {
    const res = await loader.load(studies.map((s) => ({ path: s.imagePath, seed: 0, augment: false })));
    const keep = studies.flatMap((s, i) => (res.ok[i] ? [i] : []));
    const px = size * size;
    const pixels = new Float32Array(keep.length * px);
    const masks = new Float32Array(keep.length * px);
    for (let k = 0; k < keep.length; k++) {
      const s = studies[keep[k]];
      pixels.set(res.data.subarray(keep[k] * px, (keep[k] + 1) * px), k * px);
      let mask;
      if (s.maskPath) mask = await decodeImageFile(s.maskPath);
      else {
        // Boxes are in stored-image pixels: rasterise them at the image's size, then resize as the image was.
        const img = await decodeImageFile(s.imagePath);
        const data = new Float32Array(img.width * img.height);
        for (const [x, y, w, h] of s.boxes ?? []) {
          for (let yy = Math.max(0, Math.floor(y)); yy < Math.min(img.height, Math.ceil(y + h)); yy++) {
            for (let xx = Math.max(0, Math.floor(x)); xx < Math.min(img.width, Math.ceil(x + w)); xx++) data[yy * img.width + xx] = 1;
          }
        }
        mask = { width: img.width, height: img.height, data };
      }
      const r = resizeAndPad({ width: mask.width, height: mask.height, data: Float32Array.from(mask.data, (v) => (v > 0 ? 1 : 0)) }, size);
      for (let i = 0; i < px; i++) masks[k * px + i] = r.data[i] >= 0.5 ? 1 : 0;
    }
    return { pixels, masks, n: keep.length };
  } finally {
    await loader.close();
  }
}

function take(s: SegSet, rows: readonly number[], px: number): SegSet {
  const pixels = new Float32Array(rows.length * px), masks = new Float32Array(rows.length * px);
  rows.forEach((r, i) => { pixels.set(s.pixels.subarray(r * px, (r + 1) * px), i * px); masks.set(s.masks.subarray(r * px, (r + 1) * px), i * px); });
  return { pixels, masks, n: rows.length };
}

class Decoder {
  readonly vars: tf.Variable[];
  constructor(inCh: number, ch: number, rng: Rng, tag: string) {
    const he = (shape: number[]): tf.Variable => {
      const fan = shape[0] * shape[1] * shape[2];
      return tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.next() * 2 - 1) * Math.sqrt(6 / fan)), shape), true, `seg_${tag}_${shape.join('x')}_${rng.nextU32()}`);
    };
    // In tidy: the initial values are released once the variables hold them.
    this.vars = tf.tidy(() => [he([3, 3, inCh, ch]), tf.variable(tf.zeros([ch]), true, `seg_${tag}_b1_${rng.nextU32()}`),
      he([3, 3, ch, ch]), tf.variable(tf.zeros([ch]), true, `seg_${tag}_b2_${rng.nextU32()}`),
      he([1, 1, ch, 1]), tf.variable(tf.zeros([1]), true, `seg_${tag}_b3_${rng.nextU32()}`)]);
  }
  /** local [B, gh, gw, C] -> logits [B, size, size, 1]. */
  apply(local: tf.Tensor4D, size: number): tf.Tensor4D {
    const [w1, b1, w2, b2, w3, b3] = this.vars;
    let h = tf.relu(tf.add(tf.conv2d(local, w1 as tf.Tensor4D, 1, 'same'), b1)) as tf.Tensor4D;
    h = tf.image.resizeBilinear(h, [Math.max(1, Math.floor(size / 2)), Math.max(1, Math.floor(size / 2))]);
    h = tf.relu(tf.add(tf.conv2d(h, w2 as tf.Tensor4D, 1, 'same'), b2)) as tf.Tensor4D;
    h = tf.image.resizeBilinear(h, [size, size]);
    return tf.add(tf.conv2d(h, w3 as tf.Tensor4D, 1, 'same'), b3) as tf.Tensor4D;
  }
  dispose(): void { tf.dispose(this.vars); }
}

/** MixedLoss = alpha * focal(gamma) - log(soft Dice), as a differentiable tensor expression. */
function mixedLossTensor(logits: tf.Tensor, y: tf.Tensor, alpha = 10, gamma = 2): tf.Scalar {
  const p = tf.sigmoid(logits);
  const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
  const pt = tf.add(tf.mul(p, y), tf.mul(tf.sub(1, p), tf.sub(1, y)));
  const focal = tf.mean(tf.mul(tf.pow(tf.sub(1, pt), gamma), bce));
  const dice = tf.div(tf.add(tf.mul(2, tf.sum(tf.mul(p, y))), 1), tf.add(tf.add(tf.sum(p), tf.sum(y)), 1));
  return tf.sub(tf.mul(alpha, focal), tf.log(dice)) as tf.Scalar;
}

function localMap(run: LoadedRun, pixels: tf.Tensor4D, training: boolean): tf.Tensor4D {
  const out = run.model.image.forward(pixels, training);
  const [gh, gw] = out.grid;
  return tf.reshape(out.local, [pixels.shape[0], gh, gw, out.local.shape[2]]) as tf.Tensor4D;
}

export async function runSegmentation(run: LoadedRun, studies: readonly LoadedStudy[], opts: SegmentationOptions): Promise<{ metrics: Record<string, number>; details: Record<string, unknown> }> {
  const o = { ...SEGMENTATION_DEFAULTS, ...opts };
  const size = run.config.model.image.imageSize;
  const px = size * size;
  const usable = (s: LoadedStudy): boolean => Boolean(s.maskPath) || (s.boxes?.length ?? 0) > 0 || Object.values(s.labels ?? {}).every((v) => v !== 1);
  const trainStudies = studies.filter((s) => s.split === 'train' && usable(s)).slice(0, o.maxStudies);
  const testStudies = studies.filter((s) => s.split === opts.split && usable(s)).slice(0, o.maxStudies);
  const train = await loadSet(trainStudies, size);
  const test = await loadSet(testStudies, size);
  const metrics: Record<string, number> = { train_images: train.n, test_images: test.n };
  // Fine-tuning changes the encoder's weights: snapshot them to restore between probes.
  const encoderVars = run.params.trainable().filter((v) => v.name.startsWith('img_encoder.model'));
  const snapshot = o.fineTune ? encoderVars.map((v) => v.clone()) : [];
  try {
    for (const fraction of o.fractions) {
      const dices: number[] = [];
      for (const seed of o.seeds) {
        const rows = drawFraction(train.n, fraction, seed);
        const tr = take(train, rows, px);
        const rng = new Rng(mixSeed(seed, 0x5e9));
        const dec = new Decoder(run.model.image.localDim, o.channels, rng, `${fraction}_${seed}`);
        const opt = new AdamW({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-6 }, () => false);
        const vars = o.fineTune ? [...dec.vars, ...encoderVars] : dec.vars;
        const runAhead = new RunAhead();
        try {
          for (let epoch = 0; epoch < o.epochs; epoch++) {
            const order = rng.shuffle(Array.from({ length: tr.n }, (_, i) => i));
            for (let s = 0; s < order.length; s += o.batchSize) {
              const b = take(tr, order.slice(s, s + o.batchSize), px);
              const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
                const x = tf.tensor4d(b.pixels, [b.n, size, size, 1]);
                // Only the listed vars receive gradients, so a frozen encoder needs no stop-gradient.
                const local = localMap(run, x, false);
                return mixedLossTensor(dec.apply(local, size), tf.tensor4d(b.masks, [b.n, size, size, 1]));
              }), vars);
              value.dispose();
              opt.apply(vars, grads, o.lr);
              tf.dispose(Object.values(grads));
              await runAhead.step();
            }
          }
          const probs: Float32Array[] = [];
          const truths: Float32Array[] = [];
          for (let s = 0; s < test.n; s += o.batchSize) {
            const rowsT = Array.from({ length: Math.min(o.batchSize, test.n - s) }, (_, i) => s + i);
            const b = take(test, rowsT, px);
            const pt = tf.tidy(() => tf.sigmoid(dec.apply(localMap(run, tf.tensor4d(b.pixels, [b.n, size, size, 1]), false), size)));
            let p: Float32Array;
            try {
              p = await readOne(pt);
            } finally {
              pt.dispose();
            }
            for (let i = 0; i < b.n; i++) { probs.push(p.slice(i * px, (i + 1) * px)); truths.push(b.masks.slice(i * px, (i + 1) * px)); }
          }
          dices.push(probs.length ? meanDice(probs, truths, 0.5) : NaN);
        } finally {
          dec.dispose();
          opt.dispose();
          if (o.fineTune) encoderVars.forEach((v, i) => v.assign(snapshot[i]));
        }
      }
      const name = `dice@${+(fraction * 100).toFixed(2)}%`;
      const ok = dices.filter((d) => !Number.isNaN(d));
      metrics[name] = ok.length ? mean(ok) : NaN;
      metrics[`${name}_std`] = ok.length ? Math.sqrt(mean(ok.map((d) => (d - mean(ok)) ** 2))) : NaN;
      opts.log?.(`segmentation ${name}: ${metrics[name].toFixed(4)}`);
    }
  } finally {
    tf.dispose(snapshot);
  }
  return { metrics, details: { ...o, log: undefined, decoder: 'conv3x3-up2-conv3x3-up-conv1x1 on the encoder local map', loss: 'MixedLoss(10, focal gamma 2)' } };
}
