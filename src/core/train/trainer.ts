// The training loop: seeded data order, AdamW + warmup/cosine, gradient clipping, validation
// each epoch (loss + in-batch retrieval), early stopping, atomic checkpoints every N steps,
// exact resume, and cancellation that checkpoints before returning.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { EngineEvent, RunStatus } from '../../protocol/events';
import { Rng } from '../rng';
import { ConfigError, DataError } from '../errors';
import { removeStaleTempFiles, sha256File, writeFileAtomic, writeJsonAtomic } from '../fs-atomic';
import { readDataset } from '../data/manifest';
import { ImageLoader, prefetch } from '../data/image-loader';
import type { LoadedStudy } from '../data/manifest-types';
import { WordPieceTokenizer, buildVocab } from '../text';
import { ParamStore } from '../models/params';
import { DualEncoder } from '../models/dual-encoder';
import { wordSlotMask } from '../models/word-pooling';
import { createMethod } from '../align/registry';
import { defaultKnowledgeBase } from '../knowledge/kb';
import type { AlignMethod } from '../align/types';
import { AdamW, clipByGlobalNorm } from './adamw';
import { describePretrained, loadPretrainedImage, loadPretrainedText } from '../io/pretrained';
import { learningRate } from './schedule';
import { checkpointDir, findResumePoint, saveCheckpoint, type Checkpoint, type TrainState } from './checkpoint';
import { configHash, dataLimits, type RunConfig } from './run-config';
import { Throughput, progressLine } from './progress';
import { readAllAndDispose } from '../runtime/host-read';
import { probeStudies, probeWordLevel } from './word-level-probe';
import { RunAhead } from '../runtime/run-ahead';
import type { GpuAdapterReport } from '../runtime/backend';
import { inBatchTopK, inBatchTopKColumns } from './retrieval';
import {
  disposeModelBatch, epochOrder, linkStudyWords, loadHostBatch, prepareStudies, stepsPerEpoch, textVariantPieces, toModelBatch,
  type HostBatch, type HostTextVariants, type PreparedStudy,
} from './batches';

export interface TrainListener {
  emit(event: EngineEvent): void;
  log(message: string): void;
  /** Redraws a single status line on a terminal (no-op when not a TTY). */
  status?(line: string): void;
}

export interface TrainRunOptions {
  runDir: string;
  dataDir: string;
  config: RunConfig;
  resume: boolean;
  listener: TrainListener;
  /** Set `requested` to true (e.g. on SIGINT) to checkpoint and stop after the current step. */
  cancel: { requested: boolean };
  /** Name of the backend actually in use (for the run header and results). */
  backend: string;
  device: string;
  /** The GPU adapter (webgpu), recorded in run_started so the editor can label software adapters. */
  adapter?: GpuAdapterReport;
  /**
   * Pretrained weights (safetensors) loaded after the model is built and before warm-up, on a
   * fresh run only (a resume restores its checkpoint): `image` = torchvision ResNet names,
   * `text` = Hugging Face BERT names. See src/core/io/pretrained.ts.
   */
  init?: { image?: string; text?: string };
  /** Who started the run (engine version, command line), recorded with the dataset in config.json and train-summary.json. */
  provenance?: { engineVersion?: string; commandLine?: string; cwd?: string };
}

/** Where a run's data came from and what ran it: config.json's `provenance` and train-summary.json's. */
export interface RunProvenance {
  dataset: {
    /** Absolute dataset folder. */
    path: string;
    manifest: string;
    /** SHA-256 (hex) of manifest.jsonl's bytes. */
    manifestSha256: string;
    /** Studies used per split (valid may be held out of train), test studies present, manifest records skipped. */
    records: { train: number; valid: number; validFrom: 'valid' | 'train'; test: number; skipped: number; total: number };
  };
  engine: { name: 'reclf'; version: string };
  commandLine?: string;
  cwd?: string;
  startedAt: string;
  /** On a resume: the checkpoint it continued from. */
  resumedFrom?: { checkpoint: string; step: number };
  /** The provenance recorded by earlier invocations of the same run (before resumes), oldest first. */
  earlier?: Omit<RunProvenance, 'earlier'>[];
}

