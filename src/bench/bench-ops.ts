// Micro-benchmarks of the kernels training spends its time in (matmul forms, conv forward and
// backward) and one transformer training step built from ops.ts, per TF.js backend, with the
// same workloads in PyTorch (scripts/bench/torch_ops.py) as the peer measured in the same run.
// Every timed call ends in an asynchronous read of its result (`await t.data()`), so async GPU
// backends (WebGPU, which has no synchronous read in Node) finish the work before the clock stops.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { gelu, layerNorm, linear, maskedSoftmax, bmm } from '../core/models/ops';
import { Rng } from '../core/rng';

export interface BenchRow {
  /** Workload id shared with the PyTorch script, e.g. "matmul 1024x256x1024 tA". */
  name: string;
  backend: string;
  /** Median milliseconds per call. */
  ms: number;
  gflops?: number;
  /** Floating point operations per call (multiply-add = 2). */
  flop: number;
}

export interface TimingOptions {
  warmup: number;
  reps: number;
}

export const DEFAULT_TIMING: TimingOptions = { warmup: 2, reps: 5 };

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median wall time (ms) of `fn`, which must await its results (`await t.data()`) so async backends finish. */
export async function timeMedian(fn: () => void | Promise<void>, opts: TimingOptions = DEFAULT_TIMING): Promise<number> {
  for (let i = 0; i < opts.warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < opts.reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Median wall time (ms) of one op: `make` builds the result, which is read back and disposed. */
export function timeOp(make: () => tf.Tensor, opts: TimingOptions = DEFAULT_TIMING): Promise<number> {
  return timeMedian(async () => {
    const out = make();
    try {
      await out.data();
    } finally {
      out.dispose();
    }
  }, opts);
}

function randn(rng: Rng, shape: number[], std = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal(0, std);
  return tf.tensor(v, shape, 'float32');
}

function row(name: string, backend: string, flop: number, ms: number): BenchRow {
  return { name, backend, ms, flop, gflops: flop / (ms * 1e6) };
}

/** Workload sizes; shared with scripts/bench/torch_ops.py (which receives them as JSON). */
export interface BenchSizes {
  matmul: { m: number; k: number; n: number };
  bmm: { batch: number; m: number; k: number; n: number };
  conv: { batch: number; h: number; w: number; cin: number; cout: number; k: number; stride: number };
  transformer: { batch: number; seq: number; dim: number; heads: number; layers: number; ffn: number };
}

export const DEFAULT_SIZES: BenchSizes = {
  matmul: { m: 1024, k: 256, n: 1024 },
  bmm: { batch: 64, m: 64, k: 64, n: 64 },
  conv: { batch: 16, h: 32, w: 32, cin: 32, cout: 64, k: 3, stride: 1 },
  transformer: { batch: 16, seq: 64, dim: 256, heads: 4, layers: 4, ffn: 1024 },
};

export async function benchMatmuls(backend: string, sizes: BenchSizes, rng: Rng, opts: TimingOptions): Promise<BenchRow[]> {
  const { m, k, n } = sizes.matmul;
  const rows: BenchRow[] = [];
  const flop = 2 * m * k * n;
  const forms: Array<[string, boolean, boolean]> = [['', false, false], [' tA', true, false], [' tB', false, true]];
  for (const [suffix, tA, tB] of forms) {
    const a = randn(rng, tA ? [k, m] : [m, k]) as tf.Tensor2D;
    const b = randn(rng, tB ? [n, k] : [k, n]) as tf.Tensor2D;
    const ms = await timeOp(() => tf.matMul(a, b, tA, tB), opts);
    rows.push(row(`matmul ${m}x${k}x${n}${suffix}`, backend, flop, ms));
    tf.dispose([a, b]);
  }
  const q = sizes.bmm;
  const a3 = randn(rng, [q.batch, q.m, q.k]) as tf.Tensor3D;
  const b3 = randn(rng, [q.batch, q.k, q.n]) as tf.Tensor3D;
  const ms = await timeOp(() => tf.matMul(a3, b3), opts);
  rows.push(row(`bmm ${q.batch}x${q.m}x${q.k}x${q.n}`, backend, 2 * q.batch * q.m * q.k * q.n, ms));
  tf.dispose([a3, b3]);
  return rows;
}

export async function benchConv(backend: string, sizes: BenchSizes, rng: Rng, opts: TimingOptions): Promise<BenchRow[]> {
  const c = sizes.conv;
  const x = randn(rng, [c.batch, c.h, c.w, c.cin]) as tf.Tensor4D;
  const w = randn(rng, [c.k, c.k, c.cin, c.cout], 0.1) as tf.Tensor4D;
  const oh = Math.ceil(c.h / c.stride);
  const ow = Math.ceil(c.w / c.stride);
  const flop = 2 * c.batch * oh * ow * c.k * c.k * c.cin * c.cout;
  const tag = `conv ${c.batch}x${c.h}x${c.w}x${c.cin}->${c.cout} k${c.k}s${c.stride}`;
  const rows: BenchRow[] = [];
  rows.push(row(`${tag} fwd`, backend, flop, await timeOp(() => tf.conv2d(x, w, c.stride, 'same'), opts)));
  const dy = randn(rng, [c.batch, oh, ow, c.cout]) as tf.Tensor4D;
  rows.push(row(`${tag} dx`, backend, flop, await timeOp(() => tf.conv2dTranspose(dy, w, [c.batch, c.h, c.w, c.cin], c.stride, 'same'), opts)));
  let dwMs: number | undefined;
  try {
    dwMs = await timeOp(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
      { strides: c.stride, pad: 'same', dataFormat: 'NHWC', filterShape: [c.k, c.k, c.cin, c.cout] }) as tf.Tensor, opts);
  } catch {
    // The stock wasm backend has no Conv2DBackpropFilter kernel.
    dwMs = undefined;
  }
  if (dwMs !== undefined) rows.push(row(`${tag} dw`, backend, flop, dwMs));
  tf.dispose([x, w, dy]);
  return rows;
}

type Params = Record<string, tf.Variable>;

/** Encoder-only transformer parameters (post-LN BERT layout), seeded. */
export function transformerParams(sizes: BenchSizes['transformer'], rng: Rng): Params {
  const { dim, ffn, layers } = sizes;
  const p: Params = {};
  const keep = (name: string, init: tf.Tensor) => {
    p[name] = tf.variable(init, true);
    init.dispose(); // the variable holds its own reference to the data
  };
  const v = (name: string, shape: number[], std: number) => keep(name, randn(rng, shape, std));
  const ones = (name: string, n: number) => keep(name, tf.ones([n]));
  const zeros = (name: string, n: number) => keep(name, tf.zeros([n]));
  for (let l = 0; l < layers; l++) {
    for (const n of ['q', 'k', 'v', 'o']) { v(`${l}.${n}.w`, [dim, dim], 0.02); zeros(`${l}.${n}.b`, dim); }
    v(`${l}.ff1.w`, [dim, ffn], 0.02); zeros(`${l}.ff1.b`, ffn);
    v(`${l}.ff2.w`, [ffn, dim], 0.02); zeros(`${l}.ff2.b`, dim);
    ones(`${l}.ln1.g`, dim); zeros(`${l}.ln1.b`, dim);
    ones(`${l}.ln2.g`, dim); zeros(`${l}.ln2.b`, dim);
  }
  return p;
}

/** Forward pass: x [B,T,D], mask [B,T] (1 = token) -> [B,T,D]. */
export function transformerForward(p: Params, x: tf.Tensor3D, mask: tf.Tensor2D, sizes: BenchSizes['transformer']): tf.Tensor3D {
  const { batch: B, seq: T, dim: D, heads: H, layers } = sizes;
  const dh = D / H;
  const heads = (t: tf.Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, dh]), [0, 2, 1, 3]), [B * H, T, dh]) as tf.Tensor3D;
  const attnMask = tf.reshape(tf.tile(tf.reshape(mask, [B, 1, 1, T]), [1, H, 1, 1]), [B * H, 1, T]);
  let h: tf.Tensor = tf.reshape(x, [B * T, D]);
  for (let l = 0; l < layers; l++) {
    const w = (n: string) => p[`${l}.${n}`];
    const q = heads(linear(h, w('q.w') as tf.Tensor2D, w('q.b') as tf.Tensor1D));
    const k = heads(linear(h, w('k.w') as tf.Tensor2D, w('k.b') as tf.Tensor1D));
    const v = heads(linear(h, w('v.w') as tf.Tensor2D, w('v.b') as tf.Tensor1D));
    const scores = tf.mul(bmm(q, k, false, true), 1 / Math.sqrt(dh));
    const probs = maskedSoftmax(scores, attnMask) as tf.Tensor3D;
    const ctx = tf.reshape(tf.transpose(tf.reshape(bmm(probs, v), [B, H, T, dh]), [0, 2, 1, 3]), [B * T, D]);
    const attn = linear(ctx, w('o.w') as tf.Tensor2D, w('o.b') as tf.Tensor1D);
    h = layerNorm(tf.add(h, attn), w('ln1.g') as tf.Tensor1D, w('ln1.b') as tf.Tensor1D, 1e-12);
    const ff = linear(gelu(linear(h, w('ff1.w') as tf.Tensor2D, w('ff1.b') as tf.Tensor1D)), w('ff2.w') as tf.Tensor2D, w('ff2.b') as tf.Tensor1D);
    h = layerNorm(tf.add(h, ff), w('ln2.g') as tf.Tensor1D, w('ln2.b') as tf.Tensor1D, 1e-12);
  }
  return tf.reshape(h, [B, T, D]) as tf.Tensor3D;
}

