// Linear probe (METHODS.md section 6): frozen backbone features, one linear layer trained with
// AdamW (lr 5e-4, wd 1e-6, batch 48) for up to 50 epochs with early stopping (patience 10) on the
// validation metric; the test split is scored with the best-validation weights. Training
// fractions 1% / 10% / 100% are drawn with fixed seeds and the chosen ids written out.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeJsonAtomic } from '../fs-atomic';
import { mixSeed, Rng } from '../rng';
import { AdamW } from '../train/adamw';
import { readAll } from '../runtime/host-read';
import { accuracy, auroc, mean } from './metrics';
import type { EncodedSplit } from './features';
import { RunAhead } from '../runtime/run-ahead';

export type ProbeKind = 'binary' | 'multiclass' | 'multilabel';

export interface LinearProbeOptions {
  fractions: number[];
  seeds: number[];
  epochs: number;
  patience: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  /** Folder for the fraction id files (RUN/eval/linear-fractions). */
  fractionsDir: string;
  dataHash: string;
}

export const LINEAR_DEFAULTS = { fractions: [0.01, 0.1, 1], seeds: [0, 1, 2], epochs: 50, patience: 10, batchSize: 48, lr: 5e-4, weightDecay: 1e-6 };

interface ProbeData {
  x: Float32Array;
  /** [n, C] 0/1 targets. */
  y: Float32Array;
  n: number;
}

/**
 * Classes = labels with a positive in train and test. One class: binary AUROC; every study having
 * exactly one positive: multi-class softmax, accuracy; otherwise multi-label sigmoid, mean AUROC.
 * Uncertain (-1) and missing labels count as negative (CheXpert U-zeros).
 */
export function probeTask(train: EncodedSplit, test: EncodedSplit): { classes: string[]; kind: ProbeKind } {
  const pos = (f: EncodedSplit): Set<string> => new Set(f.studies.flatMap((s) => Object.entries(s.labels ?? {}).filter(([, v]) => v === 1).map(([k]) => k)));
  const a = pos(train), b = pos(test);
  const classes = [...a].filter((c) => b.has(c)).sort();
  if (classes.length <= 1) return { classes, kind: 'binary' };
  const exactlyOne = [...train.studies, ...test.studies].every((s) => classes.filter((c) => s.labels?.[c] === 1).length === 1);
  return { classes, kind: exactlyOne ? 'multiclass' : 'multilabel' };
}

function probeData(f: EncodedSplit, rows: readonly number[], classes: readonly string[], mu: Float32Array, sd: Float32Array): ProbeData {
  const G = f.G, C = classes.length;
  const x = new Float32Array(rows.length * G);
  const y = new Float32Array(rows.length * C);
  rows.forEach((r, i) => {
    for (let g = 0; g < G; g++) x[i * G + g] = (f.backboneGlobal[r * G + g] - mu[g]) / sd[g];
    classes.forEach((c, k) => { y[i * C + k] = f.studies[r].labels?.[c] === 1 ? 1 : 0; });
  });
  return { x, y, n: rows.length };
}

function standardiser(f: EncodedSplit, rows: readonly number[]): { mu: Float32Array; sd: Float32Array } {
  const G = f.G;
  const mu = new Float32Array(G), sd = new Float32Array(G);
  for (const r of rows) for (let g = 0; g < G; g++) mu[g] += f.backboneGlobal[r * G + g] / rows.length;
  for (const r of rows) for (let g = 0; g < G; g++) sd[g] += (f.backboneGlobal[r * G + g] - mu[g]) ** 2 / rows.length;
  for (let g = 0; g < G; g++) sd[g] = Math.sqrt(sd[g]) || 1;
  return { mu, sd };
}

/** The probe metric on data: accuracy (multi-class) or mean AUROC over classes. */
function score(logits: Float32Array, d: ProbeData, C: number, kind: ProbeKind): number {
  if (kind === 'multiclass') {
    const pred: number[] = [], truth: number[] = [];
    for (let i = 0; i < d.n; i++) {
      let best = 0, t = 0;
      for (let k = 0; k < C; k++) {
        if (logits[i * C + k] > logits[i * C + best]) best = k;
        if (d.y[i * C + k] === 1) t = k;
      }
      pred.push(best);
      truth.push(t);
    }
    return accuracy(pred, truth);
  }
  const aucs: number[] = [];
  for (let k = 0; k < C; k++) {
    const a = auroc(Array.from({ length: d.n }, (_, i) => logits[i * C + k]), Array.from({ length: d.n }, (_, i) => d.y[i * C + k]));
    if (!Number.isNaN(a)) aucs.push(a);
  }
  return aucs.length ? mean(aucs) : NaN;
}

/**
 * Trains one probe; returns the test metric at the best validation epoch. The steps never read
 * the device; each epoch ends with one read of the validation and test logits together.
 */
