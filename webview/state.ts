// Panel state that survives hide/show: VS Code keeps whatever we pass to setState (JSON) and
// hands it back from getState when the webview is re-created. The explanation is stored with
// its typed arrays as base64 (explain.ts's codec uses Node's Buffer; this one is browser-only).
import type { ExplanationPayload } from '../src/protocol/explain';
import type { DetectionPreviewImage, DetectionPreviewMessage, RunResults, StudyRef, TableData, WebviewMessage } from '../src/protocol/webview-messages';
import type { RunView } from './curves';
import type { JobView } from './jobs';
import { PALETTES, type PaletteName } from './colormap';
import type { HeatmapScale } from './heatmap';

export interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  function acquireVsCodeApi(): VsCodeApi;
}

export interface StoredExplanation extends Omit<ExplanationPayload, 'image' | 'attention' | 'relation' | 'importance' | 'wordScore'> {
  image: { png: string; width: number; height: number; sourcePath?: string };
  attention: string;
  relation: string;
  importance: string;
  wordScore: string;
}

export interface PanelState {
  version: 1;
  explanation?: StoredExplanation;
  selected: number;
  opacity: number;
  palette: PaletteName;
  scale: HeatmapScale;
  run?: RunView;
  tables: TableData[];
  /** The last detection preview, thumbnails as base64 (state must be JSON). */
  detection?: StoredDetectionPreview;
  /** The latest evaluation and ablation jobs (at most one of each kind). */
  jobs: JobView[];
  results?: { title: string; runs: RunResults[] };
  /** The dataset study the explanation shows. */
  study?: StudyRef;
}

export interface StoredDetectionPreview {
  title: string;
  images: Array<Omit<DetectionPreviewImage, 'png'> & { png: string }>;
}

export const DEFAULT_STATE: PanelState = { version: 1, selected: 0, opacity: 0.6, palette: 'viridis', scale: 'zero', tables: [], jobs: [] };

function bytesToB64(bytes: Uint8Array): string {
  let s = '';
  // Chunked: String.fromCharCode(...big) overflows the argument limit.
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function b64ToBytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const f32ToB64 = (a: Float32Array): string => bytesToB64(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
function b64ToF32(s: string): Float32Array {
  const b = b64ToBytes(s);
  return new Float32Array(b.buffer, 0, b.byteLength / 4);
}

export function storeExplanation(p: ExplanationPayload): StoredExplanation {
  return {
    ...p,
    image: { ...p.image, png: bytesToB64(p.image.png) },
    attention: f32ToB64(p.attention),
    relation: f32ToB64(p.relation),
    importance: f32ToB64(p.importance),
    wordScore: f32ToB64(p.wordScore),
  };
}

export function restoreExplanation(s: StoredExplanation): ExplanationPayload {
  return {
    ...s,
    image: { ...s.image, png: b64ToBytes(s.image.png) },
    attention: b64ToF32(s.attention),
    relation: b64ToF32(s.relation),
    importance: b64ToF32(s.importance),
    wordScore: b64ToF32(s.wordScore),
  };
}

export function storeDetectionPreview(m: Pick<DetectionPreviewMessage, 'title' | 'images'>): StoredDetectionPreview {
  return { title: m.title, images: m.images.map((im) => ({ ...im, png: bytesToB64(im.png) })) };
}

export function restoreDetectionPreview(s: StoredDetectionPreview): Pick<DetectionPreviewMessage, 'title' | 'images'> {
  return { title: s.title, images: s.images.map((im) => ({ ...im, png: b64ToBytes(im.png) })) };
}

/** Reads back a stored state, falling back field by field to defaults (old or foreign shapes). */
export function readState(raw: unknown): PanelState {
  if (typeof raw !== 'object' || raw === null) return { ...DEFAULT_STATE };
  const r = raw as Partial<PanelState>;
  if (r.version !== 1) return { ...DEFAULT_STATE };
  return {
    version: 1,
    explanation: typeof r.explanation === 'object' && r.explanation !== null ? r.explanation : undefined,
    selected: Number.isInteger(r.selected) && (r.selected as number) >= 0 ? (r.selected as number) : 0,
    opacity: typeof r.opacity === 'number' && r.opacity >= 0 && r.opacity <= 1 ? r.opacity : DEFAULT_STATE.opacity,
    palette: PALETTES.includes(r.palette as PaletteName) ? (r.palette as PaletteName) : DEFAULT_STATE.palette,
    scale: r.scale === 'range' ? 'range' : 'zero',
    run: r.run && typeof r.run.runId === 'string' && Array.isArray(r.run.loss) ? r.run : undefined,
    tables: Array.isArray(r.tables) ? r.tables : [],
    detection: r.detection && typeof r.detection.title === 'string' && Array.isArray(r.detection.images) ? r.detection : undefined,
    jobs: Array.isArray(r.jobs) ? r.jobs.filter((j) => j && typeof j.runId === 'string' && (j.kind === 'eval' || j.kind === 'ablation') && Array.isArray(j.cells)) : [],
    results: r.results && typeof r.results.title === 'string' && Array.isArray(r.results.runs) ? r.results : undefined,
    study: r.study && typeof r.study.id === 'string' ? r.study : undefined,
  };
}

/** Debounced writer: selection changes fire fast, serialising the payload each time would not. */
export function createStateWriter(api: VsCodeApi, delayMs = 150): { write(s: PanelState): void; flush(): void } {
  let pending: PanelState | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending) api.setState(pending);
    pending = undefined;
  };
  return {
    write(s) {
      pending = s;
      if (timer === undefined) timer = setTimeout(flush, delayMs);
    },
    flush,
  };
}