/** The key config.json keeps provenance under; not part of the config schema, removed before validation. */
export const PROVENANCE_KEY = 'provenance';

/** Splits a parsed config.json into the config proper and its recorded provenance. */
export function splitProvenance(raw: unknown): { config: unknown; provenance?: RunProvenance } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !(PROVENANCE_KEY in raw)) return { config: raw };
  const { [PROVENANCE_KEY]: provenance, ...config } = raw as Record<string, unknown>;
  const ok = typeof provenance === 'object' && provenance !== null && !Array.isArray(provenance);
  return { config, provenance: ok ? provenance as RunProvenance : undefined };
}

function withoutEarlier(p: RunProvenance): Omit<RunProvenance, 'earlier'> {
  const { earlier: _earlier, ...rest } = p;
  return rest;
}

/** The provenance a run folder records (config.json, else train-summary.json), if any. */
export function readRunProvenance(runDir: string): RunProvenance | undefined {
  for (const name of [CONFIG_FILE, SUMMARY_FILE]) {
    try {
      const raw = JSON.parse(fs.readFileSync(path.join(runDir, name), 'utf8')) as Record<string, unknown>;
      const p = splitProvenance(raw).provenance;
      if (p?.dataset && typeof p.dataset.path === 'string') return p;
    } catch {
      /* absent or unreadable: try the next */
    }
  }
  return undefined;
}

export interface ValidationMetrics {
  loss: number;
  i2t_acc1: number;
  i2t_acc5: number;
  t2i_acc1: number;
  t2i_acc5: number;
  /** Mean in-batch size used (chance acc@1 = 1 / batch). */
  batch: number;
  pairs: number;
}

export interface TrainResult {
  status: RunStatus;
  step: number;
  totalSteps: number;
  validation?: ValidationMetrics;
  bestStep: number | null;
  runDir: string;
  skippedRecords: number;
}

/** The trained pieces a caller (eval, export) needs. */
export interface BuiltModel {
  params: ParamStore;
  model: DualEncoder;
  method: AlignMethod;
  tokenizer: WordPieceTokenizer;
}

export const VOCAB_FILE = 'vocab.txt';
export const CONFIG_FILE = 'config.json';
export const SUMMARY_FILE = 'train-summary.json';

export function buildModel(config: RunConfig, tokenizer: WordPieceTokenizer, o: { namespace?: string } = {}): BuiltModel {
  if (config.model.text.vocabSize !== tokenizer.vocabSize) {
    throw new ConfigError(`model.text.vocabSize ${config.model.text.vocabSize} does not match the tokenizer's ${tokenizer.vocabSize} tokens`, 'model.text.vocabSize');
  }
  const params = new ParamStore(new Rng(config.train.seed), o.namespace);
  const model = new DualEncoder(config.model, params);
  const { name, ...methodCfg } = config.method;
  const method = createMethod(name, { params, dim: config.model.projDim, config: methodCfg });
  return { params, model, method, tokenizer };
}

function loadOrBuildVocab(runDir: string, config: RunConfig, train: LoadedStudy[], resume: boolean, listener: TrainListener): WordPieceTokenizer {
  const runVocab = path.join(runDir, VOCAB_FILE);
  if (resume && fs.existsSync(runVocab)) return WordPieceTokenizer.fromVocabFile(runVocab, { lowerCase: config.text.lowerCase });
  if (config.text.vocab) {
    const src = config.text.vocab;
    if (!fs.existsSync(src)) throw new ConfigError(`text.vocab: file not found: ${src}`, 'text.vocab');
    const tok = src.endsWith('.json') ? WordPieceTokenizer.fromTokenizerJson(src) : WordPieceTokenizer.fromVocabFile(src, { lowerCase: config.text.lowerCase });
    fs.copyFileSync(src, path.join(runDir, src.endsWith('.json') ? 'tokenizer.json' : VOCAB_FILE));
    return tok;
  }
  const tokens = buildVocab(train.map((s) => s.report), {
    size: config.text.vocabSize, minFrequency: config.text.minFrequency, lowerCase: config.text.lowerCase,
  });
  writeFileAtomic(runVocab, tokens.join('\n') + '\n');
  listener.log(`built a ${tokens.length}-token WordPiece vocabulary from ${train.length} training reports`);
  return WordPieceTokenizer.fromTokens(tokens, { lowerCase: config.text.lowerCase });
}