async function trainProbe(train: ProbeData, valid: ProbeData, test: ProbeData, G: number, C: number, kind: ProbeKind, seed: number, o: LinearProbeOptions): Promise<{ test: number; valid: number; bestEpoch: number }> {
  const rng = new Rng(mixSeed(seed, 0x11ea));
  const init = Float32Array.from({ length: G * C }, () => (rng.next() * 2 - 1) / Math.sqrt(G));
  // In tidy: the initial values are released once the variables hold them.
  const w = tf.tidy(() => tf.variable(tf.tensor2d(init, [G, C]), true, `probe_w_${seed}`));
  const b = tf.tidy(() => tf.variable(tf.zeros([C]), true, `probe_b_${seed}`));
  const opt = new AdamW({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: o.weightDecay }, () => false);
  /** Logits of each data set, in one device round trip. */
  const logitsOf = async (ds: readonly ProbeData[]): Promise<Float32Array[]> => {
    const ts = tf.tidy(() => ds.map((d) => tf.add(tf.matMul(tf.tensor2d(d.x, [d.n, G]), w), b)));
    try {
      return await readAll(ts);
    } finally {
      tf.dispose(ts);
    }
  };
  let best = { valid: -Infinity, test: NaN, bestEpoch: -1 };
  let since = 0;
  const runAhead = new RunAhead();
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const order = rng.shuffle(Array.from({ length: train.n }, (_, i) => i));
      for (let s = 0; s < order.length; s += o.batchSize) {
        const idx = order.slice(s, s + o.batchSize);
        const xb = new Float32Array(idx.length * G), yb = new Float32Array(idx.length * C);
        idx.forEach((r, i) => { xb.set(train.x.subarray(r * G, (r + 1) * G), i * G); yb.set(train.y.subarray(r * C, (r + 1) * C), i * C); });
        const { grads, value } = tf.variableGrads(() => tf.tidy(() => {
          const logits = tf.add(tf.matMul(tf.tensor2d(xb, [idx.length, G]), w), b) as tf.Tensor2D;
          const y = tf.tensor2d(yb, [idx.length, C]);
          if (kind === 'multiclass') return tf.mean(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1))) as tf.Scalar;
          // Numerically stable BCE with logits.
          return tf.mean(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))))) as tf.Scalar;
        }), [w, b]);
        value.dispose();
        opt.apply([w, b], grads, o.lr);
        tf.dispose(Object.values(grads));
        await runAhead.step();
      }
      const [testLogits, validLogits] = await logitsOf(valid.n > 0 ? [test, valid] : [test]);
      const v = valid.n > 0 ? score(validLogits, valid, C, kind) : -epoch;
      if (Number.isNaN(best.test) || v > best.valid) {
        best = { valid: v, test: score(testLogits, test, C, kind), bestEpoch: epoch };
        since = 0;
      } else if (++since >= o.patience) break;
    }
  } finally {
    opt.dispose();
    w.dispose();
    b.dispose();
  }
  return best;
}

/** Seeded training subset: at least one study per class when the fraction allows so few. */
export function drawFraction(n: number, fraction: number, seed: number): number[] {
  const k = Math.max(2, Math.min(n, Math.round(n * fraction)));
  return new Rng(mixSeed(seed, 0xf4ac, Math.round(fraction * 1e4))).shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, k).sort((a, b) => a - b);
}

export async function runLinearProbe(train: EncodedSplit, valid: EncodedSplit | undefined, test: EncodedSplit, opts: Partial<LinearProbeOptions> & Pick<LinearProbeOptions, 'fractionsDir' | 'dataHash'>): Promise<Record<string, number>> {
  const o: LinearProbeOptions = { ...LINEAR_DEFAULTS, ...opts };
  const { classes, kind } = probeTask(train, test);
  if (classes.length === 0) return {};
  const C = kind === 'binary' ? 1 : classes.length;
  const metrics: Record<string, number> = { classes: classes.length };
  fs.mkdirSync(o.fractionsDir, { recursive: true });
  for (const fraction of o.fractions) {
    const scores: number[] = [];
    for (const seed of o.seeds) {
      const rows = drawFraction(train.n, fraction, seed);
      const pct = `${+(fraction * 100).toFixed(2)}pct`;
      writeJsonAtomic(path.join(o.fractionsDir, `${o.dataHash}-${pct}-seed${seed}.json`), {
        fraction, seed, split: 'train', ids: rows.map((r) => train.studies[r].id),
      });
      const st = standardiser(train, rows);
      const vRows = valid ? Array.from({ length: valid.n }, (_, i) => i) : [];
      const tRows = Array.from({ length: test.n }, (_, i) => i);
      const res = await trainProbe(
        probeData(train, rows, classes.slice(0, C), st.mu, st.sd),
        valid ? probeData(valid, vRows, classes.slice(0, C), st.mu, st.sd) : { x: new Float32Array(0), y: new Float32Array(0), n: 0 },
        probeData(test, tRows, classes.slice(0, C), st.mu, st.sd),
        train.G, C, kind, seed, o,
      );
      scores.push(res.test);
    }
    const name = `${kind === 'multiclass' ? 'accuracy' : 'auroc'}@${+(fraction * 100).toFixed(2)}%`;
    const defined = scores.filter((s) => !Number.isNaN(s));
    metrics[name] = defined.length ? mean(defined) : NaN;
    metrics[`${name}_std`] = defined.length ? Math.sqrt(mean(defined.map((s) => (s - mean(defined)) ** 2))) : NaN;
  }
  return metrics;
}
