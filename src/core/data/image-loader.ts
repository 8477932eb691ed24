// Batch image loading off the training thread: a small worker_threads pool decodes, resizes,
// augments and normalises; results come back as transferred buffers. A bad image never fails
// its batch: its slot is flagged with an error naming the file, and the trainer skips it.
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Rng } from '../rng';
import { augment as augmentImage, resolveAugmentConfig, type AugmentConfig } from './augment';
import { decodeImageFile, errorText, normalizeInPlace, resizeAndPad, resolveImageLimits, type ImageLimits } from './image-io';

export interface ImageLoaderOptions {
  /** Worker threads; 0 decodes on the calling thread. Default min(2, cores). */
  workers?: number;
  size: number;
  augment?: Partial<AugmentConfig>;
  mean?: number;
  std?: number;
  /** Header size and file size limits (data.maxImagePixels, data.maxImageBytes; defaults 20 MP, 512 MiB). */
  limits?: Partial<ImageLimits>;
}

export interface LoadJob {
  path: string;
  seed: number;
  augment: boolean;
}

export interface LoadedImages {
  /** [n, size, size] contiguous; a failed slot is left at 0. */
  data: Float32Array;
  ok: boolean[];
  errors: (string | undefined)[];
}

/** What a worker needs to turn a path into a model input; sent once as workerData. */
export interface PreprocessConfig {
  size: number;
  augment: AugmentConfig;
  mean: number;
  std: number;
  limits: ImageLimits;
}

export interface DecodeRequest {
  id: number;
  path: string;
  seed: number;
  augment: boolean;
}

/** First message of every worker: its module loaded and it listens. */
export interface WorkerReady {
  ready: true;
}

export type DecodeReply =
  | { id: number; ok: true; data: Float32Array }
  | { id: number; ok: false; error: string };

/** Decode -> resize-and-pad -> (seeded augment) -> normalise: one [size*size] plane. */
export async function preprocessFile(file: string, seed: number, augment: boolean, cfg: PreprocessConfig): Promise<Float32Array> {
  let img = resizeAndPad(await decodeImageFile(file, cfg.limits), cfg.size);
  if (augment && cfg.augment.enabled) img = augmentImage(img, new Rng(seed), cfg.augment);
  const data = img.data.length === cfg.size * cfg.size && img.data.byteOffset === 0 ? img.data : new Float32Array(img.data);
  normalizeInPlace(data, { mean: cfg.mean, std: cfg.std });
  return data;
}

/** Error text for a failed image that always names the file. */
export function describeFailure(file: string, e: unknown): string {
  const msg = errorText(e);
  return msg.includes(file) ? msg : `${file}: ${msg}`;
}

/**
 * Where the worker entry lives relative to the module that spawns it: next to the bundle in
 * dist/engine (decode-worker.cjs), or next to this source file under tsx (decode-worker.ts).
 */
export function resolveWorkerScript(here: string): { file: string; typescript: boolean } {
  const dir = path.dirname(here);
  const ext = path.extname(here);
  if (ext === '.ts' || ext === '.mts' || ext === '.cts') return { file: path.join(dir, 'decode-worker.ts'), typescript: true };
  return { file: path.join(dir, `decode-worker${ext === '.js' || ext === '.mjs' ? ext : '.cjs'}`), typescript: false };
}

function startWorker(here: string, workerData: PreprocessConfig): Worker {
  const where = resolveWorkerScript(here);
  if (!where.typescript) return new Worker(where.file, { workerData });
  // Under tsx (tests, dev): `--import tsx` in a worker's execArgv does not install the hooks in
  // that thread on Node 20, so the worker registers tsx's require hook itself before loading.
  const tsxCjs = createRequire(here).resolve('tsx/cjs');
  const code = `require(${JSON.stringify(tsxCjs)}); require(${JSON.stringify(where.file)});`;
  return new Worker(code, { eval: true, workerData });
}