/** Splits used for training and validation; a dataset without a valid split lends 10% of train. */
function chooseSplits(studies: LoadedStudy[], seed: number, listener: TrainListener): { train: LoadedStudy[]; valid: LoadedStudy[] } {
  const train = studies.filter((s) => s.split === 'train');
  let valid = studies.filter((s) => s.split === 'valid');
  if (valid.length === 0 && train.length >= 20) {
    const order = new Rng(seed ^ 0x7a11d).shuffle(train.map((_, i) => i));
    const take = new Set(order.slice(0, Math.max(2, Math.round(train.length * 0.1))));
    valid = train.filter((_, i) => take.has(i));
    listener.emit({ type: 'warning', message: `no 'valid' split: validating on ${valid.length} held-out training studies` });
    return { train: train.filter((_, i) => !take.has(i)), valid };
  }
  return { train, valid };
}

export async function runTraining(opts: TrainRunOptions): Promise<TrainResult> {
  const { runDir, listener, cancel } = opts;
  fs.mkdirSync(runDir, { recursive: true });
  // Temp files of writes a crash or a kill interrupted (never renamed into place).
  for (const dir of [runDir, checkpointDir(runDir)]) {
    const stale = removeStaleTempFiles(dir);
    if (stale.removed.length) listener.log(`removed ${stale.removed.length} unfinished temp file(s) (${(stale.bytes / 1e6).toFixed(1)} MB) in ${dir}`);
  }
  if (!opts.resume && latestCheckpointExists(runDir)) {
    throw new ConfigError(`run folder ${runDir} already has checkpoints: pass --resume to continue it, or choose a new --out`, 'out');
  }
  const resumeFrom = opts.resume ? resumePoint(runDir, listener) : undefined;
  const earlierProvenance = opts.resume ? readRunProvenance(runDir) : undefined;

  // Data.
  let skipped = 0;
  const dataset = readDataset(opts.dataDir, {
    maxInvalidShare: opts.config.data.maxInvalidShare,
    limits: dataLimits(opts.config.data),
    onWarning: (rec) => {
      skipped++;
      listener.emit({ type: 'warning', message: `skipped manifest line ${rec.line}${rec.field ? ` (${rec.field})` : ''}: ${rec.reason}`, record: rec.id });
    },
  });
  const { train, valid } = chooseSplits(dataset.studies, opts.config.train.seed, listener);
  const manifestSha256 = sha256File(dataset.manifest);
  if (earlierProvenance && earlierProvenance.dataset.manifestSha256 !== manifestSha256) {
    listener.emit({
      type: 'warning',
      message: `the dataset's manifest changed since this run was started (sha256 ${earlierProvenance.dataset.manifestSha256.slice(0, 12)}… in ${earlierProvenance.dataset.path}, now ${manifestSha256.slice(0, 12)}… in ${dataset.dir}): the resumed run trains on different data`,
    });
  }
  const B = opts.config.train.batchSize;
  if (train.length < B) {
    throw new DataError(`${opts.dataDir}: ${train.length} usable training studies, fewer than one batch of ${B} (lower train.batchSize)`, opts.dataDir);
  }
  const tokenizer = loadOrBuildVocab(runDir, opts.config, train, Boolean(resumeFrom), listener);
  // config.json records the vocabulary actually used, so the run folder alone rebuilds the model.
  const config: RunConfig = { ...opts.config, model: { ...opts.config.model, text: { ...opts.config.model.text, vocabSize: tokenizer.vocabSize } } };
  // The backend may differ between a run and its resume; everything else must match.
  const cfgHash = configHash({ ...config, backend: undefined });
  if (resumeFrom && resumeFrom.state.configHash !== cfgHash) {
    throw new ConfigError(`cannot resume ${runDir}: its config differs from this one (config hash ${resumeFrom.state.configHash} vs ${cfgHash}); resume with the run's own config.json`, 'config');
  }
  const T = config.model.text.maxLength;
  const preparedTrain = prepareStudies(train, tokenizer, T);
  const preparedValid = prepareStudies(valid, tokenizer, T);
  const provenance: RunProvenance = {
    dataset: {
      path: dataset.dir, manifest: dataset.manifest, manifestSha256,
      records: {
        train: preparedTrain.length, valid: preparedValid.length,
        validFrom: dataset.studies.some((s) => s.split === 'valid') ? 'valid' : 'train',
        test: dataset.studies.filter((s) => s.split === 'test').length, skipped, total: dataset.totalLines,
      },
    },
    engine: { name: 'reclf', version: opts.provenance?.engineVersion ?? 'unknown' },
    ...(opts.provenance?.commandLine ? { commandLine: opts.provenance.commandLine } : {}),
    ...(opts.provenance?.cwd ? { cwd: opts.provenance.cwd } : {}),
    startedAt: new Date().toISOString(),
    ...(resumeFrom ? { resumedFrom: { checkpoint: path.relative(runDir, resumeFrom.file), step: resumeFrom.state.step } } : {}),
    ...(earlierProvenance ? { earlier: [...(earlierProvenance.earlier ?? []), withoutEarlier(earlierProvenance)] } : {}),
  };
  writeJsonAtomic(path.join(runDir, CONFIG_FILE), { ...config, [PROVENANCE_KEY]: provenance });

  // Model, method, optimizer.
  const built = buildModel(config, tokenizer);
  const { params, model, method } = built;
  if (method.needsEntities) linkStudyWords([...preparedTrain, ...preparedValid], defaultKnowledgeBase());
  const spe = stepsPerEpoch(preparedTrain.length, B);
  const byEpochs = spe * config.train.epochs;
  const totalSteps = config.train.maxSteps > 0 ? Math.min(config.train.maxSteps, byEpochs) : byEpochs;
  const imageSize = config.model.image.imageSize;
  const loader = new ImageLoader({
    workers: config.data.workers, size: imageSize, augment: config.data.augment,
    limits: { maxPixels: config.data.maxImagePixels, maxBytes: config.data.maxImageBytes },
  });
  const optimizer = new AdamW({
    beta1: config.train.beta1, beta2: config.train.beta2, eps: config.train.eps, weightDecay: config.train.weightDecay,
  });

  if (!resumeFrom && opts.init?.image) listener.log(describePretrained('image', loadPretrainedImage(params, opts.init.image)));
  if (!resumeFrom && opts.init?.text) listener.log(describePretrained('text', loadPretrainedText(params, opts.init.text)));
  // Materialise every parameter (some methods create theirs on first use) before restoring.
  await warmUp(built, preparedTrain, loader, config);
  let state: TrainState = {
    step: 0, epoch: 0, batchInEpoch: 0, bestMetric: null, bestStep: null, epochsWithoutImprovement: 0, configHash: cfgHash,
    extra: { history: [] },
  };
  if (resumeFrom) {
    params.load(resumeFrom.params);
    optimizer.loadState(resumeFrom.state.step, resumeFrom.optimizer, params.trainable());
    state = { ...resumeFrom.state };
    listener.log(`resumed from ${resumeFrom.file} at step ${state.step}`);
  }

  const probe = config.train.evalEvery > 0 ? probeStudies(valid, config.train.evalStudies) : [];
  const probeNow = async (): Promise<void> => {
    const t = performance.now();
    const m = await probeWordLevel({ ...built, runDir, config, checkpointFile: 'training', step: state.step }, probe, opts.dataDir);
    for (const [name, value] of Object.entries(m)) listener.emit({ type: 'metric', name, value, step: state.step, split: 'valid' });
    listener.log(`step ${state.step}: word-level metrics on ${probe.length} validation studies (${((performance.now() - t) / 1000).toFixed(1)} s): ` +
      `pointing game ${m.pointing_game.toFixed(3)}, mass inside ${m.mass_inside.toFixed(3)} (uniform ${m.mass_inside_uniform.toFixed(3)}), ` +
      `relation AUROC ${m.relation_auroc.toFixed(3)}, importance AUROC ${m.importance_auroc.toFixed(3)}`);
  };

  const runId = path.basename(path.resolve(runDir));
  listener.emit({
    type: 'run_started', run_id: runId, backend: opts.backend, device: opts.device, config,
    ...(opts.adapter ? { adapter: { vendor: opts.adapter.vendor, architecture: opts.adapter.architecture, description: opts.adapter.description, software: opts.adapter.software } } : {}),
    ...(resumeFrom ? { resumed_from_step: state.step } : {}),
  });
  listener.log(`training ${config.method.name} on ${preparedTrain.length} studies (${preparedValid.length} valid), ` +
    `${totalSteps} steps of ${B}, ${params.count().toLocaleString()} parameters, backend ${opts.backend}`);

  const throughput = new Throughput();
  const runAhead = new RunAhead();
  const writeCheckpoint = async (isBest: boolean): Promise<void> => {
    const file = await saveCheckpoint(runDir, { state, params: await params.toRecord(), optimizer: await optimizer.stateTensors() },
      { keepLast: config.train.keepLast, isBest });
    listener.emit({ type: 'checkpoint', path: path.relative(runDir, file), step: state.step });
  };
  const badImages = new Set<string>();
  const reportFailures = (hb: HostBatch): void => {
    for (const f of hb.failed) {
      if (badImages.has(f.study.id)) continue;
      badImages.add(f.study.id);
      listener.emit({ type: 'warning', message: `skipped ${f.study.id}: ${f.reason}`, record: f.study.id });
    }
  };
  let lastValidation: ValidationMetrics | undefined;
  let status: RunStatus = 'ok';
  let lastLoss = NaN;
  let lastTerms: Array<[string, number]> = [];

  try {
    // A signal that came before the first step (while loading data or the backend) still ends with a checkpoint.
    if (cancel.requested) {
      await writeCheckpoint(false);
      status = 'cancelled';
    }
    // The untrained model's readings: the floor every later point of the curves is read against.
    if (probe.length > 0 && !resumeFrom && status === 'ok') await probeNow();
    outer: while (status === 'ok' && state.step < totalSteps) {
      const order = epochOrder(preparedTrain.length, config.train.seed, state.epoch);
      const batchesLeft = Math.min(spe - state.batchInEpoch, totalSteps - state.step);
      const firstBatch = state.batchInEpoch;
      const epoch = state.epoch;
      const batches = prefetch(
        (k) => loadHostBatch(loader, preparedTrain, order.slice((firstBatch + k) * B, (firstBatch + k + 1) * B), {
          seed: config.train.seed, epoch, augment: config.data.augment.enabled, maxLength: T,
          maxWords: config.model.maxWords, imageSize,
        }),
        batchesLeft,
        config.data.prefetch,
      );
      for await (const hb of batches) {
        reportFailures(hb);
        const t0 = performance.now();
        const lr = learningRate(state.step, {
          lr: config.train.lr, warmupSteps: config.train.warmupSteps, totalSteps, minLrRatio: config.train.minLrRatio,
        });
        const logged = state.step + 1 === totalSteps || (state.step + 1) % config.train.logEvery === 0;
        if (hb.indices.length >= 2) {
          const out = trainStep(built, optimizer, hb, { lr, clipNorm: config.train.clipNorm, step: state.step, imageSize, maxLength: T, keepTerms: logged });
          // The one host read of a step, and only on logged steps: a GPU runs ahead otherwise.
          if (logged) {
            const names = Object.keys(out.terms ?? {});
            const [lossData, ...termData] = await readAllAndDispose([out.loss, ...names.map((k) => (out.terms as Record<string, tf.Scalar>)[k])]);
            lastLoss = lossData[0];
            if (!Number.isFinite(lastLoss)) {
              throw new DataError(`loss became ${lastLoss} at step ${state.step + 1}: lower train.lr or check the data`, opts.dataDir);
            }
            // With more than one term, each is a curve of its own (loss/global, loss/local, ...).
            lastTerms = names.length > 1 ? names.map((k, i) => [`loss/${k}`, termData[i][0]] as [string, number]) : [];
          } else {
            out.loss.dispose();
          }
          await runAhead.step();
        }
        state.step += 1;
        state.batchInEpoch += 1;
        throughput.record((performance.now() - t0) / 1000, hb.indices.length);
        const eta = throughput.etaSeconds((totalSteps - state.step) * B);
        if (logged) {
          listener.emit({
            type: 'progress', step: state.step, total_steps: totalSteps, epoch: state.epoch, loss: lastLoss, lr,
            items_per_s: throughput.itemsPerSecond(), eta_s: eta,
          });
          listener.emit({ type: 'metric', name: 'loss', value: lastLoss, step: state.step, split: 'train' });
          for (const [name, value] of lastTerms) listener.emit({ type: 'metric', name, value, step: state.step, split: 'train' });
        }
        listener.status?.(progressLine({ step: state.step, total: totalSteps, epoch: state.epoch, loss: lastLoss, itemsPerS: throughput.itemsPerSecond(), etaS: eta }));
        const epochDone = state.batchInEpoch >= spe;
        if (epochDone) {
          state.epoch += 1;
          state.batchInEpoch = 0;
        }
        // A signal is honoured after this step's validation and checkpoint: stopping at an epoch's
        // last step without its validation would leave that epoch out of the best-checkpoint
        // choice for good (the resumed run starts in the next epoch), so a cancelled-and-resumed
        // run would evaluate a different best.safetensors than an uninterrupted one.
        if (probe.length > 0 && !cancel.requested && (state.step % config.train.evalEvery === 0 || state.step === totalSteps)) await probeNow();
        let stopEarly = false;
        let checkpointed = false;
        if (epochDone || state.step === totalSteps) {
          checkpointed = true;
          lastValidation = await validate(built, preparedValid, loader, config, reportFailures);
          if (lastValidation) {
            const v = lastValidation;
            for (const [name, value] of Object.entries({ loss: v.loss, i2t_acc1: v.i2t_acc1, i2t_acc5: v.i2t_acc5, t2i_acc1: v.t2i_acc1, t2i_acc5: v.t2i_acc5 })) {
              listener.emit({ type: 'metric', name, value, step: state.step, split: 'valid' });
            }
            const score = selectionScore(v, config.train.selectBy);
            const improved = state.bestMetric === null || score > state.bestMetric;
            if (improved) {
              state.bestMetric = score;
              state.bestStep = state.step;
              state.epochsWithoutImprovement = 0;
            } else {
              state.epochsWithoutImprovement += 1;
            }
            (state.extra!.history as unknown[]).push({ step: state.step, epoch: state.epoch, ...v });
            await writeCheckpoint(improved);
            if (config.train.earlyStopPatience > 0 && state.epochsWithoutImprovement >= config.train.earlyStopPatience) {
              listener.log(`early stop: validation ${config.train.selectBy === 'loss' ? 'loss' : 'retrieval acc@1'} has not improved for ${state.epochsWithoutImprovement} epochs`);
              stopEarly = true;
            }
          } else {
            await writeCheckpoint(false);
          }
        } else if (state.step % config.train.checkpointEvery === 0) {
          await writeCheckpoint(false);
          checkpointed = true;
        }
        if (cancel.requested) {
          if (!checkpointed) await writeCheckpoint(false);
          status = 'cancelled';
          break outer;
        }
        if (stopEarly) break outer;
      }
    }
  } finally {
    await loader.close();
  }
  if (status === 'ok' && !lastValidation) await writeCheckpoint(false);

  const result: TrainResult = {
    status, step: state.step, totalSteps, validation: lastValidation, bestStep: state.bestStep, runDir, skippedRecords: skipped + badImages.size,
  };
  writeJsonAtomic(path.join(runDir, SUMMARY_FILE), {
    ...result, backend: opts.backend, configHash: cfgHash,
    provenance: { ...provenance, dataset: { ...provenance.dataset, records: { ...provenance.dataset.records, badImages: badImages.size } } },
  });
  params.dispose();
  optimizer.dispose();
  return result;
}