/** Multiply-add count of one forward pass (matmuls only), times 3 for forward + backward. */
export function transformerStepFlop(s: BenchSizes['transformer']): number {
  const n = s.batch * s.seq;
  const perLayer = 2 * n * s.dim * s.dim * 4 + 2 * n * s.dim * s.ffn * 2 + 2 * 2 * s.batch * s.seq * s.seq * s.dim;
  return 3 * perLayer * s.layers;
}

/** One training step's gradient computation: loss = mean(out^2) / 2 over a [B,T,D] batch. */
export async function transformerGrads(p: Params, x: tf.Tensor3D, mask: tf.Tensor2D, sizes: BenchSizes['transformer']): Promise<{ loss: number; grads: Record<string, tf.Tensor> }> {
  const { value, grads } = tf.variableGrads(() => tf.mul(tf.mean(tf.square(transformerForward(p, x, mask, sizes))), 0.5) as tf.Scalar, Object.values(p));
  try {
    return { loss: (await value.data())[0], grads };
  } finally {
    value.dispose();
  }
}

export async function benchTransformer(backend: string, sizes: BenchSizes, rng: Rng, opts: TimingOptions): Promise<BenchRow> {
  const s = sizes.transformer;
  const p = transformerParams(s, rng);
  const x = randn(rng, [s.batch, s.seq, s.dim]) as tf.Tensor3D;
  const maskVals = new Float32Array(s.batch * s.seq);
  for (let b = 0; b < s.batch; b++) for (let t = 0; t < s.seq; t++) maskVals[b * s.seq + t] = t < s.seq - (b % 8) ? 1 : 0;
  const mask = tf.tensor2d(maskVals, [s.batch, s.seq]);
  const ms = await timeMedian(async () => {
    const { grads } = await transformerGrads(p, x, mask, s);
    try {
      await Promise.all(Object.values(grads).map((g) => g.data()));
    } finally {
      tf.dispose(Object.values(grads));
    }
  }, opts);
  tf.dispose([x, mask, ...Object.values(p)]);
  return row(`transformer step L${s.layers} B${s.batch} T${s.seq} D${s.dim} H${s.heads}`, backend, transformerStepFlop(s), ms);
}

