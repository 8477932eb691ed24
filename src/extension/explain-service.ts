// Explanations come from `reclf explain ... --json` in a child process (ONNX Runtime and sharp
// stay out of the extension host). Results are cached by (image, report, model) file stamps, and
// concurrent requests for the same key share one engine run.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeExplanation, validateExplanation, type ExplanationPayload, type ExplanationPayloadJson } from '../protocol/explain';

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
    const payload = decodeExplanation(json);
    const errors = validateExplanation(payload);
    if (errors.length) throw new Error(`reclf explain returned an inconsistent payload: ${errors.join('; ')}`);
    return payload;
  }
  throw new Error('reclf explain printed no explanation payload');
}

export class ExplainService {
  private readonly cache = new Map<string, ExplanationPayload>();
  private readonly inflight = new Map<string, Promise<ExplanationPayload>>();

  constructor(
    private readonly run: EngineRunner,
    private readonly tempDir: string = path.join(os.tmpdir(), 'reclf-explain'),
    private readonly maxEntries = 32,
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

  private async compute(r: ExplainRequest, silent: boolean): Promise<ExplanationPayload> {
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
    const lines = await this.run(['explain', ...modelArgs, '--image', r.image, '--report', reportFile, '--json'],
      { title: `Explain ${path.basename(r.image)}`, silent });
    const payload = parseExplainOutput(lines);
    if ('text' in r.report) payload.reportPath = undefined;
    return payload;
  }
}