/**
 * Higher is better. Retrieval (mean of both directions' acc@1) by default: on the synthetic
 * benchmark the contrastive validation loss bottoms out early (the model grows over-confident)
 * while retrieval keeps improving, so loss would select an early, worse checkpoint.
 */
export function selectionScore(v: ValidationMetrics, selectBy: 'retrieval' | 'loss'): number {
  return selectBy === 'loss' ? -v.loss : (v.i2t_acc1 + v.t2i_acc1) / 2;
}

/**
 * The checkpoint --resume continues from, saying which; a warning for each unreadable one passed
 * over; an error (not a silent restart from step 0) when checkpoints exist but none can be read.
 */
function resumePoint(runDir: string, listener: TrainListener): Checkpoint | undefined {
  const point = findResumePoint(runDir);
  for (const s of point.skipped) {
    listener.emit({ type: 'warning', message: `--resume: skipped unreadable checkpoint ${path.relative(runDir, s.file)}: ${s.reason}` });
  }
  if (point.checkpoint) return point.checkpoint;
  if (point.found > 0) {
    throw new DataError(
      `cannot resume ${runDir}: none of its ${point.found} checkpoint(s) can be read (${point.skipped[0].reason}); ` +
      'move the checkpoints folder away to start over from step 0', checkpointDir(runDir),
    );
  }
  listener.emit({ type: 'warning', message: `--resume: ${runDir} has no checkpoint yet; starting from step 0` });
  return undefined;
}

