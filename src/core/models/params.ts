// Named trainable parameters. Names follow the reference implementations (torchvision ResNet,
// Hugging Face BERT) so that pretrained weights can be imported and ONNX graphs exported by name.
// Layout is TF's: dense [in, out], conv [kh, kw, in, out].
import * as tf from '@tensorflow/tfjs-core';
import { readAll } from '../runtime/host-read';
import { Rng } from '../rng';

export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; limit: number }
  /** He/Kaiming normal with fan_in (ResNet convs). */
  | { kind: 'he'; fanIn: number }
  /** Xavier/Glorot uniform. */
  | { kind: 'xavier'; fanIn: number; fanOut: number };

export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly frozen = new Set<string>();

  /**
   * `namespace` prefixes the names the variables are registered under in TF.js (which must be
   * unique in a process), so a second model of the same config can live beside the first (the
   * evaluation's random-init floor). Parameters keep their plain names here and in checkpoints;
   * an optimizer keys by the registered name, so train only un-namespaced stores.
   */
  constructor(private readonly rng: Rng, private readonly namespace = '') {}

  /** Creates (or returns the existing) parameter `name` with a seeded initialisation. */
  param(name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    const existing = this.vars.get(name);
    if (existing) {
      if (existing.shape.join(',') !== shape.join(',')) {
        throw new Error(`parameter ${name} requested with shape [${shape}] but exists with [${existing.shape}]`);
      }
      return existing;
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    fillInit(values, init, this.rng);
    const initial = tf.tensor(values, shape, 'float32');
    // The variable shares the initial tensor's data; the tensor handle itself is released.
    const v = tf.variable(initial, trainable, this.namespace + name);
    initial.dispose();
    this.vars.set(name, v);
    if (!trainable) this.frozen.add(name);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`unknown parameter ${name}`);
    return v;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  /** Trainable variables in creation order (a stable order for optimizers and checkpoints). */
  trainable(): tf.Variable[] {
    return [...this.vars.entries()].filter(([n]) => !this.frozen.has(n)).map(([, v]) => v);
  }

  trainableNames(): string[] {
    return [...this.vars.keys()].filter((n) => !this.frozen.has(n));
  }

  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** Snapshot of every parameter as plain arrays (checkpoints, export), read in one device round trip. */
  async toRecord(): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
    const entries = [...this.vars];
    const data = await readAll(entries.map(([, v]) => v));
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    entries.forEach(([name, v], k) => { out[name] = { shape: [...v.shape], data: data[k] }; });
    return out;
  }

  /** Assigns values by name; every stored parameter must be present with the same shape unless `partial`. */
  load(record: Record<string, { shape: number[]; data: Float32Array }>, partial = false): string[] {
    const loaded: string[] = [];
    for (const [name, v] of this.vars) {
      const r = record[name];
      if (!r) {
        if (partial) continue;
        throw new Error(`checkpoint has no parameter ${name}`);
      }
      if (r.shape.join(',') !== v.shape.join(',')) {
        throw new Error(`parameter ${name}: checkpoint shape [${r.shape}] != model shape [${v.shape}]`);
      }
      v.assign(tf.tensor(r.data, v.shape, 'float32'));
      loaded.push(name);
    }
    return loaded;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

function fillInit(out: Float32Array, init: Init, rng: Rng): void {
  switch (init.kind) {
    case 'zeros':
      return;
    case 'ones':
      out.fill(1);
      return;
    case 'normal':
      for (let i = 0; i < out.length; i++) out[i] = rng.normal(0, init.std);
      return;
    case 'uniform':
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-init.limit, init.limit);
      return;
    case 'he': {
      const std = Math.sqrt(2 / init.fanIn);
      for (let i = 0; i < out.length; i++) out[i] = rng.normal(0, std);
      return;
    }
    case 'xavier': {
      const limit = Math.sqrt(6 / (init.fanIn + init.fanOut));
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
      return;
    }
  }
}
