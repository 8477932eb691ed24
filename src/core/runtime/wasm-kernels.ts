// Kernel overrides for tfjs-backend-wasm 4.22. Its XNNPACK path only covers a plain 2-D matmul
// (17-22 GFLOP/s); matmul with transposeA (0.6), transposeB (2.1) and any 3-D batch (~2) fall
// to a slow generic loop, and every backward pass uses those forms. Conv2DBackpropFilter is
// missing (tf.conv2d is not differentiable) and Conv2DBackpropInput runs at ~2.3 GFLOP/s while
// the forward conv runs at ~24. Re-expressing each at kernel level (explicit transpose, loops of
// 2-D products, im2col, forward conv on a dilated gradient) makes every caller fast, autodiff
// included, without op-level changes.
import * as tf from '@tensorflow/tfjs-core';

type Info = tf.TensorInfo;
type Attrs = Record<string, unknown>;

/** The subset of BackendWasm these kernels use. */
interface WasmBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  /** A fresh view per call: the heap may have grown (and detached older views) since. */
  typedArrayFromHeap(info: Info): Float32Array;
}

interface Ctx {
  backend: WasmBackend;
  temps: Info[];
}

const BACKEND = 'wasm';

function kernelOf(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, BACKEND);
  if (!k) throw new Error(`wasm backend has no ${name} kernel`);
  return k.kernelFunc;
}

/** Runs a wasm kernel; the result is tracked as a temporary unless `keep`. */
function run(ctx: Ctx, name: string, inputs: Record<string, Info> | Info[], attrs: Attrs, keep = false): Info {
  const out = kernelOf(name)({ inputs: inputs as tf.NamedTensorInfoMap, backend: ctx.backend as unknown as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap });
  const info = (Array.isArray(out) ? out[0] : out) as Info;
  if (!keep) ctx.temps.push(info);
  return info;
}

function freeTemps(ctx: Ctx, keep: Info): void {
  for (const t of ctx.temps) if (t !== keep) ctx.backend.disposeData(t.dataId);
  ctx.temps.length = 0;
}

function reshape(ctx: Ctx, x: Info, shape: number[]): Info {
  return run(ctx, tf.Reshape, { x }, { shape });
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

let originalBatchMatMul: tf.KernelFunc | undefined;

/** The untouched XNNPACK path: a[1,M,K] @ b[1,K,N]. */
function plainMatMul(ctx: Ctx, a: Info, b: Info): Info {
  const out = originalBatchMatMul!({
    inputs: { a, b },
    backend: ctx.backend as unknown as tf.KernelBackend,
    attrs: { transposeA: false, transposeB: false },
  }) as Info;
  ctx.temps.push(out);
  return out;
}

/** Swaps the last two axes with an explicit (fast) transpose. */
function swapLast(ctx: Ctx, x: Info): Info {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return run(ctx, tf.Transpose, { x }, { perm });
}

/**
 * Per-batch plain products over [batch,M,K] @ [batch|1,K,N]. Operands are copied out of the heap
 * (tfjs's wasm Slice runs per element and costs more than the product); every b slice is a new
 * tensor because XNNPACK caches packed weights by tensor id.
 */
function loopMatMul(ctx: Ctx, a3: Info, b3: Info, batch: number): Info {
  const [batchA, M, K] = a3.shape;
  const [batchB, , N] = b3.shape;
  const out = ctx.backend.makeOutput([batch, M, N], 'float32');
  ctx.temps.push(out);
  const sharedA = batchA === 1 ? a3 : undefined;
  for (let i = 0; i < batch; i++) {
    let ai = sharedA;
    if (!ai) {
      ai = ctx.backend.makeOutput([1, M, K], 'float32');
      ctx.backend.typedArrayFromHeap(ai).set(ctx.backend.typedArrayFromHeap(a3).subarray(i * M * K, (i + 1) * M * K));
    }
    const bi = ctx.backend.makeOutput([1, K, N], 'float32');
    const bo = batchB === 1 ? 0 : i;
    ctx.backend.typedArrayFromHeap(bi).set(ctx.backend.typedArrayFromHeap(b3).subarray(bo * K * N, (bo + 1) * K * N));
    const ri = originalBatchMatMul!({ inputs: { a: ai, b: bi }, backend: ctx.backend as unknown as tf.KernelBackend, attrs: { transposeA: false, transposeB: false } }) as Info;
    ctx.backend.typedArrayFromHeap(out).set(ctx.backend.typedArrayFromHeap(ri), i * M * N);
    ctx.backend.disposeData(ri.dataId);
    ctx.backend.disposeData(bi.dataId);
    if (ai !== sharedA) ctx.backend.disposeData(ai.dataId);
  }
  return out;
}

function batchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const a = args.inputs.a as Info;
  const b = args.inputs.b as Info;
  const transposeA = Boolean(args.attrs?.transposeA);
  const transposeB = Boolean(args.attrs?.transposeB);
  const backend = args.backend as WasmBackend;
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  const outer = a.shape.length > 2 ? a.shape.slice(0, -2) : [];
  const outerB = b.shape.length > 2 ? b.shape.slice(0, -2) : [];
  const simple = batchA === 1 && batchB === 1 && !transposeA && !transposeB;
  // Mixed broadcasting of several batch axes is rare; leave it to the generic kernel.
  const sameBatch = batchA === batchB && outer.join(',') === outerB.join(',');
  const supported = a.dtype === 'float32' && b.dtype === 'float32' && (sameBatch || batchB === 1 || batchA === 1);
  if (simple || !supported) return originalBatchMatMul!(args as Parameters<tf.KernelFunc>[0]) as Info;

  const ctx: Ctx = { backend, temps: [] };
  let a3 = transposeA ? swapLast(ctx, a) : a;
  let b3 = transposeB ? swapLast(ctx, b) : b;
  const M = a3.shape[a3.shape.length - 2];
  const K = a3.shape[a3.shape.length - 1];
  const N = b3.shape[b3.shape.length - 1];
  const outBatchShape = batchA >= batchB ? (a.shape.length > 2 ? a.shape.slice(0, -2) : []) : outerB;
  let result: Info;
  if (batchB === 1) {
    // b is shared: stack a's batch into rows, one 2-D product.
    a3 = reshape(ctx, a3, [1, batchA * M, K]);
    b3 = reshape(ctx, b3, [1, K, N]);
    result = plainMatMul(ctx, a3, b3);
  } else {
    a3 = reshape(ctx, a3, [batchA, M, K]);
    b3 = reshape(ctx, b3, [batchB, K, N]);
    result = loopMatMul(ctx, a3, b3, Math.max(batchA, batchB));
  }
  const final = run(ctx, tf.Reshape, { x: result }, { shape: [...outBatchShape, M, N] }, true);
  freeTemps(ctx, final);
  return final;
}

interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
}

function convGeometry(xShape: number[], filterShape: number[], attrs: tf.NamedAttrMap): ConvGeometry {
  const strides = attrs.strides as [number, number] | number;
  const pad = attrs.pad as 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  const dimRoundingMode = attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    padTop: info.padInfo.top,
    padBottom: info.padInfo.bottom,
    padLeft: info.padInfo.left,
    padRight: info.padInfo.right,
  };
}

function assertNhwc(attrs: tf.NamedAttrMap | undefined, kernel: string): void {
  const fmt = attrs?.dataFormat;
  if (fmt !== undefined && fmt !== 'NHWC' && fmt !== 'channelsLast') throw new Error(`${kernel} on wasm supports NHWC only, got ${String(fmt)}`);
}

/**
 * The input pixels that filter tap (i, j) multiplies, as a [n*outH*outW, C] tensor (zeros where
 * the tap falls in the padding). Built by heap row copies: tfjs's wasm Slice/StridedSlice work
 * per element and cost more than the products.
 */
function tapWindow(ctx: Ctx, x: Info, g: ConvGeometry, b0: number, n: number, i: number, j: number): Info {
  const { inH: H, inW: W, inC: C, outH, outW, sh, sw } = g;
  const out = ctx.backend.makeOutput([1, n * outH * outW, C], 'float32');
  const o = ctx.backend.typedArrayFromHeap(out);
  const src = ctx.backend.typedArrayFromHeap(x);
  o.fill(0);
  // Output columns whose input column ix = ox*sw + j - padLeft lies inside [0, W).
  const ox0 = Math.max(0, Math.ceil((g.padLeft - j) / sw));
  const ox1 = Math.min(outW, Math.floor((W - 1 + g.padLeft - j) / sw) + 1);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < outH; oy++) {
      const iy = oy * sh + i - g.padTop;
      if (iy < 0 || iy >= H || ox1 <= ox0) continue;
      const srcRow = ((b0 + b) * H + iy) * W;
      const dstRow = (b * outH + oy) * outW;
      if (sw === 1) {
        const ix0 = ox0 + j - g.padLeft;
        o.set(src.subarray((srcRow + ix0) * C, (srcRow + ix0 + ox1 - ox0) * C), (dstRow + ox0) * C);
      } else {
        for (let ox = ox0; ox < ox1; ox++) {
          const ix = ox * sw + j - g.padLeft;
          o.set(src.subarray((srcRow + ix) * C, (srcRow + ix + 1) * C), (dstRow + ox) * C);
        }
      }
    }
  }
  ctx.temps.push(out);
  return out;
}

/** Examples per chunk, so a big conv's dy transpose and windows stay bounded. */
const CHUNK_MAX_FLOATS = 16 * 1024 * 1024;