function latestCheckpointExists(runDir: string): boolean {
  const dir = path.join(runDir, 'checkpoints');
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.safetensors'));
}

/** What one optimizer step leaves on the device: the loss, and its named terms when asked for. */
export interface StepOutput {
  loss: tf.Scalar;
  /** The method's loss terms (global, local, ...), kept only with keepTerms; the caller disposes them. */
  terms?: Record<string, tf.Scalar>;
}

/** The text variants the method asks for on this training batch, re-tokenised on the host. */
function planVariants(built: BuiltModel, hb: HostBatch, maxLength: number, step: number): HostTextVariants | undefined {
  if (!built.method.planTextVariants) return undefined;
  const n = built.model.cfg.maxWords;
  const b = hb.indices.length;
  const wordMask = wordSlotMask(hb.wordIndex, b, maxLength, n);
  const plan = built.method.planTextVariants({ b, n, entityIds: hb.entityIds, entityNegated: hb.entityNegated, wordMask, step });
  return plan && plan.reports.length ? textVariantPieces(hb, plan, maxLength, n) : undefined;
}

/**
 * One optimizer step on the active backend, with no host read: the loss (and, with keepTerms,
 * its terms) stays on the device and is returned for the caller to read (on logged steps) or
 * dispose, and gradient clipping decides on the device, so a GPU backend is never stalled by a
 * read-back between steps.
 */
