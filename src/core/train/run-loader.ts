// Opens a finished (or running) run folder for evaluation, export and explanation: its
// config.json, tokenizer and a checkpoint (best by default) restored into a fresh model.
import fs from 'node:fs';
import path from 'node:path';
import { DataError } from '../errors';
import { resolveInside } from '../fs-atomic';
import { WordPieceTokenizer } from '../text';
import { bestCheckpointFile, readCheckpoint } from './checkpoint';
import { buildModel, CONFIG_FILE, VOCAB_FILE, splitProvenance, type BuiltModel } from './trainer';
import { resolveRunConfig, type RunConfig } from './run-config';

export interface LoadedRun extends BuiltModel {
  runDir: string;
  config: RunConfig;
  checkpointFile: string;
  step: number;
}

export function loadRunConfig(runDir: string): RunConfig {
  const file = path.join(runDir, CONFIG_FILE);
  if (!fs.existsSync(file)) throw new DataError(`${runDir}: not a run folder (no ${CONFIG_FILE})`, file);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError(`${file}: not valid JSON (${(e as Error).message})`, file);
  }
  // config.json also records where the run's data came from (not part of the config schema).
  return resolveRunConfig(splitProvenance(raw).config);
}

export function loadRunTokenizer(runDir: string, config: RunConfig): WordPieceTokenizer {
  const json = path.join(runDir, 'tokenizer.json');
  if (fs.existsSync(json)) return WordPieceTokenizer.fromTokenizerJson(json);
  const vocab = path.join(runDir, VOCAB_FILE);
  if (!fs.existsSync(vocab)) throw new DataError(`${runDir}: run has no ${VOCAB_FILE}`, vocab);
  return WordPieceTokenizer.fromVocabFile(vocab, { lowerCase: config.text.lowerCase });
}

/**
 * Restores a run. `checkpoint` is 'best' (default), 'last', or a file name inside the run's
 * checkpoints folder. The TF.js backend must already be initialised.
 */
export function loadRun(runDir: string, checkpoint: string = 'best'): LoadedRun {
  const config = loadRunConfig(runDir);
  const tokenizer = loadRunTokenizer(runDir, config);
  let file: string | undefined;
  if (checkpoint === 'best') file = bestCheckpointFile(runDir);
  else if (checkpoint === 'last') file = bestCheckpointFile(runDir) && lastCheckpointFile(runDir);
  else file = resolveInside(path.join(runDir, 'checkpoints'), checkpoint);
  if (!file || !fs.existsSync(file)) throw new DataError(`${runDir}: no checkpoint '${checkpoint}' found`, runDir);
  const ckpt = readCheckpoint(file);
  const built = buildModel(config, tokenizer);
  built.params.load(ckpt.params);
  return { ...built, runDir, config, checkpointFile: file, step: ckpt.state.step };
}

function lastCheckpointFile(runDir: string): string | undefined {
  const dir = path.join(runDir, 'checkpoints');
  const steps = fs.readdirSync(dir).filter((f) => /^step-\d{8}\.safetensors$/.test(f)).sort();
  return steps.length ? path.join(dir, steps[steps.length - 1]) : undefined;
}
