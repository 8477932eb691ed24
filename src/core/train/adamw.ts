// AdamW (decoupled weight decay, Loshchilov & Hutter) with state that can be checkpointed and
// restored exactly. Update per parameter p with gradient g at step t (1-based):
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   p = p - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) - lr * wd * p
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor } from '../io/safetensors';
import { readAll } from '../runtime/host-read';

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
      s = variableOf(tf.zerosLike(p));
      map.set(p.name, s);
    }
    return s;
  }

  /** Moments as named tensors (prefix adam_m./adam_v.) for a checkpoint, read in one device round trip. */
  async stateTensors(): Promise<Record<string, NamedTensor>> {
    const named: [string, tf.Variable][] = [
      ...[...this.m].map(([name, t]): [string, tf.Variable] => [`adam_m.${name}`, t]),
      ...[...this.v].map(([name, t]): [string, tf.Variable] => [`adam_v.${name}`, t]),
    ];
    const data = await readAll(named.map(([, t]) => t));
    const out: Record<string, NamedTensor> = {};
    named.forEach(([key, t], k) => { out[key] = { shape: [...t.shape], data: data[k] }; });
    return out;
  }

  loadState(step: number, tensors: Record<string, NamedTensor>, vars: tf.Variable[]): void {
    this.dispose();
    this.step = step;
    for (const p of vars) {
      const m = tensors[`adam_m.${p.name}`];
      const v = tensors[`adam_v.${p.name}`];
      if (!m || !v) continue;
      this.m.set(p.name, variableOf(tf.tensor(m.data, m.shape)));
      this.v.set(p.name, variableOf(tf.tensor(v.data, v.shape)));
    }
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** A non-trainable variable holding `init`'s data; the init handle is released. */
function variableOf(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init, false);
  init.dispose();
  return v;
}

/** Biases, norm parameters and embeddings-like vectors are not decayed (common practice). */
export function defaultNoDecay(name: string): boolean {
  return /(\.bias$|norm|LayerNorm|\bbn\d*\.|\.bn\.|running_|cls_token|pos_embed|prototypes)/.test(name);
}

/**
 * Global-norm gradient clipping, decided on the device (no host round trip): every gradient is
 * scaled by maxNorm / (norm + 1e-6) when the norm exceeds maxNorm, and left as it is when it
 * does not or when the norm is not finite (the trainer reports a non-finite loss). Returns the
 * new gradients (the inputs are disposed) and the norm before clipping as a device scalar,
 * which the caller owns.
 */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  const list = Object.values(grads);
  // A stack, not addN: WebGPU's AddN binds every input at once and models have more gradients
  // than a shader stage may bind (8 by default), while concat splits its inputs into chunks.
  const norm = tf.tidy(() => (list.length ? tf.sqrt(tf.sum(tf.stack(list.map((g) => tf.sum(tf.square(g)))))) : tf.scalar(0))) as tf.Scalar;
  if (!(maxNorm > 0) || list.length === 0) return { grads, norm };
  const scale = tf.tidy(() => {
    const clip = tf.logicalAnd(tf.isFinite(norm), tf.greater(norm, maxNorm));
    return tf.where(clip, tf.div(maxNorm, tf.add(norm, 1e-6)), tf.onesLike(norm));
  });
  const out: Record<string, tf.Tensor> = {};
  for (const [k, g] of Object.entries(grads)) {
    out[k] = tf.mul(g, scale);
    g.dispose();
  }
  scale.dispose();
  return { grads: out, norm };
}