export function trainStep(
  built: BuiltModel, optimizer: AdamW, hb: HostBatch,
  o: { lr: number; clipNorm: number; step: number; imageSize: number; maxLength: number; keepTerms?: boolean },
): StepOutput {
  const { params, model, method } = built;
  const vars = params.trainable();
  const batch = toModelBatch(hb, o.imageSize, o.maxLength, planVariants(built, hb, o.maxLength, o.step));
  let terms: Record<string, tf.Scalar> | undefined;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const out = method.loss(model.forward(batch, true), { training: true, step: o.step });
      // The forward pass is tidied: kept terms survive it (read on logged steps only).
      if (o.keepTerms) terms = Object.fromEntries(Object.entries(out.terms).map(([k, t]) => [k, tf.keep(t)]));
      return out.loss;
    }, vars);
    const clipped = clipByGlobalNorm(grads, o.clipNorm);
    clipped.norm.dispose();
    optimizer.apply(vars, clipped.grads, o.lr);
    // Non-gradient state (MLIP's EMA divergence projection) follows the freshly updated weights.
    method.afterStep?.();
    for (const g of Object.values(clipped.grads)) g.dispose();
    model.applyBatchNormUpdates();
    return { loss: value, terms };
  } catch (e) {
    for (const t of Object.values(terms ?? {})) t.dispose();
    throw e;
  } finally {
    disposeModelBatch(batch);
  }
}

