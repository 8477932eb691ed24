// `reclf bench explain`: wall time of one explanation as `reclf explain` computes it (image decode,
// resize and normalisation, tokenisation, the ONNX Runtime run, cropping, the PNG preview, payload
// validation and its JSON encoding), without process start-up. Cold = opening the model (session
// creation, contract check, tokenizer) plus the first explanation; warm = median/p90 of repeats
// after warm-up calls on the open model, as the extension's kept-warm engine sees it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataError } from '../core/errors';
import { readCsvTable, requireColumns } from '../core/data/csv';
import { decodeImageFile } from '../core/data/image-io';
import { generateStudy } from '../core/data/synth/generate';
import { encodeGreyPng } from '../core/io/png';
import { explain, loadExplainModel, type ExplainModel } from '../core/explain/explain';
import type { ContractFeeds, ContractOutputs, ContractSession } from '../core/runtime/onnx-session';
import { encodeExplanation, validateExplanation, type ExplainModelInfo } from '../protocol/explain';

export const EXPLAIN_TARGET_MS = 100;

export interface ExplainBenchOptions {
  repeats: number;
  warmup: number;
  device: 'auto' | 'cpu' | 'cuda';
}

export const DEFAULT_EXPLAIN_BENCH: ExplainBenchOptions = { repeats: 20, warmup: 3, device: 'cpu' };

export interface ExplainBenchInput {
  /** 'synthetic', 'iu-xray' or 'given'. */
  name: string;
  imagePath: string;
  report: string;
}

export interface LatencyStats {
  median: number;
  p90: number;
  min: number;
  max: number;
}

export interface ExplainBenchCase {
  name: string;
  image: string;
  reportChars: number;
  words: number;
  grid: [number, number];
  /** Opening the model (read, ORT session, contract check, tokenizer) then the first explanation. */
  cold: { openMs: number; firstMs: number; totalMs: number };
  /** One full explanation on the open model, ms. */
  warm: LatencyStats;
  /** Median ms per stage of the warm calls (rest = tokenise, resize, normalise, crop, PNG). */
  stages: { decode: number; ort: number; rest: number; serialise: number };
  meetsTarget: boolean;
}

export interface ExplainBenchReport {
  model: string;
  executionProvider: string;
  repeats: number;
  warmup: number;
  targetMs: number;
  cases: ExplainBenchCase[];
}

export function latencyStats(ms: number[]): LatencyStats {
  if (ms.length === 0) throw new Error('latencyStats: no samples');
  const s = [...ms].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median, p90: s[Math.min(s.length - 1, Math.ceil(0.9 * s.length) - 1)], min: s[0], max: s[s.length - 1] };
}

const median = (xs: number[]): number => latencyStats(xs).median;

/** The model with its session's run timed into `sink` (same session object, same work). */
function withTimedRun(model: ExplainModel, sink: number[]): ExplainModel {
  const inner = model.session;
  const timed = Object.create(inner) as ContractSession;
  timed.run = async (f: ContractFeeds): Promise<ContractOutputs> => {
    const t0 = performance.now();
    const out = await inner.run(f);
    sink.push(performance.now() - t0);
    return out;
  };
  return { ...model, session: timed };
}

interface OneCall {
  totalMs: number;
  serialiseMs: number;
  words: number;
  grid: [number, number];
}

/** Exactly what `reclf explain --json` does once the model is open. */
async function explainOnce(model: ExplainModel, input: ExplainBenchInput): Promise<OneCall> {
  const t0 = performance.now();
  const payload = await explain(model, { imagePath: input.imagePath, report: input.report });
  const t1 = performance.now();
  const problems = validateExplanation(payload);
  if (problems.length) throw new Error(`explanation payload is inconsistent: ${problems.join('; ')}`);
  const json = JSON.stringify(encodeExplanation(payload));
  const t2 = performance.now();
  if (json.length === 0) throw new Error('empty payload');
  return { totalMs: t2 - t0, serialiseMs: t2 - t1, words: payload.words.length, grid: payload.grid };
}

async function timeDecode(imagePath: string): Promise<number> {
  const t0 = performance.now();
  await decodeImageFile(imagePath);
  return performance.now() - t0;
}

