// `reclf serve`: a persistent explain server. Starting node, ONNX Runtime and a session costs
// about a second while one warm explanation takes tens of milliseconds, so the editor keeps one
// of these alive and sends it JSON-line requests (src/protocol/serve.ts) instead of spawning
// `reclf explain` per report. Requests are handled one at a time, in arrival order, and each gets
// exactly one response line carrying its id: pipelined requests are answered in order.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { num, str, UsageError } from '../args';
import type { Command } from '../command';
import { DataError, isUserError } from '../../core/errors';
import { explain, loadExplainModel, type ExplainModel } from '../../core/explain/explain';
import { encodeExplanation, validateExplanation, type ExplainModelInfo } from '../../protocol/explain';
import type { ServeExplainRequest, ServeRequest, ServeRequestId, ServeResponse } from '../../protocol/serve';
import { BUNDLED_MODEL, resolveExplainModel } from './explain';

type Device = 'auto' | 'cpu' | 'cuda';

/** A request the server cannot act on; `field` names the offending request field. */
class RequestError extends Error {
  constructor(message: string, readonly field?: string) {
    super(message);
  }
}

function optionalString(r: Record<string, unknown>, key: string): string | undefined {
  const v = r[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !v) throw new RequestError(`'${key}' must be a non-empty string`, key);
  return v;
}

/** Parses and checks one request line; throws RequestError (with the id when it could be read). */
export function parseServeRequest(line: string): ServeRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new RequestError(`request is not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RequestError('request must be a JSON object');
  const r = v as Record<string, unknown>;
  if (typeof r.id !== 'string' && typeof r.id !== 'number') throw new RequestError("'id' must be a string or a number", 'id');
  const id = r.id;
  if (r.method === 'shutdown') return { id, method: 'shutdown' };
  if (r.method !== 'explain') throw new RequestError(`unknown method ${JSON.stringify(r.method)} (expected 'explain' or 'shutdown')`, 'method');
  const image = optionalString(r, 'image');
  if (!image) throw new RequestError("'image' is required", 'image');
  const report = optionalString(r, 'report');
  const reportText = r.reportText === undefined || r.reportText === null ? undefined : r.reportText;
  if (reportText !== undefined && typeof reportText !== 'string') throw new RequestError("'reportText' must be a string", 'reportText');
  if ((report === undefined) === (reportText === undefined)) throw new RequestError("give exactly one of 'report' and 'reportText'", 'report');
  const model = optionalString(r, 'model');
  const run = optionalString(r, 'run');
  if (model && run) throw new RequestError("give at most one of 'model' and 'run'", 'model');
  return { id, method: 'explain', image, ...(report ? { report } : { reportText }), ...(model ? { model } : {}), ...(run ? { run } : {}) };
}

function stampOf(file: string): string {
  const st = fs.statSync(file);
  return `${st.mtimeMs}:${st.size}`;
}

/**
 * Loaded models, least recently used first. Keyed by file and its mtime/size so a re-exported
 * model is reloaded; evicted (or superseded) sessions are closed.
 */
export class ModelCache {
  private readonly entries = new Map<string, { file: string; model: Promise<ExplainModel> }>();

  constructor(private readonly capacity: number, private readonly device: Device, private readonly log: (m: string) => void) {}

  get size(): number {
    return this.entries.size;
  }

  async get(file: string, info: Partial<ExplainModelInfo>): Promise<ExplainModel> {
    let stamp: string;
    try {
      stamp = stampOf(file);
    } catch (e) {
      throw new DataError(`${file}: cannot read the model (${(e as Error).message})`, file, 'model');
    }
    // The display info is part of the key: the same file as "bundled" and as an .onnx differ.
    const key = `${file}|${stamp}|${info.source ?? 'onnx'}|${info.name ?? ''}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.model;
    }
    for (const [k, e] of this.entries) if (e.file === file && !k.startsWith(`${file}|${stamp}|`)) this.evict(k);
    const t0 = performance.now();
    const model = loadExplainModel(file, info, this.device);
    this.entries.set(key, { file, model });
    model.then(
      (m) => this.log(`loaded ${file} (${m.meta.method}, ${m.session.executionProvider}) in ${(performance.now() - t0).toFixed(0)} ms`),
      () => this.entries.delete(key),
    );
    while (this.entries.size > this.capacity) this.evict(this.entries.keys().next().value as string);
    return model;
  }

  private evict(key: string): void {
    const e = this.entries.get(key);
    this.entries.delete(key);
    e?.model.then((m) => m.session.close()).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.model.then((m) => m.session.close()).catch(() => undefined)));
  }
}

async function answerExplain(req: ServeExplainRequest, models: ModelCache, log: (m: string) => void): Promise<ServeResponse> {
  const t0 = performance.now();
  let report = req.reportText ?? '';
  let reportPath: string | undefined;
  if (req.report !== undefined) {
    reportPath = path.resolve(req.report);
    try {
      report = fs.readFileSync(reportPath, 'utf8');
    } catch (e) {
      throw new RequestError(`${reportPath}: cannot read the report (${(e as Error).message})`, 'report');
    }
  }
  const imagePath = path.resolve(req.image);
  if (!fs.existsSync(imagePath)) throw new RequestError(`${imagePath}: no such image file`, 'image');
  if (req.run !== undefined && !fs.existsSync(path.resolve(req.run))) throw new RequestError(`${path.resolve(req.run)}: no such run folder`, 'run');
  const resolved = await resolveExplainModel({ model: req.model, run: req.run }, log);
  if (!resolved) throw new RequestError(`no model: give 'model' or 'run' (the bundled ${BUNDLED_MODEL} is not in this install)`, 'model');
  const { file, info } = resolved;
  const model = await models.get(file, info);
  const payload = await explain(model, { imagePath, report, reportPath });
  const problems = validateExplanation(payload);
  if (problems.length) throw new Error(`explanation payload is inconsistent: ${problems.join('; ')}`);
  log(`#${String(req.id)}: ${payload.words.length} words x ${payload.grid.join('x')} regions in ${(performance.now() - t0).toFixed(0)} ms`);
  return { id: req.id, ok: true, payload: encodeExplanation(payload) };
}

