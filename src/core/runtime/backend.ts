// TF.js backend selection. Preference order follows speed: native TensorFlow on GPU, native
// TensorFlow on CPU, Dawn WebGPU, wasm (XNNPACK), plain JS. Every probe records why a backend
// could not load, so the run header and `reclf info --backends` can say it.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors';
import { registerWasmKernels } from './wasm-kernels';

import { BACKEND_ORDER, type BackendName } from '../../protocol/backends';
import { isSoftwareRenderer } from '../../protocol/device';

export { BACKEND_ORDER, type BackendName };

export interface BackendProbe {
  name: string;
  available: boolean;
  /** Why it is unavailable (or a note about how it loaded). */
  reason?: string;
  loadMs?: number;
  /** Human description of the compute device once loaded. */
  device?: string;
  /** The GPU adapter (webgpu only). */
  adapter?: GpuAdapterReport;
}

export interface BackendSelection {
  name: string;
  device: string;
  probes: BackendProbe[];
  /** The GPU adapter when the backend is webgpu. */
  adapter?: GpuAdapterReport;
}

/** Whether `auto` may pick this loaded backend: a software GPU adapter is slower than wasm. */
function autoEligible(p: BackendProbe): boolean {
  return p.available && !p.adapter?.software;
}

/** The tfjs registry name each of our backends registers under. */
const TF_NAME: Record<BackendName, string> = {
  'tfjs-node-gpu': 'tensorflow',
  'tfjs-node': 'tensorflow',
  webgpu: 'webgpu',
  wasm: 'wasm',
  cpu: 'cpu',
};

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 300);
}

function resolvable(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    try {
      require.resolve(pkg);
      return true;
    } catch {
      return false;
    }
  }
}

/** Makes tfjs's registry name `tfName` the active backend; false if it failed to initialise. */
async function activate(tfName: string): Promise<boolean> {
  if (!tf.findBackendFactory(tfName)) return false;
  try {
    return await tf.setBackend(tfName);
  } catch {
    return false;
  }
}

/** Directory holding the .wasm binaries; the package is external to the bundle, so resolution works under tsx and dist/. */
export function wasmBinaryDir(): string {
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
}

let wasmPathsSet = false;

interface LoadResult {
  ok: boolean;
  reason?: string;
  device?: string;
  adapter?: GpuAdapterReport;
  note?: string;
}

async function loadNodeBinding(pkg: 'tfjs-node-gpu' | 'tfjs-node'): Promise<LoadResult> {
  const full = `@tensorflow/${pkg}`;
  if (!resolvable(full)) {
    return { ok: false, reason: `${full} is not installed (optional dependency; its native TensorFlow addon could not be installed here)` };
  }
  try {
    require(full);
  } catch (e) {
    return { ok: false, reason: `${full} failed to load: ${errorText(e)}` };
  }
  if (!(await activate('tensorflow'))) return { ok: false, reason: `${full} loaded but the 'tensorflow' backend did not initialise` };
  return { ok: true, device: pkg === 'tfjs-node-gpu' ? 'gpu (TensorFlow C, CUDA)' : 'cpu (TensorFlow C)' };
}

/** The WebGPU adapter Dawn chose, as `reclf info --backends` and the run header report it. */
export interface GpuAdapterReport {
  vendor: string;
  architecture: string;
  description: string;
  /** A CPU implementation (Mesa llvmpipe/lavapipe, SwiftShader, a fallback adapter): correct, slow. */
  software: boolean;
  /** The limits that bound tensor sizes on this adapter, in bytes. */
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string };
  isFallbackAdapter?: boolean;
  limits: Record<string, number>;
  features: { has(name: string): boolean };
  requestDevice(descriptor?: unknown): Promise<unknown>;
}

interface WebGpuModule {
  create(flags: string[]): { requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null> };
  globals: Record<string, unknown>;
}

/** Whether an adapter is a software rasteriser: never chosen by `auto` over wasm. */
export function isSoftwareAdapter(a: { architecture?: string; description?: string; vendor?: string; isFallbackAdapter?: boolean }): boolean {
  if (a.isFallbackAdapter) return true;
  if ((a.architecture ?? '').toLowerCase() === 'software') return true;
  return isSoftwareRenderer(`${a.vendor ?? ''} ${a.description ?? ''}`);
}