export async function benchExplainCase(
  file: string, info: Partial<ExplainModelInfo>, input: ExplainBenchInput, opts: ExplainBenchOptions,
): Promise<{ row: ExplainBenchCase; executionProvider: string }> {
  const t0 = performance.now();
  const model = await loadExplainModel(file, info, opts.device);
  const openMs = performance.now() - t0;
  try {
    const first = await explainOnce(model, input);
    const ortMs: number[] = [];
    const timed = withTimedRun(model, ortMs);
    for (let i = 0; i < opts.warmup; i++) await explainOnce(timed, input);
    ortMs.length = 0;
    const total: number[] = [];
    const serialise: number[] = [];
    const decode: number[] = [];
    let last = first;
    for (let i = 0; i < opts.repeats; i++) {
      last = await explainOnce(timed, input);
      total.push(last.totalMs);
      serialise.push(last.serialiseMs);
      // Decode is timed on its own call (same file, same decoder) so the explanation stays untouched.
      decode.push(await timeDecode(input.imagePath));
    }
    const warm = latencyStats(total);
    const stages = { decode: median(decode), ort: median(ortMs), rest: 0, serialise: median(serialise) };
    stages.rest = Math.max(0, warm.median - stages.decode - stages.ort - stages.serialise);
    return {
      executionProvider: model.session.executionProvider,
      row: {
        name: input.name, image: input.imagePath, reportChars: input.report.length, words: last.words, grid: last.grid,
        cold: { openMs, firstMs: first.totalMs, totalMs: openMs + first.totalMs },
        warm, stages, meetsTarget: warm.median <= EXPLAIN_TARGET_MS,
      },
    };
  } finally {
    await model.session.close();
  }
}

export async function benchExplain(
  file: string, inputs: ExplainBenchInput[], opts: ExplainBenchOptions = DEFAULT_EXPLAIN_BENCH,
  info: Partial<ExplainModelInfo> = {}, log: (m: string) => void = () => {},
): Promise<ExplainBenchReport> {
  const cases: ExplainBenchCase[] = [];
  let ep = 'cpu';
  for (const input of inputs) {
    log(`${input.name}: cold explanation, then ${opts.warmup} warm-up + ${opts.repeats} timed (${path.basename(input.imagePath)}) ...`);
    const r = await benchExplainCase(file, info, input, opts);
    cases.push(r.row);
    ep = r.executionProvider;
  }
  return { model: file, executionProvider: ep, repeats: opts.repeats, warmup: opts.warmup, targetMs: EXPLAIN_TARGET_MS, cases };
}

/** A synthetic study rendered at `size` px into `dir` (PNG) with its report. */
export function syntheticExplainInput(dir: string, size = 512, seed = 0): ExplainBenchInput {
  const s = generateStudy(seed, 0, { size });
  const imagePath = path.join(dir, 'synthetic.png');
  fs.writeFileSync(imagePath, encodeGreyPng(s.image, size, size));
  return { name: 'synthetic', imagePath, report: s.record.report ?? '' };
}

/** ../shared/data/real-cxr next to the package root that holds this engine, if present. */
export function defaultRealCxrDir(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && /"name":\s*"reclf-studio"/.test(fs.readFileSync(pkg, 'utf8'))) {
      const d = path.resolve(dir, '..', 'shared', 'data', 'real-cxr');
      return fs.existsSync(d) ? d : undefined;
    }
    dir = path.dirname(dir);
  }
  return undefined;
}

/** The first frontal IU X-ray study (image + report) of real-cxr/iu-xray/pairs.csv. */
export function iuXrayInput(realCxrDir: string): ExplainBenchInput | undefined {
  const csv = path.join(realCxrDir, 'iu-xray', 'pairs.csv');
  if (!fs.existsSync(csv)) return undefined;
  const table = readCsvTable(csv);
  requireColumns(table, ['image', 'view', 'report']);
  const rec = table.records.find((r) => r.values.view === 'frontal' && r.values.report) ?? table.records[0];
  if (!rec) throw new DataError(`${csv}: no studies`, csv);
  const row = rec.values;
  const imagePath = path.join(realCxrDir, 'iu-xray', row.image);
  if (!fs.existsSync(imagePath)) throw new DataError(`${csv}: image ${row.image} does not exist`, csv, 'image');
  return { name: 'iu-xray', imagePath, report: row.report };
}

/** Temp folder for the synthetic image; the caller removes it. */
export function benchTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-bench-explain-'));
}

export function formatExplainReport(r: ExplainBenchReport): string {
  const lines = [
    `${path.basename(r.model)} on ${r.executionProvider}: one explanation (decode + tokenise + ORT + payload), median of ${r.repeats} after ${r.warmup} warm-up; target <= ${r.targetMs} ms`,
    'input        words  grid   cold (open + first)     warm median   p90     decode  ort     rest    json',
  ];
  for (const c of r.cases) {
    const f = (x: number): string => x.toFixed(1).padStart(6);
    lines.push(`${c.name.padEnd(12)} ${String(c.words).padStart(5)}  ${c.grid.join('x').padEnd(5)} ` +
      `${`${c.cold.totalMs.toFixed(0)} ms (${c.cold.openMs.toFixed(0)} + ${c.cold.firstMs.toFixed(0)})`.padEnd(22)} ` +
      `${f(c.warm.median)} ms   ${f(c.warm.p90)}  ${f(c.stages.decode)}  ${f(c.stages.ort)}  ${f(c.stages.rest)}  ${f(c.stages.serialise)}` +
      `  ${c.meetsTarget ? 'ok' : 'ABOVE TARGET'}`);
  }
  return lines.join('\n');
}
