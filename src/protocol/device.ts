// What a run computes on, in a few words for people: the GPU's name, "software GPU (llvmpipe)"
// for a CPU rasteriser behind WebGPU, or "cpu". One pure function, used by the progress
// notification, the runs tree and the panel's run header, from the `run_started` event's
// `backend`, `device` and (when the engine sends it) `adapter`.
//
// Device strings the engine writes (src/core/runtime/backend.ts):
//   "gpu (WebGPU/Dawn: nvidia ampere NVIDIA H100)"   vendor, architecture, description
//   "gpu (TensorFlow C, CUDA)"                        tfjs-node-gpu
//   "cpu (wasm SIMD, XNNPACK, 1 thread)", "cpu (TensorFlow C)", "cpu (JavaScript)"
import type { RunStartedEvent } from './events';

export type AdapterInfo = NonNullable<RunStartedEvent['adapter']>;

export type DeviceKind = 'gpu' | 'software-gpu' | 'cpu' | 'other';

export interface DeviceDescription {
  kind: DeviceKind;
  /** Short label, e.g. "NVIDIA H100", "software GPU (llvmpipe)", "cpu". */
  label: string;
}

/** Renderers that implement a GPU API on the CPU (Mesa, Google, Microsoft). */
const SOFTWARE_RENDERER = /\b(llvmpipe|lavapipe|swiftshader|softpipe|warp|microsoft basic render(?:er)? driver)\b/i;
const SOFTWARE_WORD = /\bsoftware\b/i;

/** Whether an adapter's text names a renderer that runs on the CPU (also used by the engine's `auto`). */
export function isSoftwareRenderer(text: string): boolean {
  return SOFTWARE_RENDERER.test(text);
}
const RENDERER_NAMES: Record<string, string> = { swiftshader: 'SwiftShader', warp: 'WARP' };

/** Backends that never use a GPU. */
const CPU_BACKENDS = new Set(['cpu', 'wasm', 'tfjs-node']);

const text = (x: unknown): string => (typeof x === 'string' ? x.trim() : '');

function rendererName(s: string): string | undefined {
  const m = SOFTWARE_RENDERER.exec(s);
  if (!m) return undefined;
  const k = m[1].toLowerCase();
  return RENDERER_NAMES[k] ?? (k.startsWith('microsoft') ? 'Microsoft Basic Render Driver' : k);
}

function softwareLabel(name: string | undefined): DeviceDescription {
  return { kind: 'software-gpu', label: name ? `software GPU (${name})` : 'software GPU' };
}

/**
 * The GPU's name from Dawn's "vendor architecture description" text: the vendor and architecture
 * are dropped when the description repeats the vendor ("nvidia ampere NVIDIA H100" -> "NVIDIA H100").
 */
export function gpuName(adapterText: string): string {
  const t = adapterText.trim().split(/\s+/).filter(Boolean);
  if (t.length > 1) {
    const vendor = t[0].toLowerCase();
    for (let i = 1; i < t.length; i++) if (t[i].toLowerCase().startsWith(vendor)) return t.slice(i).join(' ');
  }
  return t.join(' ');
}

function fromAdapter(a: AdapterInfo): DeviceDescription | undefined {
  const vendor = text(a.vendor), architecture = text(a.architecture), description = text(a.description);
  const all = `${vendor} ${architecture} ${description}`;
  if (a.software === true || SOFTWARE_RENDERER.test(all) || architecture.toLowerCase() === 'software') {
    // The renderer's own name, else the description up to its "(LLVM …)" details.
    const plain = description.replace(/\s*\(.*$/, '').trim();
    return softwareLabel(rendererName(all) ?? (plain && plain.toLowerCase() !== 'software' ? plain : undefined));
  }
  const name = description || [vendor, architecture].filter(Boolean).join(' ');
  return name ? { kind: 'gpu', label: name } : undefined;
}

function gpuApi(backend: string, detail: string): string | undefined {
  if (/cuda/i.test(detail) || backend === 'tfjs-node-gpu') return 'CUDA';
  if (/webgpu/i.test(detail) || backend === 'webgpu') return 'WebGPU';
  return undefined;
}

/** What a run computes on. Undefined when neither backend nor device says anything. */
export function describeDevice(backend: string | undefined, device: string | undefined, adapter?: AdapterInfo | null): DeviceDescription | undefined {
  const b = text(backend), d = text(device);
  if (adapter && typeof adapter === 'object') {
    const fromInfo = fromAdapter(adapter);
    if (fromInfo) return fromInfo;
  }
  const m = /^(cpu|gpu)\b\s*(?:\((.*)\))?\s*$/is.exec(d);
  if (m && m[1].toLowerCase() === 'cpu') return { kind: 'cpu', label: 'cpu' };
  if (m) {
    const detail = text(m[2]);
    const colon = detail.indexOf(':');
    const adapterText = colon >= 0 ? detail.slice(colon + 1).trim() : '';
    if (SOFTWARE_RENDERER.test(adapterText) || SOFTWARE_WORD.test(adapterText)) return softwareLabel(rendererName(adapterText));
    if (adapterText && adapterText.toLowerCase() !== 'unknown adapter') return { kind: 'gpu', label: gpuName(adapterText) };
    const api = gpuApi(b, detail);
    return { kind: 'gpu', label: api ? `GPU (${api})` : 'GPU' };
  }
  if (SOFTWARE_RENDERER.test(d)) return softwareLabel(rendererName(d));
  if (CPU_BACKENDS.has(b)) return { kind: 'cpu', label: 'cpu' };
  if (b === 'webgpu' || b === 'tfjs-node-gpu') return { kind: 'gpu', label: `GPU (${gpuApi(b, d)})` };
  if (d || b) return { kind: 'other', label: d || b };
  return undefined;
}

/** The short label alone: "NVIDIA H100", "software GPU (llvmpipe)", "cpu". */
export function deviceLabel(backend: string | undefined, device: string | undefined, adapter?: AdapterInfo | null): string | undefined {
  return describeDevice(backend, device, adapter)?.label;
}
