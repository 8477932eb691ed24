// Run checkpoints: one safetensors file per saved step holding parameters (param.*), optimizer
// moments (adam_m.*, adam_v.*) and the trainer state as JSON metadata. Each is written to a temp
// file, fsynced, checked against its own header (length = 8 + header + declared data) and only
// then renamed into place; best.safetensors is replaced the same way (the previous best stays
// until the new one is complete). The last K step files are kept.
import fs from 'node:fs';
import path from 'node:path';
import { DataError } from '../errors';
import { writeFileAtomicAsync } from '../fs-atomic';
import { checkLength, checkSafetensorsFd, decodeSafetensors, encodeSafetensors, safetensorsLayout, type NamedTensor } from '../io/safetensors';

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
export const BEST_FILE = 'best.safetensors';
const FORMAT = 'reclf-checkpoint-v1';

export function checkpointDir(runDir: string): string {
  return path.join(runDir, 'checkpoints');
}

/**
 * Writes step-NNNNNNNN.safetensors (and best.safetensors when `isBest`), then prunes old step
 * files. Throws a WriteError (disk full, I/O error) with every existing checkpoint intact.
 */
export async function saveCheckpoint(
  runDir: string,
  data: { state: TrainState; params: Record<string, NamedTensor>; optimizer: Record<string, NamedTensor> },
  opts: { keepLast: number; isBest: boolean },
): Promise<string> {
  const dir = checkpointDir(runDir);
  const tensors: Record<string, NamedTensor> = {};
  for (const [k, v] of Object.entries(data.params)) tensors[`param.${k}`] = v;
  for (const [k, v] of Object.entries(data.optimizer)) tensors[k] = v;
  const buf = encodeSafetensors(tensors, { format: FORMAT, state: JSON.stringify(data.state) });
  const verify = (fd: number): void => { checkSafetensorsFd(fd, 'temp file'); };
  const file = path.join(dir, `step-${String(data.state.step).padStart(8, '0')}.safetensors`);
  await writeFileAtomicAsync(file, buf, { verify });
  // A file of its own (not a link to the step file): damage to one leaves the other readable.
  if (opts.isBest) await writeFileAtomicAsync(path.join(dir, BEST_FILE), buf, { verify });
  pruneCheckpoints(runDir, opts.keepLast);
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

function pruneCheckpoints(runDir: string, keepLast: number): void {
  const all = listStepCheckpoints(runDir);
  for (const c of all.slice(0, Math.max(0, all.length - Math.max(1, keepLast)))) fs.rmSync(c.file, { force: true });
}

/** Reads and checks a checkpoint; a damaged one (truncated, extra bytes, bad header) throws a DataError. */
export function readCheckpoint(file: string): Checkpoint {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, file);
  }
  checkLength(safetensorsLayout(buf, file), buf.length, file);
  const { tensors, metadata } = decodeSafetensors(buf, file);
  if (metadata.format !== FORMAT || typeof metadata.state !== 'string') throw new DataError(`${file} is not a RECLF checkpoint`, file);
  let state: TrainState;
  try {
    state = JSON.parse(metadata.state) as TrainState;
  } catch (e) {
    throw new DataError(`${file}: trainer state is not valid JSON (${(e as Error).message})`, file);
  }
  if (typeof state !== 'object' || state === null || !Number.isInteger(state.step) || state.step < 0) {
    throw new DataError(`${file}: trainer state has no valid step`, file);
  }
  const params: Record<string, NamedTensor> = {};
  const optimizer: Record<string, NamedTensor> = {};
  for (const [k, v] of Object.entries(tensors)) {
    if (k.startsWith('param.')) params[k.slice(6)] = v;
    else optimizer[k] = v;
  }
  return { state, params, optimizer, file };
}

export interface SkippedCheckpoint {
  file: string;
  reason: string;
}

export interface ResumePoint {
  /** The checkpoint to resume from; undefined when none can be read. */
  checkpoint?: Checkpoint;
  /** Newer (or all) checkpoints passed over because they cannot be read. */
  skipped: SkippedCheckpoint[];
  /** Checkpoint files present (step files and best.safetensors). */
  found: number;
}

/**
 * The checkpoint a resume continues from: the newest readable step file, else (every step file
 * damaged) best.safetensors. Every unreadable file passed over is listed with its reason.
 */
export function findResumePoint(runDir: string): ResumePoint {
  const steps = listStepCheckpoints(runDir).reverse();
  const best = path.join(checkpointDir(runDir), BEST_FILE);
  const candidates = [...steps.map((c) => c.file), ...(fs.existsSync(best) ? [best] : [])];
  const skipped: SkippedCheckpoint[] = [];
  for (const file of candidates) {
    try {
      return { checkpoint: readCheckpoint(file), skipped, found: candidates.length };
    } catch (e) {
      skipped.push({ file, reason: (e as Error).message });
    }
  }
  return { skipped, found: candidates.length };
}

/** The newest readable step checkpoint (a damaged newest file falls back to the one before). */
export function latestCheckpoint(runDir: string, onSkip?: (s: SkippedCheckpoint) => void): Checkpoint | undefined {
  for (const c of listStepCheckpoints(runDir).reverse()) {
    try {
      return readCheckpoint(c.file);
    } catch (e) {
      onSkip?.({ file: c.file, reason: (e as Error).message });
    }
  }
  return undefined;
}

export function bestCheckpointFile(runDir: string): string | undefined {
  const f = path.join(checkpointDir(runDir), BEST_FILE);
  return fs.existsSync(f) ? f : listStepCheckpoints(runDir).at(-1)?.file;
}
