// ONNX counterparts of src/core/models/ops.ts and layers.ts, written against a GraphBuilder and
// the trained parameters by name. Each helper mirrors the TF.js formula term by term (same
// operation order, same constants) so exported graphs match the TF.js forward within float noise.
import { attr, GraphBuilder } from './graph-builder';

export type ParamRecord = Record<string, { shape: number[]; data: Float32Array }>;

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

export class OnnxOps {
  private readonly loaded = new Map<string, string>();

  constructor(readonly g: GraphBuilder, readonly params: ParamRecord) {}

  /** The parameter `name` as an initializer (registered once). */
  p(name: string): string {
    const hit = this.loaded.get(name);
    if (hit) return hit;
    const t = this.params[name];
    if (!t) throw new Error(`export: the model has no parameter '${name}'`);
    const out = this.g.weight(name, t.shape, t.data);
    this.loaded.set(name, out);
    return out;
  }

  /** A parameter transformed at export time (e.g. conv weights to OIHW), stored under `name`. */
  derived(name: string, dims: number[], values: ArrayLike<number>): string {
    const hit = this.loaded.get(name);
    if (hit) return hit;
    const out = this.g.weight(name, dims, values);
    this.loaded.set(name, out);
    return out;
  }

  has(name: string): boolean {
    return name in this.params;
  }

  shape(name: string): number[] {
    const t = this.params[name];
    if (!t) throw new Error(`export: the model has no parameter '${name}'`);
    return t.shape;
  }