function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const x = args.inputs.x as Info;
  const dy = args.inputs.dy as Info;
  const attrs = args.attrs ?? {};
  assertNhwc(attrs, 'Conv2DBackpropFilter');
  const filterShape = attrs.filterShape as number[];
  const g = convGeometry(x.shape, filterShape, attrs);
  const backend = args.backend as WasmBackend;
  const taps = g.kh * g.kw;
  const perExample = g.outH * g.outW * Math.max(g.inC, g.outC);
  const chunk = Math.max(1, Math.min(g.batch, Math.floor(CHUNK_MAX_FLOATS / Math.max(1, perExample))));
  // dW[i,j]^T = dy^T [Cout, N] @ window(i,j) [N, Cin]: plain 2-D products on the XNNPACK path.
  const acc = new Float32Array(taps * g.outC * g.inC);
  for (let b0 = 0; b0 < g.batch; b0 += chunk) {
    const n = Math.min(chunk, g.batch - b0);
    const ctx: Ctx = { backend, temps: [] };
    const dys = n === g.batch ? dy : run(ctx, tf.Slice, { x: dy }, { begin: [b0, 0, 0, 0], size: [n, g.outH, g.outW, g.outC] });
    const rows = n * g.outH * g.outW;
    const dyT = run(ctx, tf.Transpose, { x: reshape(ctx, dys, [rows, g.outC]) }, { perm: [1, 0] });
    const dyT3 = reshape(ctx, dyT, [1, g.outC, rows]);
    for (let i = 0; i < g.kh; i++) {
      for (let j = 0; j < g.kw; j++) {
        const win = tapWindow(ctx, x, g, b0, n, i, j);
        const r = plainMatMul(ctx, dyT3, win);
        const rv = backend.typedArrayFromHeap(r);
        const off = (i * g.kw + j) * g.outC * g.inC;
        for (let q = 0; q < rv.length; q++) acc[off + q] += rv[q];
        backend.disposeData(r.dataId);
        backend.disposeData(win.dataId);
        ctx.temps.length = ctx.temps.length - 2;
      }
    }
    freeTemps(ctx, dyT3);
    backend.disposeData(dyT3.dataId);
  }
  const ctx: Ctx = { backend, temps: [] };
  const t = backend.makeOutput([g.kh, g.kw, g.outC, g.inC], 'float32');
  backend.typedArrayFromHeap(t).set(acc);
  ctx.temps.push(t);
  const out = run(ctx, tf.Transpose, { x: t }, { perm: [0, 1, 3, 2] }, true);
  freeTemps(ctx, out);
  return out;
}

function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): Info {
  const dy = args.inputs.dy as Info;
  const filter = args.inputs.filter as Info;
  const attrs = args.attrs ?? {};
  assertNhwc(attrs, 'Conv2DBackpropInput');
  const inputShape = attrs.inputShape as number[];
  const g = convGeometry(inputShape, filter.shape, attrs);
  const ctx: Ctx = { backend: args.backend as WasmBackend, temps: [] };
  // dx = valid conv of the zero-dilated, re-padded dy with the spatially flipped filter whose
  // in/out channels are swapped. Dilation wastes s^2 multiply-adds but runs on the fast forward conv.
  let d = dy;
  if (g.sh > 1 || g.sw > 1) {
    const r6 = reshape(ctx, dy, [g.batch, g.outH, 1, g.outW, 1, g.outC]);
    const spread = run(ctx, tf.PadV2, { x: r6 }, { paddings: [[0, 0], [0, 0], [0, g.sh - 1], [0, 0], [0, g.sw - 1], [0, 0]], constantValue: 0 });
    const flat = reshape(ctx, spread, [g.batch, g.outH * g.sh, g.outW * g.sw, g.outC]);
    d = run(ctx, tf.Slice, { x: flat }, { begin: [0, 0, 0, 0], size: [g.batch, (g.outH - 1) * g.sh + 1, (g.outW - 1) * g.sw + 1, g.outC] });
  }
  const dh = d.shape[1];
  const dwid = d.shape[2];
  const top = g.kh - 1 - g.padTop;
  const left = g.kw - 1 - g.padLeft;
  const bottom = g.inH + g.kh - 1 - top - dh;
  const right = g.inW + g.kw - 1 - left - dwid;
  // Negative pads (rows of x no output position ever read) become crops.
  const padSpec = [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]];
  let p = padSpec.some(([a, b]) => a || b) ? run(ctx, tf.PadV2, { x: d }, { paddings: padSpec, constantValue: 0 }) : d;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) {
    const begin = [0, Math.max(0, -top), Math.max(0, -left), 0];
    const sz = [g.batch, p.shape[1] - begin[1] - Math.max(0, -bottom), p.shape[2] - begin[2] - Math.max(0, -right), g.outC];
    p = run(ctx, tf.Slice, { x: p }, { begin, size: sz });
  }
  const flipped = run(ctx, tf.Reverse, { x: filter }, { dims: [0, 1] });
  const swapped = run(ctx, tf.Transpose, { x: flipped }, { perm: [0, 1, 3, 2] });
  const conv = run(ctx, tf.Conv2D, { x: p, filter: swapped }, {
    strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined,
  });
  const out = run(ctx, tf.Reshape, { x: conv }, { shape: inputShape }, true);
  freeTemps(ctx, out);
  return out;
}