/** Every TF.js workload on the currently active backend. */
export async function benchActiveBackend(backend: string, sizes: BenchSizes, opts: TimingOptions, seed = 1): Promise<BenchRow[]> {
  const rng = new Rng(seed);
  return [
    ...await benchMatmuls(backend, sizes, rng, opts),
    ...await benchConv(backend, sizes, rng, opts),
    await benchTransformer(backend, sizes, rng, { warmup: 1, reps: Math.max(3, opts.reps) }),
  ];
}

export const TORCH_PYTHON = '/usr/bin/python3';
export const TORCH_MISSING = 'PyTorch peer unavailable: apt-get install python3-torch libopenblas0-pthread';

/** Why the PyTorch peer cannot run with `python` (the default interpreter gets the install hint). */
export function torchMissing(python = TORCH_PYTHON): string {
  return python === TORCH_PYTHON ? TORCH_MISSING : `PyTorch peer unavailable: '${python} -c "import torch"' failed`;
}

/** Whether `python` (a path, or a command name looked up on PATH) can import torch. */
export function torchAvailable(python = TORCH_PYTHON): boolean {
  if (python.includes(path.sep) && !fs.existsSync(python)) return false;
  const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
  return r.status === 0;
}

/**
 * Locates scripts/bench/NAME next to the engine: this module runs from src/bench (tsx) or is
 * bundled into dist/engine, both two levels below the package root.
 */