function currentModuleFile(): string {
  // Both tsx (CommonJS transform of this file) and the esbuild cjs bundle define __filename.
  if (typeof __filename === 'string') return __filename;
  throw new Error('image-loader: cannot locate the decode worker (no __filename in this module format)');
}

interface Task {
  id: number;
  job: LoadJob;
  settle: (r: { ok: true; data: Float32Array } | { ok: false; error: string }) => void;
  fail: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  inflight: Map<number, Task>;
  /** Set by the worker's first message, sent once its module has loaded. */
  ready: boolean;
}

// Two jobs per worker so file reads and sharp's libuv decode overlap with the JS resize.
const PER_WORKER = 2;

export class ImageLoader {
  readonly size: number;
  readonly workers: number;
  private readonly cfg: PreprocessConfig;
  private slots: Slot[] = [];
  private queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(opts: ImageLoaderOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new Error(`ImageLoader: size must be a positive integer, got ${opts.size}`);
    const workers = opts.workers ?? Math.min(2, os.availableParallelism());
    if (!Number.isInteger(workers) || workers < 0) throw new Error(`ImageLoader: workers must be an integer >= 0, got ${workers}`);
    this.size = opts.size;
    this.workers = workers;
    this.cfg = {
      size: opts.size, augment: resolveAugmentConfig(opts.augment), mean: opts.mean ?? 0.5, std: opts.std ?? 0.5,
      limits: resolveImageLimits(opts.limits),
    };
  }

  async load(jobs: LoadJob[]): Promise<LoadedImages> {
    if (this.closed) throw new Error('ImageLoader is closed');
    const plane = this.size * this.size;
    const out: LoadedImages = {
      data: new Float32Array(jobs.length * plane),
      ok: new Array<boolean>(jobs.length).fill(false),
      errors: new Array<string | undefined>(jobs.length).fill(undefined),
    };
    const place = (i: number, r: { ok: true; data: Float32Array } | { ok: false; error: string }): void => {
      if (r.ok) {
        out.data.set(r.data, i * plane);
        out.ok[i] = true;
      } else {
        out.errors[i] = r.error;
      }
    };
    if (this.workers === 0) {
      await this.loadInline(jobs, place);
      return out;
    }
    const done = jobs.map((job, i) => new Promise<void>((resolve, reject) => {
      this.queue.push({
        id: this.nextId++,
        job,
        settle: (r) => { place(i, r); resolve(); },
        fail: reject,
      });
    }));
    this.dispatch();
    await Promise.all(done);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('ImageLoader closed while loading');
    for (const t of this.queue.splice(0)) t.fail(err);
    const slots = this.slots.splice(0);
    for (const s of slots) {
      for (const t of s.inflight.values()) t.fail(err);
      s.inflight.clear();
      // Referenced until terminated: an unreferenced worker is no pending work for Node, which
      // could then end the process while the caller still awaits this close.
      s.worker.ref();
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private async loadInline(
    jobs: LoadJob[], place: (i: number, r: { ok: true; data: Float32Array } | { ok: false; error: string }) => void,
  ): Promise<void> {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < jobs.length) {
        const i = next++;
        const { path: file, seed, augment } = jobs[i];
        try {
          place(i, { ok: true, data: await preprocessFile(file, seed, augment, this.cfg) });
        } catch (e) {
          place(i, { ok: false, error: describeFailure(file, e) });
        }
      }
    };
    await Promise.all([lane(), lane()]);
  }

  private dispatch(): void {
    if (this.closed) return;
    while (this.slots.length < this.workers) this.slots.push(this.spawn());
    while (this.queue.length > 0) {
      let best: Slot | undefined;
      for (const s of this.slots) if (s.inflight.size < PER_WORKER && (!best || s.inflight.size < best.inflight.size)) best = s;
      if (!best) return;
      const task = this.queue.shift() as Task;
      best.inflight.set(task.id, task);
      best.worker.ref();
      const req: DecodeRequest = { id: task.id, path: task.job.path, seed: task.job.seed, augment: task.job.augment };
      best.worker.postMessage(req);
    }
  }