let registered = false;
let originalSum: tf.KernelFunc | undefined;
let originalMean: tf.KernelFunc | undefined;

/** Below this many rows the stock reduction is as fast as a matmul call. */
const MATMUL_REDUCE_MIN_ROWS = 64;

/**
 * Reductions over the LEADING axes (bias and BatchNorm gradients: sum over rows of [R, C]) make
 * tfjs-wasm transpose first. They are ones[1, R] @ X[R, C], which stays on XNNPACK's fast path.
 * Any other reduction goes to the stock kernel.
 */
function leadingReduce(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }, mean: boolean): Info {
  const stock = (mean ? originalMean : originalSum)!;
  const x = args.inputs.x as Info;
  const rank = x.shape.length;
  const rawAxis = args.attrs?.axis as number | number[] | undefined;
  const axes = [...new Set((rawAxis === undefined ? [...Array(rank).keys()] : Array.isArray(rawAxis) ? rawAxis : [rawAxis])
    .map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
  const rows = size(x.shape.slice(0, axes.length));
  if (x.dtype !== "float32" || !leading || rows < MATMUL_REDUCE_MIN_ROWS) return stock(args as Parameters<tf.KernelFunc>[0]) as Info;
  const backend = args.backend as WasmBackend;
  const ctx: Ctx = { backend, temps: [] };
  const rest = x.shape.slice(axes.length);
  const cols = size(rest);
  const ones = backend.makeOutput([1, 1, rows], 'float32');
  ctx.temps.push(ones);
  backend.typedArrayFromHeap(ones).fill(mean ? 1 / rows : 1);
  const prod = plainMatMul(ctx, ones, reshape(ctx, x, [1, rows, cols]));
  const outShape = args.attrs?.keepDims ? [...axes.map(() => 1), ...rest] : rest;
  const final = run(ctx, tf.Reshape, { x: prod }, { shape: outShape }, true);
  freeTemps(ctx, final);
  return final;
}

/** Stock kernel configs replaced by ours (undefined where wasm had none). */
const originals = new Map<string, tf.KernelConfig | undefined>();

function replaceKernel(name: string, kernelFunc: tf.KernelFunc): void {
  const existing = tf.getKernel(name, BACKEND);
  originals.set(name, existing);
  if (existing) tf.unregisterKernel(name, BACKEND);
  tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc, setupFunc: existing?.setupFunc });
}

/** Installs the overrides; idempotent. Call after the wasm backend has initialised. */
export function registerWasmKernels(): void {
  if (registered) return;
  const bmm = tf.getKernel(tf.BatchMatMul, BACKEND);
  if (!bmm) throw new Error('wasm backend is not registered');
  originalBatchMatMul = bmm.kernelFunc;
  replaceKernel(tf.BatchMatMul, batchMatMul as unknown as tf.KernelFunc);
  replaceKernel(tf.Conv2DBackpropFilter, conv2DBackpropFilter as unknown as tf.KernelFunc);
  replaceKernel(tf.Conv2DBackpropInput, conv2DBackpropInput as unknown as tf.KernelFunc);
  const sum = tf.getKernel(tf.Sum, BACKEND);
  const mean = tf.getKernel(tf.Mean, BACKEND);
  if (sum) {
    originalSum = sum.kernelFunc;
    replaceKernel(tf.Sum, ((a: Parameters<tf.KernelFunc>[0]) => leadingReduce(a as never, false)) as unknown as tf.KernelFunc);
  }
  if (mean) {
    originalMean = mean.kernelFunc;
    replaceKernel(tf.Mean, ((a: Parameters<tf.KernelFunc>[0]) => leadingReduce(a as never, true)) as unknown as tf.KernelFunc);
  }
  registered = true;
}

/** Restores the stock kernels (benchmarks compare against them); Conv2DBackpropFilter stays, as stock wasm has none. */
export function unregisterWasmKernels(): void {
  if (!registered) return;
  for (const [name, config] of originals) {
    if (!config) continue;
    tf.unregisterKernel(name, BACKEND);
    tf.registerKernel(config);
  }
  originals.clear();
  registered = false;
}

export function wasmKernelsRegistered(): boolean {
  return registered;
}
