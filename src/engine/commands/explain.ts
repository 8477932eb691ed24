// `reclf explain`: one image + report through an ONNX model (or a run, exported on first use):
// per-word attention over image regions, SRM relations, IRM importance and match scores.
import fs from 'node:fs';
import path from 'node:path';
import { bool, num, str, UsageError, type ParsedFlags } from '../args';
import type { Command } from '../command';
import { DataError } from '../../core/errors';
import { explain, loadExplainModel } from '../../core/explain/explain';
import { DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MAX_REPORT_BYTES, regularInputFile } from '../../core/data/input-guard';
import { decodeReportText } from '../../core/data/report-text';
import { exportRun } from '../../core/export/export-run';
import { initBackend } from '../../core/runtime/backend';
import { distributionNote, encodeExplanation, plainExplanation, validateExplanation, type ExplainModelInfo, type ExplanationPayload } from '../../protocol/explain';

/** The run's model.onnx, exported (from the best checkpoint) when missing or older than it. */
export async function modelForRun(run: string, log: (m: string) => void): Promise<string> {
  const file = path.join(run, 'model.onnx');
  const ckptDir = path.join(run, 'checkpoints');
  const newest = fs.existsSync(ckptDir)
    ? Math.max(0, ...fs.readdirSync(ckptDir).map((f) => fs.statSync(path.join(ckptDir, f)).mtimeMs))
    : 0;
  if (!fs.existsSync(file) || fs.statSync(file).mtimeMs < newest) {
    await initBackend('cpu');
    const r = await exportRun(run, file, 'best');
    log(`exported ${path.basename(r.checkpoint)} to ${file}`);
  }
  return file;
}

function formatText(p: ExplanationPayload): string {
  const m = p.grid[0] * p.grid[1];
  const note = distributionNote(p.distribution);
  const lines = [...(note ? [`note: ${note}`] : []), `${p.model.name} (${p.model.method}): global ${p.scores.global.toFixed(4)}, local ${p.scores.local.toFixed(4)}`,
    'word            importance  match   peak region (row,col)  top related word'];
  p.words.forEach((w, i) => {
    let best = 0;
    for (let j = 1; j < m; j++) if (p.attention[i * m + j] > p.attention[i * m + best]) best = j;
    let rel = -1;
    for (let k = 0; k < p.words.length; k++) if (k !== i && (rel < 0 || p.relation[i * p.words.length + k] > p.relation[i * p.words.length + rel])) rel = k;
    const row = Math.floor(best / p.grid[1]);
    const col = best % p.grid[1];
    lines.push(`${w.text.padEnd(16)}${p.importance[i].toFixed(3).padStart(10)}  ${p.wordScore[i].toFixed(3).padStart(6)}   ` +
      `${`(${row},${col}) ${(100 * p.attention[i * m + best]).toFixed(0)}%`.padEnd(22)} ${rel >= 0 ? p.words[rel].text : '-'}`);
  });
  return lines.join('\n');
}

export const BUNDLED_MODEL = 'models/reclf-default.onnx';

/** The model shipped with the package (found from the engine's own location), if present. */
export function bundledModelFile(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && /"name":\s*"reclf-studio"/.test(fs.readFileSync(pkg, 'utf8'))) {
      const f = path.join(dir, BUNDLED_MODEL);
      return fs.existsSync(f) ? f : undefined;
    }
    dir = path.dirname(dir);
  }
  return undefined;
}

/** The ONNX file and its display info for `--model` / `--run` / neither (the bundled model);
 * undefined when neither is given and this install has no bundled model. One mapping for
 * `explain`, `serve` and `bench explain|embed`, each of which reports the miss in its own terms. */
export async function resolveExplainModel(
  source: { model?: string; run?: string }, log: (m: string) => void,
): Promise<{ file: string; info: Omit<ExplainModelInfo, 'method'> } | undefined> {
  if (source.run !== undefined) {
    const run = path.resolve(source.run);
    const file = await modelForRun(run, log);
    return { file, info: { name: path.basename(run), source: 'run', path: file } };
  }
  if (source.model !== undefined) {
    const file = path.resolve(source.model);
    return { file, info: { name: path.basename(file), source: 'onnx', path: file } };
  }
  const file = bundledModelFile();
  return file ? { file, info: { name: 'bundled', source: 'bundled', path: file } } : undefined;
}

/**
 * `--model` / `--run` / neither (the bundled model) of a command that reads one model: checked
 * before the command's other inputs, resolved (a run exported when needed) by resolveModelFlags.
 */
export function modelFlags(flags: ParsedFlags): { model?: string; run?: string } {
  const model = str(flags, 'model');
  const run = str(flags, 'run');
  if (model && run) throw new UsageError('give at most one of --model and --run');
  if (!model && !run && !bundledModelFile()) {
    throw new UsageError(`no model: give --model or --run (the bundled ${BUNDLED_MODEL} is not in this install; build it with 'npm run build:model')`);
  }
  return { model, run };
}