export function describeAdapter(a: GpuAdapterReport): string {
  const name = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'unknown adapter';
  return a.software ? `${name}; software adapter` : name;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20).toLocaleString('en-US')} MiB`;
}

/** The adapter as tfjs-backend-webgpu would want it, and how it is reported. */
async function openDawnAdapter(): Promise<{ adapter: GpuAdapterLike; report: GpuAdapterReport } | { reason: string }> {
  if (!resolvable('webgpu')) return { reason: "the 'webgpu' package (Dawn) is not installed" };
  // The package is ESM-only; a dynamic import works from both the CJS bundle and tsx.
  const mod = (await import('webgpu')) as unknown as WebGpuModule;
  // tfjs-backend-webgpu uses the WebGPU enums (GPUBufferUsage, GPUMapMode, ...) as globals, as in a browser.
  for (const [k, v] of Object.entries(mod.globals ?? {})) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  // RECLF_WEBGPU_ADAPTER=NAME opens the adapter of that name: on a node with several GPUs that
  // does not confine devices, Vulkan shows them all and has no index variable (engine/slurm/gpu-placement.ts).
  const named = process.env.RECLF_WEBGPU_ADAPTER?.trim();
  const gpu = mod.create(named ? [`adapter=${named}`] : []);
  // The backend's constructor checks navigator.gpu, which Node (before 21) lacks.
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { reason: 'Dawn loaded but found no GPU adapter (requestAdapter() returned null: no Vulkan/Metal/D3D12 driver or GPU visible)' };
  // GPUAdapterInfo's fields are getters on a native object: read them, do not spread it.
  const info = adapter.info;
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const description = info?.description ?? '';
  const report: GpuAdapterReport = {
    vendor, architecture, description,
    software: isSoftwareAdapter({ vendor, architecture, description, isFallbackAdapter: adapter.isFallbackAdapter }),
    maxBufferSize: Number(adapter.limits.maxBufferSize ?? 0),
    maxStorageBufferBindingSize: Number(adapter.limits.maxStorageBufferBindingSize ?? 0),
  };
  return { adapter, report };
}

let webgpuAdapter: GpuAdapterReport | undefined;

/** tfjs-backend-webgpu's MatMulProgramType.MatMulPackedProgram. */
const MATMUL_PACKED = 3;

/** The adapter of the loaded webgpu backend (undefined until it loaded). */
export function webgpuAdapterReport(): GpuAdapterReport | undefined {
  return webgpuAdapter;
}

async function loadWebGpu(): Promise<LoadResult> {
  let opened: Awaited<ReturnType<typeof openDawnAdapter>>;
  try {
    opened = await openDawnAdapter();
  } catch (e) {
    return { ok: false, reason: `Dawn (webgpu package) failed to load: ${errorText(e)}` };
  }
  if ('reason' in opened) return { ok: false, reason: opened.reason };
  const { adapter, report } = opened;
  const adapterText = describeAdapter(report);
  let mod: { WebGPUBackend: new (device: unknown, info?: unknown) => tf.KernelBackend };
  try {
    mod = require('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    return { ok: false, reason: `Dawn found an adapter (${adapterText}) but @tensorflow/tfjs-backend-webgpu failed to load: ${errorText(e)}` };
  }
  // Registered by us rather than by the package (which looks for navigator.gpu, absent in Node):
  // the device is created on the adapter chosen above, with the adapter's own limits so large
  // models are not capped at WebGPU's conservative defaults.
  if (!tf.findBackendFactory('webgpu')) {
    tf.registerBackend('webgpu', async () => {
      const limits = adapter.limits;
      const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
      const device = await adapter.requestDevice({
        requiredFeatures,
        requiredLimits: {
          maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          maxBufferSize: limits.maxBufferSize,
          maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        },
      });
      return new mod.WebGPUBackend(device, adapter.info);
    }, 3);
  }
  if (!(await activate('webgpu'))) return { ok: false, reason: `tfjs webgpu backend did not initialise on ${adapterText}` };
  // Deterministic matmuls: the split-K program adds partial sums with float atomics in whatever
  // order threads run, so two identical steps could differ and a resumed run drift from an
  // uninterrupted one. The packed program sums in a fixed order (its cost on a real GPU is not
  // measured yet). The embedding gradient avoids ScatterNd's atomics likewise (models/layers.ts).
  tf.env().set('WEBGPU_MATMUL_PROGRAM_TYPE', MATMUL_PACKED);
  webgpuAdapter = report;
  return {
    ok: true,
    device: `gpu (WebGPU/Dawn: ${adapterText})`,
    adapter: report,
    note: `max buffer ${mib(report.maxBufferSize)}, max storage binding ${mib(report.maxStorageBufferBindingSize)}`,
  };
}

async function loadWasm(): Promise<LoadResult> {
  let wasmMod: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasmMod = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return { ok: false, reason: `@tensorflow/tfjs-backend-wasm failed to load: ${errorText(e)}` };
  }
  if (!wasmPathsSet) {
    wasmMod.setWasmPaths(wasmBinaryDir());
    wasmPathsSet = true;
  }
  if (!(await activate('wasm'))) return { ok: false, reason: 'the wasm backend did not initialise (the .wasm binary could not be loaded)' };
  registerWasmKernels();
  const simd = await wasmSimd();
  return { ok: true, device: `cpu (wasm${simd ? ' SIMD' : ''}, XNNPACK, ${wasmMod.getThreadsCount()} thread)` };
}

async function wasmSimd(): Promise<boolean> {
  try {
    const f = tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return Boolean(await f);
  } catch {
    return false;
  }
}

async function loadCpu(): Promise<LoadResult> {
  try {
    require('@tensorflow/tfjs-backend-cpu');
  } catch (e) {
    return { ok: false, reason: `@tensorflow/tfjs-backend-cpu failed to load: ${errorText(e)}` };
  }
  if (!(await activate('cpu'))) return { ok: false, reason: 'the cpu backend did not initialise' };
  return { ok: true, device: 'cpu (JavaScript)' };
}

async function loadOne(name: BackendName): Promise<LoadResult> {
  switch (name) {
    case 'tfjs-node-gpu':
      return loadNodeBinding('tfjs-node-gpu');
    case 'tfjs-node':
      return loadNodeBinding('tfjs-node');
    case 'webgpu':
      return loadWebGpu();
    case 'wasm':
      return loadWasm();
    case 'cpu':
      return loadCpu();
  }
}

const probeCache = new Map<BackendName, BackendProbe>();

/** Tries to load one backend (leaving it active on success); results are cached per process. */
export async function probeBackend(name: BackendName): Promise<BackendProbe> {
  const cached = probeCache.get(name);
  if (cached) {
    if (cached.available) await activate(TF_NAME[name]);
    return cached;
  }
  const t0 = performance.now();
  let r: LoadResult;
  try {
    r = await loadOne(name);
  } catch (e) {
    r = { ok: false, reason: errorText(e) };
  }
  const probe: BackendProbe = { name, available: r.ok };
  if (r.ok) {
    probe.loadMs = Math.round(performance.now() - t0);
    probe.device = r.device;
    if (r.adapter) probe.adapter = r.adapter;
    if (r.note) probe.reason = r.note;
  } else {
    probe.reason = r.reason;
  }
  probeCache.set(name, probe);
  return probe;
}

/** Probes every backend in preference order; the active backend afterwards is unspecified. */
export async function probeBackends(): Promise<BackendProbe[]> {
  const before = currentBackend();
  const out: BackendProbe[] = [];
  for (const name of BACKEND_ORDER) out.push(await probeBackend(name));
  if (before) await activate(before);
  return out;
}

function currentBackend(): string | undefined {
  try {
    // getBackend() initialises a default backend when none is set; only ask when one is registered.
    return tf.engine().backendName ?? undefined;
  } catch {
    return undefined;
  }
}

function isBackendName(s: string): s is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(s);
}

/**
 * Activates `preferred` (error if it cannot load) or, when absent/'auto', the first backend in
 * BACKEND_ORDER that loads. Probes of backends after the chosen one are not run.
 */
export async function initBackend(preferred?: string): Promise<BackendSelection> {
  if (preferred && preferred !== 'auto') {
    if (!isBackendName(preferred)) {
      throw new ConfigError(`unknown backend '${preferred}': choose one of auto, ${BACKEND_ORDER.join(', ')}`, 'backend');
    }
    const probe = await probeBackend(preferred);
    if (!probe.available) {
      const probes = await probeBackends();
      const avail = probes.filter((p) => p.available).map((p) => p.name);
      throw new ConfigError(
        `backend '${preferred}' is unavailable: ${probe.reason}. Available here: ${avail.join(', ') || 'none'}`,
        'backend',
      );
    }
    await activate(TF_NAME[preferred]);
    return { name: preferred, device: probe.device ?? preferred, probes: [probe], ...(probe.adapter ? { adapter: probe.adapter } : {}) };
  }
  const probes: BackendProbe[] = [];
  for (const name of BACKEND_ORDER) {
    const p = await probeBackend(name);
    probes.push(p);
    if (autoEligible(p)) {
      await activate(TF_NAME[name]);
      return { name, device: p.device ?? name, probes, ...(p.adapter ? { adapter: p.adapter } : {}) };
    }
  }
  throw new ConfigError(`no TF.js backend could be loaded:\n${describeBackends(probes)}`, 'backend');
}

/** Human-readable table for `reclf info --backends` and run headers. */
export function describeBackends(probes: BackendProbe[]): string {
  const width = Math.max(...probes.map((p) => p.name.length), 7) + 2;
  return probes
    .map((p) => {
      const head = `${p.available ? '+' : '-'} ${p.name.padEnd(width)}`;
      if (p.available) {
        const note = p.reason ? `; ${p.reason}` : '';
        const auto = p.adapter?.software ? '; not chosen by auto (a software adapter is slower than wasm; use --backend webgpu)' : '';
        return `${head}available  ${p.device ?? ''}${p.loadMs !== undefined ? ` (loaded in ${p.loadMs} ms)` : ''}${note}${auto}`;
      }
      return `${head}unavailable: ${p.reason ?? 'unknown reason'}`;
    })
    .join('\n');
}