export function benchScriptPath(name: string): string | undefined {
  const p = path.resolve(__dirname, '..', '..', 'scripts', 'bench', name);
  return fs.existsSync(p) ? p : undefined;
}

/** Locates scripts/bench/torch_ops.py. */
export function torchScriptPath(): string | undefined {
  return benchScriptPath('torch_ops.py');
}

/** Runs the PyTorch peer on the same workloads; undefined (with a reason) when it cannot run. */
export function benchTorch(sizes: BenchSizes, opts: TimingOptions, threads = 2): { rows?: BenchRow[]; error?: string } {
  if (!torchAvailable()) return { error: TORCH_MISSING };
  const script = torchScriptPath();
  if (!script) return { error: 'scripts/bench/torch_ops.py not found next to the engine' };
  const r = spawnSync(TORCH_PYTHON, [script, '--threads', String(threads), '--sizes', JSON.stringify(sizes), '--reps', String(opts.reps), '--warmup', String(opts.warmup)], {
    encoding: 'utf8', timeout: 600_000, maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) return { error: `PyTorch peer failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}` };
  const parsed = JSON.parse(r.stdout) as Array<{ name: string; ms: number; flop: number }>;
  return { rows: parsed.map((x) => row(x.name, `torch(${threads})`, x.flop, x.ms)) };
}

/** Table with one row per workload, one column per backend, and each backend's time ratio to PyTorch. */
export function formatBenchTable(rows: BenchRow[]): string {
  const backends = [...new Set(rows.map((r) => r.backend))];
  const names = [...new Set(rows.map((r) => r.name))];
  const torch = backends.find((b) => b.startsWith('torch'));
  const header = ['workload', ...backends.map((b) => `${b} ms (GFLOP/s)`), ...(torch ? backends.filter((b) => b !== torch).map((b) => `${b}/torch`) : [])];
  const lines = [header];
  for (const name of names) {
    const cell = (b: string) => rows.find((r) => r.name === name && r.backend === b);
    const cells = backends.map((b) => {
      const r = cell(b);
      return r ? `${fmt(r.ms)} (${r.gflops !== undefined ? r.gflops.toFixed(1) : '-'})` : 'n/a';
    });
    const ratios = torch
      ? backends.filter((b) => b !== torch).map((b) => {
        const r = cell(b);
        const t = cell(torch);
        return r && t ? `${(r.ms / t.ms).toFixed(1)}x` : 'n/a';
      })
      : [];
    lines.push([name, ...cells, ...ratios]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}
