// Explanations come from the engine in a child process (ONNX Runtime and sharp stay out of the
// extension host): one long-lived `reclf serve` when it can start (the model stays loaded, so a
// new report costs tens of ms instead of a node + ORT start-up), else `reclf explain ... --json`
// per request. Results are cached by (image, report, model) file stamps, and concurrent requests
// for the same key share one engine call.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeExplanation, validateExplanation, type ExplanationPayload, type ExplanationPayloadJson } from '../protocol/explain';
import { parseServeResponse, type ServeExplainRequest, type ServeResponse } from '../protocol/serve';

export interface ModelRef {
  kind: 'run' | 'onnx';
  path: string;
}

export interface ExplainRequest {
  image: string;
  /** A report file, or the text itself (a manifest line's `report`), which is written to a temp file. */
  report: { file: string } | { text: string; id: string };
  model: ModelRef;
}

/** Runs the engine with these CLI args; resolves with its non-event stdout lines, or rejects with its error. */
export type EngineRunner = (args: string[], opts: { title: string; silent: boolean }) => Promise<string[]>;

function stamp(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.mtimeMs}:${st.size}`;
  } catch {
    return 'missing';
  }
}

export function explainCacheKey(r: ExplainRequest): string {
  const report = 'file' in r.report
    ? `file:${path.resolve(r.report.file)}@${stamp(r.report.file)}`
    : `text:${createHash('sha1').update(r.report.text).digest('hex')}`;
  const modelStamp = r.model.kind === 'onnx' ? stamp(r.model.path) : stamp(path.join(r.model.path, 'checkpoints'));
  return [`image:${path.resolve(r.image)}@${stamp(r.image)}`, report, `${r.model.kind}:${path.resolve(r.model.path)}@${modelStamp}`].join('|');
}

/** The payload is the last JSON line of stdout (logs go to stderr, but be lenient). */
export function parseExplainOutput(lines: string[]): ExplanationPayload {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (!line.startsWith('{')) continue;
    let json: ExplanationPayloadJson;
    try {
      json = JSON.parse(line) as ExplanationPayloadJson;
    } catch {
      continue;
    }
    return checkedPayload(json, 'reclf explain');
  }
  throw new Error('reclf explain printed no explanation payload');
}

function checkedPayload(json: ExplanationPayloadJson, source: string): ExplanationPayload {
  const payload = decodeExplanation(json);
  const errors = validateExplanation(payload);
  if (errors.length) throw new Error(`${source} returned an inconsistent payload: ${errors.join('; ')}`);
  return payload;
}

/** The part of a started `reclf serve` the client needs (see engine-process.ts startEngineServer). */
export interface ServerHandle {
  /** One request line to the server's stdin; false when it cannot take it (stdin closed). */
  send(line: string): boolean;
  readonly exited: Promise<unknown>;
  stop(): Promise<void>;
}

/** Starts a server whose stdout lines go to `onLine`; throws when it cannot be started. */
export type ServerLauncher = (onLine: (line: string) => void) => ServerHandle;

/** The server could not take or finish a request (not started, died, timed out): use the CLI. */
export class ServerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerUnavailableError';
  }
}

export interface ServerClientOptions {
  /** Stop the server after this long without a request (ms). */
  idleMs?: number;
  /** Give up on one request after this long (ms) and restart the server for the next. */
  requestTimeoutMs?: number;
  /** Servers that die before answering anything, in a row, before the client stops trying. */
  maxStartFailures?: number;
  log?: (message: string) => void;
}

type ExplainBody = Omit<ServeExplainRequest, 'id' | 'method'>;

interface Pending {
  sentAt: number;
  resolve(r: ServeResponse): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * One lazily started `reclf serve`, restarted on the next request when it dies, stopped when idle
 * or disposed. Responses are matched to requests by id.
 */
export class ExplainServerClient {
  private server: ServerHandle | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private answered = false;
  private startFailures = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(private readonly launch: ServerLauncher, private readonly o: ServerClientOptions = {}) {}

  /** False once servers kept dying before their first answer (or after dispose). */
  get available(): boolean {
    return !this.disposed && this.startFailures < (this.o.maxStartFailures ?? 2);
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  request(body: ExplainBody): Promise<ServeResponse> {
    if (!this.available) return Promise.reject(new ServerUnavailableError('the explain server is unavailable'));
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const server = this.server ?? this.start();
    if (!server) return Promise.reject(new ServerUnavailableError('the explain server could not be started'));
    const id = this.nextId++;
    return new Promise<ServeResponse>((resolve, reject) => {
      const timeoutMs = this.o.requestTimeoutMs ?? 300_000;
      const timer = setTimeout(() => {
        this.o.log?.(`explain server: no answer to request ${id} in ${timeoutMs} ms; restarting it`);
        this.pending.delete(id);
        reject(new ServerUnavailableError(`the explain server did not answer in ${timeoutMs} ms`));
        void this.stopServer();
      }, timeoutMs);
      this.pending.set(id, { sentAt: performance.now(), resolve, reject, timer });
      if (!server.send(JSON.stringify({ id, method: 'explain', ...body }))) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new ServerUnavailableError('the explain server is not accepting requests'));
      }
    });
  }

  private start(): ServerHandle | undefined {
    let server: ServerHandle;
    try {
      server = this.launch((line) => this.onLine(line));
    } catch (e) {
      this.startFailures++;
      this.o.log?.(`explain server: cannot start (${e instanceof Error ? e.message : String(e)})`);
      return undefined;
    }
    this.server = server;
    this.answered = false;
    void server.exited.then((exit) => this.onExit(server, exit));
    return server;
  }

  private onLine(line: string): void {
    const r = parseServeResponse(line);
    if (!r) return;
    this.answered = true;
    this.startFailures = 0;
    const p = typeof r.id === 'number' ? this.pending.get(r.id) : undefined;
    if (!p) return; // a request that timed out, or an answer to an unparseable line
    clearTimeout(p.timer);
    this.pending.delete(r.id as number);
    this.o.log?.(`explain server: request ${r.id} answered in ${(performance.now() - p.sentAt).toFixed(0)} ms`);
    p.resolve(r);
    this.armIdle();
  }

  private onExit(server: ServerHandle, exit: unknown): void {
    if (this.server !== server) return;
    this.server = undefined;
    if (!this.answered && !this.disposed) this.startFailures++;
    if (this.pending.size) this.o.log?.(`explain server exited (${JSON.stringify(exit)}) with ${this.pending.size} request(s) unanswered`);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ServerUnavailableError('the explain server exited before answering'));
    }
    this.pending.clear();
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.pending.size || !this.server) return;
    this.idleTimer = setTimeout(() => {
      if (this.pending.size) return;
      this.o.log?.('explain server: idle, stopping it');
      void this.stopServer();
    }, this.o.idleMs ?? 10 * 60_000);
    this.idleTimer.unref?.();
  }

  private async stopServer(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await server.stop();
    await server.exited;
  }

  /** Stops the server (its process tree is killed); later requests are refused. */
  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    await this.stopServer();
  }
}

export interface ExplainServiceOptions {
  /** The persistent server; without one (or while it is unavailable) every request runs the CLI. */
  server?: ExplainServerClient;
  /** Checked before any engine starts (workspace trust). */
  allowed?: () => boolean;
  /** A failure the server reported (the CLI path reports its own through the run manager). */
  onError?: (message: string, silent: boolean) => void;
  log?: (message: string) => void;
}

export class ExplainService {
  private readonly cache = new Map<string, ExplanationPayload>();
  private readonly inflight = new Map<string, Promise<ExplanationPayload>>();

  constructor(
    private readonly run: EngineRunner,
    private readonly tempDir: string = path.join(os.tmpdir(), 'reclf-explain'),
    private readonly maxEntries = 32,
    private readonly options: ExplainServiceOptions = {},
  ) {}

  /** The cached payload for this request, if its files have not changed since. */
  peek(r: ExplainRequest): ExplanationPayload | undefined {
    return this.cache.get(explainCacheKey(r));
  }

  explain(r: ExplainRequest, opts: { silent?: boolean } = {}): Promise<ExplanationPayload> {
    const key = explainCacheKey(r);
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key); // LRU: re-insert as newest
      this.cache.set(key, hit);
      return Promise.resolve(hit);
    }
    let p = this.inflight.get(key);
    if (!p) {
      p = this.compute(r, opts.silent ?? false).then((payload) => {
        this.cache.set(key, payload);
        while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
        return payload;
      }).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  clear(): void {
    this.cache.clear();
  }

  /** Stops the explain server (the cache goes with the extension). */
  async dispose(): Promise<void> {
    await this.options.server?.dispose();
  }

  private async compute(r: ExplainRequest, silent: boolean): Promise<ExplanationPayload> {
    if (this.options.allowed && !this.options.allowed()) throw new Error('explanations are disabled in a restricted workspace');
    const server = this.options.server;
    if (server?.available) {
      const body: ExplainBody = {
        image: r.image,
        ...('file' in r.report ? { report: r.report.file } : { reportText: r.report.text }),
        ...(r.model.kind === 'onnx' ? { model: r.model.path } : { run: r.model.path }),
      };
      let answer: ServeResponse | undefined;
      try {
        answer = await server.request(body);
      } catch (e) {
        if (!(e instanceof ServerUnavailableError)) throw e;
        this.options.log?.(`explain server: ${e.message}; using reclf explain instead`);
      }
      if (answer) {
        if (!answer.ok) {
          const message = `Explain ${path.basename(r.image)} failed: ${answer.error}`;
          this.options.onError?.(message, silent);
          throw new Error(message);
        }
        if (!answer.payload) throw new Error('the explain server answered without a payload');
        return checkedPayload(answer.payload, 'reclf serve');
      }
    }
    let reportFile: string;
    if ('file' in r.report) {
      reportFile = r.report.file;
    } else {
      fs.mkdirSync(this.tempDir, { recursive: true });
      const safe = r.report.id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
      reportFile = path.join(this.tempDir, `${safe}-${createHash('sha1').update(r.report.text).digest('hex').slice(0, 12)}.txt`);
      fs.writeFileSync(reportFile, r.report.text);
    }
    const modelArgs = r.model.kind === 'onnx' ? ['--model', r.model.path] : ['--run', r.model.path];
    const lines = await this.run(['explain', ...modelArgs, '--image', r.image, '--report', reportFile, '--payload'],
      { title: `Explain ${path.basename(r.image)}`, silent });
    const payload = parseExplainOutput(lines);
    if ('text' in r.report) payload.reportPath = undefined;
    return payload;
  }
}