function failure(id: ServeRequestId | null, e: unknown, log: (m: string) => void): ServeResponse {
  if (e instanceof RequestError) return { id, ok: false, error: e.message, ...(e.field ? { field: e.field } : {}) };
  if (isUserError(e) || e instanceof UsageError) {
    const field = (e as { field?: unknown }).field;
    return { id, ok: false, error: e.message, ...(typeof field === 'string' ? { field } : {}) };
  }
  // An engine bug for this request: report it and keep serving the others.
  log(`#${String(id)}: internal error: ${(e as Error)?.stack ?? String(e)}`);
  return { id, ok: false, error: `internal error: ${(e as Error)?.message ?? String(e)}` };
}

function idOf(line: string): ServeRequestId | null {
  try {
    const v = JSON.parse(line) as { id?: unknown };
    return typeof v?.id === 'string' || typeof v?.id === 'number' ? v.id : null;
  } catch {
    return null;
  }
}

export interface ServeOptions {
  input: NodeJS.ReadableStream;
  write: (line: string) => void;
  log: (m: string) => void;
  device: Device;
  maxModels: number;
  /** Exit after this long without a request (0 = never). */
  idleExitMs: number;
}

/** Serves until stdin ends, a shutdown request, or the idle limit; resolves with why it stopped. */
export async function serve(o: ServeOptions): Promise<'end' | 'shutdown' | 'idle'> {
  const models = new ModelCache(o.maxModels, o.device, o.log);
  const rl = readline.createInterface({ input: o.input, crlfDelay: Infinity });
  const queue: string[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  rl.on('line', (line) => {
    if (!line.trim()) return;
    queue.push(line);
    wake?.();
  });
  rl.on('close', () => {
    ended = true;
    wake?.();
  });
  let idleTimer: NodeJS.Timeout | undefined;
  let idle = false;
  const armIdle = (): void => {
    if (idleTimer) clearTimeout(idleTimer);
    if (o.idleExitMs > 0) idleTimer = setTimeout(() => { idle = true; wake?.(); }, o.idleExitMs);
  };
  armIdle();
  let reason: 'end' | 'shutdown' | 'idle' = 'end';
  try {
    for (;;) {
      if (!queue.length) {
        if (ended) break;
        if (idle) { reason = 'idle'; break; }
        await new Promise<void>((r) => { wake = r; });
        wake = undefined;
        continue;
      }
      if (idleTimer) clearTimeout(idleTimer);
      const line = queue.shift() as string;
      let response: ServeResponse;
      let stop = false;
      try {
        const req = parseServeRequest(line);
        if (req.method === 'shutdown') {
          response = { id: req.id, ok: true };
          stop = true;
        } else {
          response = await answerExplain(req, models, o.log);
        }
      } catch (e) {
        response = failure(idOf(line), e, o.log);
      }
      o.write(JSON.stringify(response) + '\n');
      if (stop) { reason = 'shutdown'; break; }
      armIdle();
    }
  } finally {
    if (idleTimer) clearTimeout(idleTimer);
    rl.close();
    await models.closeAll();
  }
  return reason;
}

export const serveCommand: Command = {
  spec: {
    name: 'serve',
    summary: 'Persistent explain server: JSON-line requests on stdin, one JSON-line answer each on stdout',
    usage: 'reclf serve [--device auto|cpu|cuda] [--max-models N] [--idle-exit SECONDS]',
    flags: {
      device: { type: 'string', value: 'NAME', default: 'auto', description: 'ONNX Runtime execution provider: auto (CUDA when present), cpu, cuda' },
      'max-models': { type: 'number', value: 'N', default: 3, description: 'Loaded models kept (least recently used closed first)' },
      'idle-exit': { type: 'number', value: 'SECONDS', default: 0, description: 'Exit after this long without a request (0 = only on stdin end or shutdown)' },
    },
  },
  async run(ctx) {
    const { flags } = ctx.args;
    const device = str(flags, 'device') ?? 'auto';
    if (device !== 'auto' && device !== 'cpu' && device !== 'cuda') throw new UsageError(`--device must be auto, cpu or cuda, got ${device}`);
    const maxModels = num(flags, 'maxModels') ?? 3;
    if (!Number.isInteger(maxModels) || maxModels < 1) throw new UsageError(`--max-models must be a positive integer, got ${maxModels}`);
    const idleExit = num(flags, 'idleExit') ?? 0;
    if (!(idleExit >= 0)) throw new UsageError(`--idle-exit must be >= 0 seconds, got ${idleExit}`);
    ctx.events.log(`reclf serve: ready (pid ${process.pid}); requests on stdin, answers on stdout in request order`);
    const why = await serve({
      input: process.stdin, write: (l) => process.stdout.write(l), log: (m) => ctx.events.log(m),
      device, maxModels, idleExitMs: idleExit * 1000,
    });
    ctx.events.log(`reclf serve: stopping (${why === 'end' ? 'stdin closed' : why === 'idle' ? `idle for ${idleExit} s` : 'shutdown requested'})`);
    // stdin stays open after a shutdown/idle stop; without this the process would linger.
    process.stdin.destroy();
    return 0;
  },
};
