// TF.js backend selection. Preference order follows speed: native TensorFlow on GPU, native
// TensorFlow on CPU, Dawn WebGPU, wasm (XNNPACK), plain JS. Every probe records why a backend
// could not load, so the run header and `reclf info --backends` can say it.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors';
import { registerWasmKernels } from './wasm-kernels';

export const BACKEND_ORDER = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

export interface BackendProbe {
  name: string;
  available: boolean;
  /** Why it is unavailable (or a note about how it loaded). */
  reason?: string;
  loadMs?: number;
  /** Human description of the compute device once loaded. */
  device?: string;
}

export interface BackendSelection {
  name: string;
  device: string;
  probes: BackendProbe[];
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

async function loadNodeBinding(pkg: 'tfjs-node-gpu' | 'tfjs-node'): Promise<{ ok: boolean; reason?: string; device?: string }> {
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

interface WebGpuModule {
  create(flags: string[]): { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> };
}

async function loadWebGpu(): Promise<{ ok: boolean; reason?: string; device?: string }> {
  if (!resolvable('webgpu')) return { ok: false, reason: "the 'webgpu' package (Dawn) is not installed" };
  let adapterText: string;
  try {
    // The package is ESM-only; a dynamic import works from both the CJS bundle and tsx.
    const mod = (await import('webgpu')) as unknown as WebGpuModule;
    const adapter = await mod.create([]).requestAdapter();
    if (!adapter) {
      return { ok: false, reason: 'Dawn loaded but found no GPU adapter (requestAdapter() returned null: no Vulkan driver / GPU visible)' };
    }
    const info = adapter.info ?? {};
    adapterText = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  } catch (e) {
    return { ok: false, reason: `Dawn (webgpu package) failed to load: ${errorText(e)}` };
  }
  if (!resolvable('@tensorflow/tfjs-backend-webgpu')) {
    return {
      ok: false,
      reason: `Dawn found an adapter (${adapterText}) but @tensorflow/tfjs-backend-webgpu is not installed, so tfjs has no webgpu backend to register`,
    };
  }
  try {
    require('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    return { ok: false, reason: `@tensorflow/tfjs-backend-webgpu failed to load: ${errorText(e)}` };
  }
  if (!(await activate('webgpu'))) return { ok: false, reason: `tfjs webgpu backend did not initialise on ${adapterText}` };
  return { ok: true, device: `gpu (WebGPU/Dawn: ${adapterText})` };
}

async function loadWasm(): Promise<{ ok: boolean; reason?: string; device?: string }> {
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

async function loadCpu(): Promise<{ ok: boolean; reason?: string; device?: string }> {
  try {
    require('@tensorflow/tfjs-backend-cpu');
  } catch (e) {
    return { ok: false, reason: `@tensorflow/tfjs-backend-cpu failed to load: ${errorText(e)}` };
  }
  if (!(await activate('cpu'))) return { ok: false, reason: 'the cpu backend did not initialise' };
  return { ok: true, device: 'cpu (JavaScript)' };
}

async function loadOne(name: BackendName): Promise<{ ok: boolean; reason?: string; device?: string }> {
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
  let r: { ok: boolean; reason?: string; device?: string };
  try {
    r = await loadOne(name);
  } catch (e) {
    r = { ok: false, reason: errorText(e) };
  }
  const probe: BackendProbe = { name, available: r.ok };
  if (r.ok) {
    probe.loadMs = Math.round(performance.now() - t0);
    probe.device = r.device;
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
    return { name: preferred, device: probe.device ?? preferred, probes: [probe] };
  }
  const probes: BackendProbe[] = [];
  for (const name of BACKEND_ORDER) {
    const p = await probeBackend(name);
    probes.push(p);
    if (p.available) return { name, device: p.device ?? name, probes };
  }
  throw new ConfigError(`no TF.js backend could be loaded:\n${describeBackends(probes)}`, 'backend');
}

/** Human-readable table for `reclf info --backends` and run headers. */
export function describeBackends(probes: BackendProbe[]): string {
  const width = Math.max(...probes.map((p) => p.name.length), 7) + 2;
  return probes
    .map((p) => {
      const head = `${p.available ? '+' : '-'} ${p.name.padEnd(width)}`;
      if (p.available) return `${head}available  ${p.device ?? ''}${p.loadMs !== undefined ? ` (loaded in ${p.loadMs} ms)` : ''}`;
      return `${head}unavailable: ${p.reason ?? 'unknown reason'}`;
    })
    .join('\n');
}
