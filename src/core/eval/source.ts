// What the evaluation tasks evaluate: a TF.js run (every task, any score) or an ONNX model that
// follows the contract (only what its outputs allow: global scores and matched-pair
// explanations; no encoder feature maps for segmentation and detection heads).
import path from 'node:path';
import { ConfigError } from '../errors';
import type { LoadedStudy, Split } from '../data/manifest-types';
import { loadRunConfig, loadRunTokenizer, type LoadedRun } from '../train/run-loader';
import { buildModel } from '../train/trainer';
import { configHash } from '../train/run-config';
import { loadExplainModel, type ExplainModel } from '../explain/explain';
import {
  encodeSplit, encodeTexts, explainPairs, similarityMatrix, type EncodedSplit, type PairExplanation, type ScoreKind, type TextFeatures,
} from './features';
import { encodeSplitOnnx, encodeTextsOnnx, globalCosineMatrix, isOnnxEncodedSplit, matchedPairs, modelFileHash } from './onnx-features';

/** What every result file records about the evaluated model. */
export interface SourceIdentity {
  config_hash?: string;
  run?: string;
  checkpoint?: string;
  model?: string;
  model_hash?: string;
}

export interface EvalSource {
  identity: SourceIdentity;
  /** Folder whose eval/ receives results, feature caches and fraction files. */
  outDir: string;
  /** The TF.js run, for tasks that train heads on the encoder (segmentation, detection). */
  run?: LoadedRun;
  /** Which features the linear probe reads (recorded in its details). */
  linearFeatures: string;
  /** Why this source cannot run a task (undefined: it can). */
  unsupported(task: string): string | undefined;
  encodeSplit(studies: readonly LoadedStudy[], o: { dataDir: string; split: Split; workers?: number }): Promise<EncodedSplit>;
  encodeTexts(texts: readonly string[]): Promise<TextFeatures>;
  similarity(images: EncodedSplit, imageRows: readonly number[], texts: TextFeatures, textRows: readonly number[], score: ScoreKind): Promise<Float32Array[]>;
  /** Explanations of matched pairs (image i with its own report). */
  explainPairs(f: EncodedSplit, rows: readonly number[]): Promise<PairExplanation[]>;
  dispose(): Promise<void>;
}

export function runSource(run: LoadedRun): EvalSource {
  return {
    identity: { config_hash: configHash({ ...run.config, backend: undefined }), run: path.resolve(run.runDir), checkpoint: path.basename(run.checkpointFile) },
    outDir: run.runDir,
    run,
    linearFeatures: 'backbone global (frozen)',
    unsupported: () => undefined,
    encodeSplit: (studies, o) => encodeSplit(run, studies, o),
    encodeTexts: (texts) => encodeTexts(run, texts),
    similarity: (images, ir, texts, tr, score) => similarityMatrix(run, images, ir, texts, tr, score),
    explainPairs: (f, rows) => explainPairs(run, f, rows),
    dispose: async () => run.params.dispose(),
  };
}

/**
 * The run's model as it was before training: its config and vocabulary, parameters freshly
 * initialised from the run's seed. Its features are cached apart (RUN/eval/random-init/), so
 * the word-level metrics of the trained model can be read against this floor.
 */
export function randomInitRun(runDir: string): LoadedRun {
  const config = loadRunConfig(runDir);
  const tokenizer = loadRunTokenizer(runDir, config);
  const built = buildModel(config, tokenizer, { namespace: 'random-init/' });
  return { ...built, runDir: path.join(runDir, 'eval', 'random-init'), config, checkpointFile: 'random-init', step: 0 };
}

/** Tasks whose heads train on encoder feature maps, which the ONNX contract does not expose. */
const NEEDS_ENCODER = new Set(['segmentation', 'detection']);

/** `<dir>/<name>.onnx` -> `<dir>/<name>.eval` (where a model's results go by default). */
export function defaultModelOutDir(modelFile: string): string {
  return path.resolve(modelFile).replace(/\.onnx$/i, '') + '.eval';
}

export async function modelSource(modelFile: string, o: { outDir?: string; device?: 'auto' | 'cpu' | 'cuda' } = {}): Promise<EvalSource & { model: ExplainModel }> {
  const file = path.resolve(modelFile);
  const model = await loadExplainModel(file, {}, o.device ?? 'auto');
  const hash = modelFileHash(file);
  const outDir = path.resolve(o.outDir ?? defaultModelOutDir(file));
  return {
    model,
    identity: { model: file, model_hash: hash },
    outDir,
    linearFeatures: 'image_embedding (contract output, frozen)',
    unsupported: (task) => (NEEDS_ENCODER.has(task)
      ? 'needs the image encoder\'s feature maps, which the ONNX model contract does not expose (evaluate the TF.js run with --run)'
      : undefined),
    encodeSplit: (studies, e) => encodeSplitOnnx(model, studies, { ...e, outDir, modelHash: hash }),
    encodeTexts: (texts) => encodeTextsOnnx(model, texts),
    similarity: async (images, ir, texts, tr, score) => {
      // Local scores of non-matched pairs would need one full graph run per (image, text) pair.
      if (score !== 'global') throw new ConfigError(`score '${score}' needs the method's head on every image-text pair; an ONNX model is scored with 'global' only`, 'score');
      return globalCosineMatrix(images, ir, texts, tr);
    },
    explainPairs: async (f, rows) => {
      if (!isOnnxEncodedSplit(f)) throw new Error('explainPairs of an ONNX model needs a split encoded by that model');
      return matchedPairs(f, rows);
    },
    dispose: () => model.session.close(),
  };
}
