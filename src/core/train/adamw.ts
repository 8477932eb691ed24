// AdamW (decoupled weight decay, Loshchilov & Hutter) with state that can be checkpointed and
// restored exactly. Update per parameter p with gradient g at step t (1-based):
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   p = p - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) - lr * wd * p
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '../io/safetensors';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  step = 0;

  constructor(private readonly cfg: AdamWConfig, private readonly noDecay: (name: string) => boolean = defaultNoDecay) {}

  /** Applies one update; grads are keyed by variable name. */
  apply(vars: tf.Variable[], grads: Record<string, tf.Tensor>, lr: number): void {
    this.step += 1;
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const bc1 = 1 - beta1 ** this.step;
    const bc2 = 1 - beta2 ** this.step;
    for (const p of vars) {
      const g = grads[p.name];
      if (!g) continue;
      const m = this.slot(this.m, p);
      const v = this.slot(this.v, p);
      tf.tidy(() => {
        const mNew = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        m.assign(mNew);
        v.assign(vNew);
        const update = tf.div(tf.div(mNew, bc1), tf.add(tf.sqrt(tf.div(vNew, bc2)), eps));
        const wd = this.noDecay(p.name) ? 0 : weightDecay;
        const next = tf.sub(tf.mul(p, 1 - lr * wd), tf.mul(update, lr));
        p.assign(next);
      });
    }
  }

  private slot(map: Map<string, tf.Variable>, p: tf.Variable): tf.Variable {
    let s = map.get(p.name);
    if (!s) {
      s = tf.variable(tf.zerosLike(p), false);
      map.set(p.name, s);
    }
    return s;
  }

  /** Moments as named tensors (prefix adam_m./adam_v.) for a checkpoint. */
  stateTensors(): Record<string, NamedTensor> {
    const out: Record<string, NamedTensor> = {};
    for (const [name, t] of this.m) out[`adam_m.${name}`] = { shape: [...t.shape], data: t.dataSync() as Float32Array };
    for (const [name, t] of this.v) out[`adam_v.${name}`] = { shape: [...t.shape], data: t.dataSync() as Float32Array };
    return out;
  }

  loadState(step: number, tensors: Record<string, NamedTensor>, vars: tf.Variable[]): void {
    this.dispose();
    this.step = step;
    for (const p of vars) {
      const m = tensors[`adam_m.${p.name}`];
      const v = tensors[`adam_v.${p.name}`];
      if (!m || !v) continue;
      this.m.set(p.name, tf.variable(tf.tensor(m.data, m.shape), false));
      this.v.set(p.name, tf.variable(tf.tensor(v.data, v.shape), false));
    }
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** Biases, norm parameters and embeddings-like vectors are not decayed (common practice). */
export function defaultNoDecay(name: string): boolean {
  return /(\.bias$|norm|LayerNorm|\bbn\d*\.|\.bn\.|running_|cls_token|pos_embed|prototypes)/.test(name);
}

/** Global-norm gradient clipping; returns the norm before clipping. */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: number } {
  const norm = tf.tidy(() => {
    const sq = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    return sq.length ? Math.sqrt(tf.addN(sq).dataSync()[0]) : 0;
  });
  if (!(maxNorm > 0) || norm <= maxNorm || !Number.isFinite(norm)) return { grads, norm };
  const scale = maxNorm / (norm + 1e-6);
  const out: Record<string, tf.Tensor> = {};
  for (const [k, g] of Object.entries(grads)) {
    out[k] = tf.mul(g, scale);
    g.dispose();
  }
  return { grads: out, norm };
}