  add(a: string, b: string): string { return this.g.op('Add', [a, b]); }
  sub(a: string, b: string): string { return this.g.op('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.g.op('Mul', [a, b]); }
  div(a: string, b: string): string { return this.g.op('Div', [a, b]); }
  mulS(a: string, s: number): string { return this.mul(a, this.g.constF(s)); }
  addS(a: string, s: number): string { return this.add(a, this.g.constF(s)); }
  matmul(a: string, b: string): string { return this.g.op('MatMul', [a, b]); }
  relu(x: string): string { return this.g.op('Relu', [x]); }
  transpose(x: string, perm: number[]): string { return this.g.op('Transpose', [x], { perm: attr.ints(perm) }); }
  reshape(x: string, shape: number[]): string { return this.g.op('Reshape', [x, this.g.constI(shape)]); }
  reshapeDyn(x: string, shape: string): string { return this.g.op('Reshape', [x, shape]); }
  castF(x: string): string { return this.g.op('Cast', [x], { to: attr.i(1) }); }
  castI(x: string): string { return this.g.op('Cast', [x], { to: attr.i(7) }); }
  softmax(x: string, axis = -1): string { return this.g.op('Softmax', [x], { axis: attr.i(axis) }); }
  sumAxis(x: string, axis: number, keep: boolean): string {
    return this.g.op('ReduceSum', [x, this.g.constI([axis])], { keepdims: attr.i(keep ? 1 : 0) });
  }
  meanAxes(x: string, axes: number[], keep: boolean): string {
    return this.g.op('ReduceMean', [x], { axes: attr.ints(axes), keepdims: attr.i(keep ? 1 : 0) });
  }
  maxS(x: string, s: number): string { return this.g.op('Max', [x, this.g.constF(s)]); }
  unsqueeze(x: string, axes: number[]): string { return this.g.op('Unsqueeze', [x, this.g.constI(axes)]); }
  squeeze(x: string, axes: number[]): string { return this.g.op('Squeeze', [x, this.g.constI(axes)]); }
  /** x[..., start:end] along `axis` (static bounds). */
  slice(x: string, axis: number, start: number, end: number): string {
    return this.g.op('Slice', [x, this.g.constI([start]), this.g.constI([end]), this.g.constI([axis])]);
  }
  /** Dimension `axis` of x as a 1-element int64 tensor. */
  dim(x: string, axis: number): string {
    const shape = this.g.op('Shape', [x]);
    return this.g.op('Gather', [shape, this.g.constI([axis])], { axis: attr.i(0) });
  }
  /** Concatenates 1-D int64 pieces into a shape tensor. */
  shapeOf(parts: string[]): string { return this.g.op('Concat', parts, { axis: attr.i(0) }); }

  /** x[..., in] @ W[in, out] + b (Dense with PyTorch names `${name}.weight` / `.bias`). */
  dense(x: string, name: string): string {
    const y = this.matmul(x, this.p(`${name}.weight`));
    return this.has(`${name}.bias`) ? this.add(y, this.p(`${name}.bias`)) : y;
  }

  /** ops.linear with explicit weight names. */
  linear(x: string, w: string, b?: string): string {
    const y = this.matmul(x, w);
    return b ? this.add(y, b) : y;
  }

  layerNorm(x: string, name: string, eps: number): string {
    return this.g.op('LayerNormalization', [x, this.p(`${name}.weight`), this.p(`${name}.bias`)], { axis: attr.i(-1), epsilon: attr.f(eps) });
  }

  /** 0.5 x (1 + tanh(c x (1 + a x^2))), in ops.gelu's operation order. */
  gelu(x: string): string {
    const x2 = this.mul(x, x);
    const inner = this.mulS(this.mul(x, this.addS(this.mulS(x2, GELU_A), 1)), GELU_C);
    const t = this.g.op('Tanh', [inner]);
    return this.mul(this.mulS(x, 0.5), this.addS(t, 1));
  }

  /** (1 - mask) * -1e9, the additive mask of ops.maskedSoftmax. */
  negMask(mask: string): string {
    return this.mulS(this.sub(this.g.constF(1), mask), -1e9);
  }

  maskedSoftmax(logits: string, mask?: string): string {
    return this.softmax(mask ? this.add(logits, this.negMask(mask)) : logits);
  }

  /** x * rsqrt(sum(x^2, -1) + eps). */
  l2norm(x: string, eps = 1e-8): string {
    const ss = this.addS(this.sumAxis(this.mul(x, x), -1, true), eps);
    return this.mul(x, this.g.op('Reciprocal', [this.g.op('Sqrt', [ss])]));
  }

  rowCosine(a: string, b: string): string {
    return this.sumAxis(this.mul(this.l2norm(a), this.l2norm(b)), -1, false);
  }

  /** log sum exp over the last axis with masked entries at -1e9. */
  maskedLogSumExp(x: string, mask: string): string {
    return this.g.op('ReduceLogSumExp', [this.add(x, this.negMask(mask))], { axes: attr.ints([-1]), keepdims: attr.i(0) });
  }

  maskedMean(x: string, mask: string): string {
    return this.div(this.sumAxis(this.mul(x, mask), -1, false), this.maxS(this.sumAxis(mask, -1, false), 1));
  }

  uniformOverMask(mask: string): string {
    return this.div(mask, this.maxS(this.sumAxis(mask, -1, true), 1));
  }

  /**
   * Folded eval-mode BatchNorm: (x - mean) * rsqrt(var + eps) [* w + b] as one multiply-add per
   * channel. `channelShape` places C (e.g. [1, C, 1, 1] for NCHW, [C] for the last axis).
   */
  batchNorm(x: string, name: string, channelShape: number[], eps = 1e-5): string {
    const mean = this.params[`${name}.running_mean`];
    const vr = this.params[`${name}.running_var`];
    if (!mean || !vr) throw new Error(`export: BatchNorm ${name} has no running statistics`);
    const w = this.params[`${name}.weight`];
    const b = this.params[`${name}.bias`];
    const c = mean.data.length;
    const scale = new Float32Array(c);
    const shift = new Float32Array(c);
    for (let i = 0; i < c; i++) {
      const s = (1 / Math.sqrt(vr.data[i] + eps)) * (w ? w.data[i] : 1);
      scale[i] = s;
      shift[i] = (b ? b.data[i] : 0) - mean.data[i] * s;
    }
    const y = this.mul(x, this.derived(`${name}.folded_scale`, channelShape, scale));
    return this.add(y, this.derived(`${name}.folded_shift`, channelShape, shift));
  }

  /**
   * Conv in NCHW from a TF-layout [kh, kw, in, out] weight (transposed to OIHW at export),
   * symmetric padding `pad`.
   */
  conv(x: string, name: string, stride: number, pad: number): string {
    const t = this.params[`${name}.weight`];
    if (!t) throw new Error(`export: the model has no parameter '${name}.weight'`);
    const [kh, kw, cin, cout] = t.shape;
    const oihw = new Float32Array(t.data.length);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        for (let ci = 0; ci < cin; ci++) {
          for (let co = 0; co < cout; co++) {
            oihw[((co * cin + ci) * kh + i) * kw + j] = t.data[((i * kw + j) * cin + ci) * cout + co];
          }
        }
      }
    }
    const inputs = [x, this.derived(`${name}.weight_oihw`, [cout, cin, kh, kw], oihw)];
    if (this.has(`${name}.bias`)) inputs.push(this.p(`${name}.bias`));
    return this.g.op('Conv', inputs, {
      kernel_shape: attr.ints([kh, kw]), strides: attr.ints([stride, stride]), pads: attr.ints([pad, pad, pad, pad]),
    });
  }

  /**
   * Multi-head attention on q, k, v [B, T, D] (layers.multiHeadAttention). keyMask [B, 1, 1, T]
   * float (1 = attend). Returns the merged output [B, T, D] and probs [B, heads, T, T].
   */
  attention(q: string, k: string, v: string, heads: number, dim: number, keyMask?: string): { out: string; probs: string } {
    const dh = dim / heads;
    const split = (x: string): string => this.transpose(this.reshape(x, [0, 0, heads, dh]), [0, 2, 1, 3]);
    const qh = split(q);
    const kt = this.transpose(this.reshape(k, [0, 0, heads, dh]), [0, 2, 3, 1]);
    const vh = split(v);
    const scores = this.mulS(this.matmul(qh, kt), 1 / Math.sqrt(dh));
    const probs = this.maskedSoftmax(scores, keyMask);
    const ctx = this.matmul(probs, vh);
    return { out: this.reshape(this.transpose(ctx, [0, 2, 1, 3]), [0, 0, dim]), probs };
  }
}