export async function resolveModelFlags(source: { model?: string; run?: string }, log: (m: string) => void): Promise<{ file: string; info: Omit<ExplainModelInfo, 'method'> }> {
  const resolved = await resolveExplainModel(source, log);
  if (!resolved) throw new UsageError(`no model: give --model or --run (the bundled ${BUNDLED_MODEL} is not in this install)`);
  return resolved;
}

export const explainCommand: Command = {
  spec: {
    name: 'explain',
    summary: 'Explain an image + report: word attention over regions, SRM relations, IRM importance',
    usage: 'reclf explain [--model M.onnx | --run RUN] --image IMG (--report TXT | --report-text STRING) [--json | --payload] [--device auto|cpu|cuda]',
    flags: {
      model: { type: 'string', value: 'FILE', description: 'ONNX model following the contract (default: the bundled models/reclf-default.onnx)' },
      run: { type: 'string', value: 'RUN', description: 'Run folder (its model.onnx, exported from the best checkpoint when missing)' },
      image: { type: 'string', value: 'IMG', required: true, description: 'PNG, JPEG or DICOM image' },
      report: { type: 'string', value: 'TXT', description: 'Report text file' },
      'report-text': { type: 'string', value: 'STRING', description: 'Report text given inline' },
      device: { type: 'string', value: 'NAME', default: 'auto', description: 'ONNX Runtime execution provider: auto (CUDA when present), cpu, cuda' },
      'max-image-pixels': {
        type: 'number', value: 'N', default: DEFAULT_MAX_IMAGE_PIXELS,
        description: 'Refuse an image whose header declares more than N pixels (width x height), before decoding it',
      },
      json: { type: 'boolean', description: 'Print the explanation as JSON on stdout: words, attention [N][M], relation [N][N], importance [N], word scores [N] as plain arrays' },
      payload: { type: 'boolean', description: 'Print the engine-extension payload instead (typed arrays as base64; what the VS Code extension reads)' },
    },
  },
  async run(ctx) {
    const { flags } = ctx.args;
    const source = modelFlags(flags);
    const reportFile = str(flags, 'report');
    const reportText = str(flags, 'reportText');
    if (Boolean(reportFile) === (reportText !== undefined)) throw new UsageError('give exactly one of --report and --report-text');
    const device = str(flags, 'device') ?? 'auto';
    if (device !== 'auto' && device !== 'cpu' && device !== 'cuda') throw new UsageError(`--device must be auto, cpu or cuda, got ${device}`);
    const maxPixels = num(flags, 'maxImagePixels') ?? DEFAULT_MAX_IMAGE_PIXELS;
    if (!Number.isInteger(maxPixels) || maxPixels < 1) throw new UsageError(`--max-image-pixels must be a positive integer, got ${maxPixels}`);
    // Only regular files: /dev/zero, a FIFO or a folder would be read without end, block, or fail late.
    const imagePath = path.resolve(str(flags, 'image') as string);
    const image = regularInputFile(imagePath, DEFAULT_MAX_IMAGE_BYTES);
    if (!image.ok) throw new DataError(`--image: ${image.reason}`, imagePath, 'image');
    let report = reportText ?? '';
    let reportPath: string | undefined;
    if (reportFile) {
      reportPath = path.resolve(reportFile);
      const checked = regularInputFile(reportPath, DEFAULT_MAX_REPORT_BYTES);
      if (!checked.ok) throw new DataError(`--report: ${checked.reason}`, reportPath, 'report');
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(checked.real);
      } catch (e) {
        throw new DataError(`${reportPath}: cannot read the report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, reportPath);
      }
      const decoded = decodeReportText(bytes);
      if (!decoded.ok) throw new DataError(`${reportPath}: the report ${decoded.reason}`, reportPath, 'report');
      report = decoded.text;
    }
    const resolved = await resolveModelFlags(source, (m) => ctx.events.log(m));
    const model = await loadExplainModel(resolved.file, resolved.info, device);
    try {
      const t0 = performance.now();
      const payload = await explain(model, { imagePath, report, reportPath }, { maxPixels, maxBytes: DEFAULT_MAX_IMAGE_BYTES });
      const problems = validateExplanation(payload);
      if (problems.length) throw new Error(`explanation payload is inconsistent: ${problems.join('; ')}`);
      ctx.events.log(`explained ${payload.words.length} words x ${payload.grid.join('x')} regions in ${(performance.now() - t0).toFixed(0)} ms (${model.session.executionProvider})`);
      const out = bool(flags, 'payload') ? JSON.stringify(encodeExplanation(payload))
        : bool(flags, 'json') ? JSON.stringify(plainExplanation(payload)) : formatText(payload);
      process.stdout.write(out + '\n');
      return 0;
    } finally {
      await model.session.close();
    }
  },
};