  private spawn(): Slot {
    const worker = startWorker(currentModuleFile(), this.cfg);
    const slot: Slot = { worker, inflight: new Map(), ready: false };
    worker.unref();
    worker.on('message', (reply: DecodeReply | WorkerReady) => {
      if ('ready' in reply) {
        slot.ready = true;
        return;
      }
      const task = slot.inflight.get(reply.id);
      if (!task || this.closed) return;
      slot.inflight.delete(reply.id);
      if (slot.inflight.size === 0) worker.unref();
      task.settle(reply.ok ? { ok: true, data: reply.data } : { ok: false, error: reply.error });
      this.dispatch();
    });
    let lastError: Error | undefined;
    worker.on('error', (e) => { lastError = e; });
    worker.on('exit', (code) => this.onExit(slot, code, lastError));
    return slot;
  }

  private onExit(slot: Slot, code: number, lastError: Error | undefined): void {
    const idx = this.slots.indexOf(slot);
    if (idx < 0) return; // terminated by close()
    this.slots.splice(idx, 1);
    const reason = lastError ? lastError.message : `exit code ${code}`;
    if (!slot.ready) {
      // The worker could not even load: an installation problem, not a bad image.
      const err = new Error(`decode worker failed to start: ${reason}`);
      for (const t of slot.inflight.values()) t.fail(err);
      for (const t of this.queue.splice(0)) t.fail(err);
      return;
    }
    // A worker that died mid-job (e.g. out of memory on a huge image) blames only its own jobs.
    for (const t of slot.inflight.values()) t.settle({ ok: false, error: `${t.job.path}: decode worker died (${reason})` });
    this.dispatch();
  }
}

/**
 * Bounded read-ahead: yields produce(0..count-1) in order with at most `depth` calls unresolved
 * at any time; a failure is thrown when its own item is reached, not earlier.
 */
export async function* prefetch<T>(produce: (i: number) => Promise<T>, count: number, depth: number): AsyncGenerator<T> {
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`prefetch: depth must be an integer >= 1, got ${depth}`);
  const pending: Promise<T>[] = [];
  let next = 0;
  const start = (): void => {
    const i = next++;
    const p = (async () => produce(i))();
    // Handled later, when its turn comes; this only keeps an early rejection from being "unhandled".
    p.catch(() => undefined);
    pending.push(p);
  };
  while (next < count && next < depth) start();
  for (let i = 0; i < count; i++) {
    const value = await (pending.shift() as Promise<T>);
    if (next < count) start();
    yield value;
  }
}

export interface DecodeBenchResult {
  images: number;
  failed: number;
  seconds: number;
  imagesPerSecond: number;
  workers: number;
  size: number;
}

/** Throughput of the full load path (decode, resize-and-pad, normalise) on the given files. */
export async function benchDecode(
  paths: string[], size: number, opts: { workers?: number; batch?: number; augment?: boolean } = {},
): Promise<DecodeBenchResult> {
  const loader = new ImageLoader({ size, workers: opts.workers });
  const batch = Math.max(1, opts.batch ?? 32);
  const batches = Math.ceil(paths.length / batch);
  let failed = 0;
  const t0 = performance.now();
  try {
    const produce = (b: number): Promise<LoadedImages> => loader.load(
      paths.slice(b * batch, (b + 1) * batch).map((p, k) => ({ path: p, seed: b * batch + k, augment: opts.augment ?? false })),
    );
    for await (const r of prefetch(produce, batches, 2)) failed += r.ok.filter((v) => !v).length;
  } finally {
    await loader.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { images: paths.length, failed, seconds, imagesPerSecond: seconds > 0 ? paths.length / seconds : 0, workers: loader.workers, size };
}