async function warmUp(built: BuiltModel, prepared: PreparedStudy[], loader: ImageLoader, config: RunConfig): Promise<void> {
  const hb = await loadHostBatch(loader, prepared, [0, 1], {
    seed: config.train.seed, epoch: 0, augment: false, maxLength: config.model.text.maxLength,
    maxWords: config.model.maxWords, imageSize: config.model.image.imageSize,
  });
  if (hb.indices.length < 2) return;
  const batch = toModelBatch(hb, config.model.image.imageSize, config.model.text.maxLength);
  tf.tidy(() => {
    built.method.loss(built.model.forward(batch, false), { training: false, step: 0 });
  });
  disposeModelBatch(batch);
}

/**
 * Validation loss and in-batch retrieval over the valid split, in eval mode, no augmentation.
 * Studies whose images fail to load are left out and handed to `onFailures` (a warning each).
 */
export async function validate(
  built: BuiltModel, prepared: PreparedStudy[], loader: ImageLoader, config: RunConfig, onFailures?: (hb: HostBatch) => void,
): Promise<ValidationMetrics | undefined> {
  const B = config.train.batchSize;
  const T = config.model.text.maxLength;
  const size = config.model.image.imageSize;
  if (prepared.length < 2) return undefined;
  const sums = { loss: 0, i2t_acc1: 0, i2t_acc5: 0, t2i_acc1: 0, t2i_acc5: 0 };
  let pairs = 0;
  let batches = 0;
  let batchSizes = 0;
  // Full batches only (when there is at least one), so chance acc@1 is exactly 1/B.
  const usable = prepared.length >= B ? prepared.length - (prepared.length % B) : prepared.length;
  for (let start = 0; start < usable; start += B) {
    const idx = Array.from({ length: Math.min(B, usable - start) }, (_, k) => start + k);
    if (idx.length < 2) break;
    const hb = await loadHostBatch(loader, prepared, idx, { seed: config.train.seed, epoch: 0, augment: false, maxLength: T, maxWords: config.model.maxWords, imageSize: size });
    onFailures?.(hb);
    const n = hb.indices.length;
    if (n < 2) continue;
    const batch = toModelBatch(hb, size, T);
    const [lossT, simT] = tf.tidy(() => {
      const inputs = built.model.forward(batch, false);
      return [built.method.loss(inputs, { training: false, step: 0 }).loss, built.method.similarity(inputs).global];
    });
    disposeModelBatch(batch);
    const [lossData, sim] = await readAllAndDispose([lossT, simT]);
    const loss = lossData[0];
    sums.loss += loss * n;
    sums.i2t_acc1 += inBatchTopK(sim, n, 1) * n;
    sums.i2t_acc5 += inBatchTopK(sim, n, 5) * n;
    sums.t2i_acc1 += inBatchTopKColumns(sim, n, 1) * n;
    sums.t2i_acc5 += inBatchTopKColumns(sim, n, 5) * n;
    pairs += n;
    batches += 1;
    batchSizes += n;
  }
  if (pairs === 0) return undefined;
  return {
    loss: sums.loss / pairs, i2t_acc1: sums.i2t_acc1 / pairs, i2t_acc5: sums.i2t_acc5 / pairs,
    t2i_acc1: sums.t2i_acc1 / pairs, t2i_acc5: sums.t2i_acc5 / pairs, batch: batchSizes / batches, pairs,
  };
}
