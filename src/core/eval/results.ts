// Evaluation results as published files: one RUN/eval/<task>.json per task, recording everything
// needed to reproduce the numbers (config and data hashes, seeds, backend, checkpoint, command),
// validated against schemas/eval-result.schema.json before it is written.
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import schema from '../../../schemas/eval-result.schema.json';
import { DataError } from '../errors';
import { writeJsonAtomic } from '../fs-atomic';
import type { Split } from '../data/manifest-types';
import type { DetectionPreview } from './detection';

export interface EvalResult {
  task: string;
  /** null stands for an undefined metric (NaN cannot be written as JSON). */
  metrics: Record<string, number | null>;
  /** A run's config hash, run folder and checkpoint; a model's file and hash instead. */
  config_hash?: string;
  model?: string;
  model_hash?: string;
  data_hash: string;
  seeds: number[];
  backend: string;
  run?: string;
  checkpoint?: string;
  created_by: string;
  split?: Split;
  seconds?: number;
  details?: Record<string, unknown>;
  /** A few eval images with true and predicted boxes (detection), for the run view. */
  preview?: DetectionPreview;
  created_at?: string;
}

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile<EvalResult>(schema);

export function validateEvalResult(obj: unknown): { ok: true } | { ok: false; errors: string[] } {
  if (validate(obj)) return { ok: true };
  return { ok: false, errors: (validate.errors ?? []).map((e) => `${e.instancePath || '(result)'} ${e.message ?? 'is invalid'}`) };
}

/** NaN and infinities become null so the file is valid JSON and says "undefined" explicitly. */
export function finiteMetrics(m: Record<string, number>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number.isFinite(v) ? v : null]));
}

export function resultFile(runDir: string, task: string): string {
  return path.join(runDir, 'eval', `${task}.json`);
}

export function writeEvalResult(runDir: string, result: EvalResult): string {
  const v = validateEvalResult(result);
  if (!v.ok) throw new Error(`eval result for ${result.task} does not match schemas/eval-result.schema.json: ${v.errors.join('; ')}`);
  const file = resultFile(runDir, result.task);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeJsonAtomic(file, result);
  return file;
}

export function readEvalResult(file: string): EvalResult {
  let obj: unknown;
  try {
    obj = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError(`${file}: cannot read eval result (${(e as Error).message})`, file);
  }
  const v = validateEvalResult(obj);
  if (!v.ok) throw new DataError(`${file}: not a valid eval result: ${v.errors.join('; ')}`, file);
  return obj as EvalResult;
}
