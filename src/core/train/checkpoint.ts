// Run checkpoints: one safetensors file per saved step holding parameters (param.*), optimizer
// moments (adam_m.*, adam_v.*) and the trainer state as JSON metadata. Written atomically; the
// last K are kept, plus best.safetensors.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../fs-atomic';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../io/safetensors';

export interface TrainState {
  /** Optimizer steps completed. */
  step: number;
  /** Epoch the next step belongs to (0-based). */
  epoch: number;
  /** Batches of `epoch` already consumed. */
  batchInEpoch: number;
  bestMetric: number | null;
  bestStep: number | null;
  epochsWithoutImprovement: number;
  /** Hash of the config the run was started with; resume refuses a different one. */
  configHash: string;
  /** Free-form per-run info (e.g. metric history) kept across resumes. */
  extra?: Record<string, unknown>;
}

export interface Checkpoint {
  state: TrainState;
  params: Record<string, NamedTensor>;
  optimizer: Record<string, NamedTensor>;
  file: string;
}

const STEP_FILE = /^step-(\d{8})\.safetensors$/;

export function checkpointDir(runDir: string): string {
  return path.join(runDir, 'checkpoints');
}

export function saveCheckpoint(
  runDir: string,
  data: { state: TrainState; params: Record<string, NamedTensor>; optimizer: Record<string, NamedTensor> },
  opts: { keepLast: number; isBest: boolean },
): string {
  const dir = checkpointDir(runDir);
  const tensors: Record<string, NamedTensor> = {};
  for (const [k, v] of Object.entries(data.params)) tensors[`param.${k}`] = v;
  for (const [k, v] of Object.entries(data.optimizer)) tensors[k] = v;
  const buf = encodeSafetensors(tensors, { format: 'reclf-checkpoint-v1', state: JSON.stringify(data.state) });
  const file = path.join(dir, `step-${String(data.state.step).padStart(8, '0')}.safetensors`);
  writeFileAtomic(file, buf);
  if (opts.isBest) writeFileAtomic(path.join(dir, 'best.safetensors'), buf);
  pruneCheckpoints(dir, opts.keepLast);
  return file;
}

export function listStepCheckpoints(runDir: string): { step: number; file: string }[] {
  const dir = checkpointDir(runDir);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .map((f) => ({ m: STEP_FILE.exec(f), f }))
    .filter((x): x is { m: RegExpExecArray; f: string } => x.m !== null)
    .map(({ m, f }) => ({ step: Number(m[1]), file: path.join(dir, f) }))
    .sort((a, b) => a.step - b.step);
}

function pruneCheckpoints(dir: string, keepLast: number): void {
  const all = listStepCheckpoints(path.dirname(dir));
  for (const c of all.slice(0, Math.max(0, all.length - Math.max(1, keepLast)))) fs.rmSync(c.file, { force: true });
}

export function readCheckpoint(file: string): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(fs.readFileSync(file), file);
  if (metadata.format !== 'reclf-checkpoint-v1' || !metadata.state) throw new Error(`${file} is not a RECLF checkpoint`);
  const params: Record<string, NamedTensor> = {};
  const optimizer: Record<string, NamedTensor> = {};
  for (const [k, v] of Object.entries(tensors)) {
    if (k.startsWith('param.')) params[k.slice(6)] = v;
    else optimizer[k] = v;
  }
  return { state: JSON.parse(metadata.state) as TrainState, params, optimizer, file };
}

/** The newest readable step checkpoint (a damaged newest file falls back to the one before). */
export function latestCheckpoint(runDir: string): Checkpoint | undefined {
  const all = listStepCheckpoints(runDir).reverse();
  for (const c of all) {
    try {
      return readCheckpoint(c.file);
    } catch {
      continue;
    }
  }
  return undefined;
}

export function bestCheckpointFile(runDir: string): string | undefined {
  const f = path.join(checkpointDir(runDir), 'best.safetensors');
  return fs.existsSync(f) ? f : listStepCheckpoints(runDir).at(-1)?.file;
}
