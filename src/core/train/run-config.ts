// The run configuration: one group per concern (data, text, model, method, train), every default
// filled, validated before any work starts. Errors name the exact field ("train.lr: ...").
import crypto from 'node:crypto';
import { ConfigError } from '../errors';
import { resolveModelConfig, type ModelConfig } from '../models/model-config';
import { resolveMethodConfig, METHOD_NAMES } from '../align/registry';
import type { AugmentConfig } from '../data/augment';
import { resolveAugmentConfig } from './augment-config';

export interface DataConfig {
  /** Largest share of bad manifest records tolerated before the run fails. */
  maxInvalidShare: number;
  /** Decode worker threads (0 = decode on the training thread). */
  workers: number;
  /** Batches decoded ahead of the training step. */
  prefetch: number;
  augment: AugmentConfig;
}

export interface TextConfig {
  /** Path to a vocab.txt / tokenizer.json; empty = build a WordPiece vocabulary from the training reports. */
  vocab: string;
  vocabSize: number;
  minFrequency: number;
  lowerCase: boolean;
}

export interface TrainConfig {
  epochs: number;
  /** Stop after this many optimizer steps (0 = no limit beyond epochs). */
  maxSteps: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  warmupSteps: number;
  minLrRatio: number;
  clipNorm: number;
  checkpointEvery: number;
  keepLast: number;
  /** Epochs without improvement of the selection metric before stopping (0 = never stop early). */
  earlyStopPatience: number;
  /** What chooses best.safetensors and drives early stopping: mean validation retrieval acc@1, or validation loss. */
  selectBy: 'retrieval' | 'loss';
  /** Emit a progress event every this many steps. */
  logEvery: number;
  seed: number;
}

export interface RunConfig {
  data: DataConfig;
  text: TextConfig;
  model: ModelConfig;
  method: { name: string } & Record<string, unknown>;
  train: TrainConfig;
  backend: string;
}

export const DEFAULT_TRAIN: TrainConfig = {
  epochs: 30,
  maxSteps: 0,
  batchSize: 32,
  lr: 2e-3,
  weightDecay: 0.05,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  warmupSteps: 10,
  minLrRatio: 0.02,
  clipNorm: 5,
  checkpointEvery: 50,
  keepLast: 3,
  earlyStopPatience: 0,
  selectBy: 'retrieval',
  logEvery: 5,
  seed: 0,
};

export const DEFAULT_TEXT: TextConfig = { vocab: '', vocabSize: 2000, minFrequency: 1, lowerCase: true };

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function group(raw: Obj, key: string): Obj {
  const v = raw[key];
  if (v === undefined) return {};
  if (!isObj(v)) throw new ConfigError(`${key}: expected an object`, key);
  return v;
}

function checkKeys(obj: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      throw new ConfigError(`${path}.${k}: unknown field (allowed: ${allowed.join(', ')})`, `${path}.${k}`);
    }
  }
}

function numberField(obj: Obj, key: string, def: number, path: string, check: { min?: number; max?: number; int?: boolean; exclusiveMin?: boolean } = {}): number {
  const v = obj[key];
  if (v === undefined) return def;
  const field = `${path}.${key}`;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${field}: expected a number, got ${JSON.stringify(v)}`, field);
  if (check.int && !Number.isInteger(v)) throw new ConfigError(`${field}: expected an integer, got ${v}`, field);
  if (check.min !== undefined && (check.exclusiveMin ? v <= check.min : v < check.min)) {
    throw new ConfigError(`${field}: must be ${check.exclusiveMin ? '>' : '>='} ${check.min}, got ${v}`, field);
  }
  if (check.max !== undefined && v > check.max) throw new ConfigError(`${field}: must be <= ${check.max}, got ${v}`, field);
  return v;
}

function stringField(obj: Obj, key: string, def: string, path: string): string {
  const v = obj[key];
  if (v === undefined) return def;
  if (typeof v !== 'string') throw new ConfigError(`${path}.${key}: expected a string, got ${JSON.stringify(v)}`, `${path}.${key}`);
  return v;
}

function enumField<T extends string>(obj: Obj, key: string, def: T, values: readonly T[], path: string): T {
  const v = obj[key];
  if (v === undefined) return def;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new ConfigError(`${path}.${key}: expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`, `${path}.${key}`);
  }
  return v as T;
}

function boolField(obj: Obj, key: string, def: boolean, path: string): boolean {
  const v = obj[key];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new ConfigError(`${path}.${key}: expected true or false, got ${JSON.stringify(v)}`, `${path}.${key}`);
  return v;
}

export function resolveTrainConfig(raw: Obj, path = 'train'): TrainConfig {
  checkKeys(raw, Object.keys(DEFAULT_TRAIN), path);
  const d = DEFAULT_TRAIN;
  const pos = { min: 0, exclusiveMin: true };
  const nonNegInt = { min: 0, int: true };
  const posInt = { min: 1, int: true };
  const cfg: TrainConfig = {
    epochs: numberField(raw, 'epochs', d.epochs, path, posInt),
    maxSteps: numberField(raw, 'maxSteps', d.maxSteps, path, nonNegInt),
    batchSize: numberField(raw, 'batchSize', d.batchSize, path, { min: 2, int: true }),
    lr: numberField(raw, 'lr', d.lr, path, pos),
    weightDecay: numberField(raw, 'weightDecay', d.weightDecay, path, { min: 0 }),
    beta1: numberField(raw, 'beta1', d.beta1, path, { min: 0, max: 0.999999 }),
    beta2: numberField(raw, 'beta2', d.beta2, path, { min: 0, max: 0.999999 }),
    eps: numberField(raw, 'eps', d.eps, path, pos),
    warmupSteps: numberField(raw, 'warmupSteps', d.warmupSteps, path, nonNegInt),
    minLrRatio: numberField(raw, 'minLrRatio', d.minLrRatio, path, { min: 0, max: 1 }),
    clipNorm: numberField(raw, 'clipNorm', d.clipNorm, path, { min: 0 }),
    checkpointEvery: numberField(raw, 'checkpointEvery', d.checkpointEvery, path, posInt),
    keepLast: numberField(raw, 'keepLast', d.keepLast, path, posInt),
    earlyStopPatience: numberField(raw, 'earlyStopPatience', d.earlyStopPatience, path, nonNegInt),
    selectBy: enumField(raw, 'selectBy', d.selectBy, ['retrieval', 'loss'] as const, path),
    logEvery: numberField(raw, 'logEvery', d.logEvery, path, posInt),
    seed: numberField(raw, 'seed', d.seed, path, { min: 0, int: true }),
  };
  return cfg;
}

export function resolveTextConfig(raw: Obj, path = 'text'): TextConfig {
  checkKeys(raw, Object.keys(DEFAULT_TEXT), path);
  return {
    vocab: stringField(raw, 'vocab', DEFAULT_TEXT.vocab, path),
    vocabSize: numberField(raw, 'vocabSize', DEFAULT_TEXT.vocabSize, path, { min: 16, int: true }),
    minFrequency: numberField(raw, 'minFrequency', DEFAULT_TEXT.minFrequency, path, { min: 1, int: true }),
    lowerCase: boolField(raw, 'lowerCase', DEFAULT_TEXT.lowerCase, path),
  };
}

export function resolveDataConfig(raw: Obj, path = 'data'): DataConfig {
  checkKeys(raw, ['maxInvalidShare', 'workers', 'prefetch', 'augment'], path);
  const augRaw = raw.augment;
  if (augRaw !== undefined && !isObj(augRaw)) throw new ConfigError(`${path}.augment: expected an object`, `${path}.augment`);
  return {
    maxInvalidShare: numberField(raw, 'maxInvalidShare', 0.2, path, { min: 0, max: 1 }),
    workers: numberField(raw, 'workers', 2, path, { min: 0, max: 64, int: true }),
    prefetch: numberField(raw, 'prefetch', 2, path, { min: 1, max: 64, int: true }),
    augment: resolveAugmentConfig((augRaw as Obj | undefined) ?? {}, `${path}.augment`),
  };
}

const TOP_KEYS = ['$schema', 'data', 'text', 'model', 'method', 'train', 'backend'] as const;

/**
 * Fills every default and validates. `raw` is the parsed config file (or {}); `methodName`
 * overrides method.name (the --method flag).
 */
export function resolveRunConfig(raw: unknown, methodName?: string): RunConfig {
  if (raw === undefined || raw === null) raw = {};
  if (!isObj(raw)) throw new ConfigError('config: expected a JSON object at the top level');
  checkKeys(raw, TOP_KEYS, 'config');
  const methodRaw = group(raw, 'method');
  const name = methodName ?? (typeof methodRaw.name === 'string' ? methodRaw.name : 'reclf');
  if (!METHOD_NAMES.includes(name)) {
    throw new ConfigError(`method.name: unknown method '${name}' (choose ${METHOD_NAMES.join(', ')})`, 'method.name');
  }
  const { name: _ignored, ...methodRest } = methodRaw;
  const backend = raw.backend === undefined ? 'auto' : raw.backend;
  if (typeof backend !== 'string') throw new ConfigError('backend: expected a string', 'backend');
  return {
    data: resolveDataConfig(group(raw, 'data')),
    text: resolveTextConfig(group(raw, 'text')),
    model: resolveModelConfig(group(raw, 'model'), 'model'),
    method: { name, ...resolveMethodConfig(name, methodRest, 'method') },
    train: resolveTrainConfig(group(raw, 'train')),
    backend,
  };
}

/** Stable hash of a resolved config (key order independent). */
export function configHash(cfg: unknown): string {
  return crypto.createHash('sha256').update(stableStringify(cfg)).digest('hex').slice(0, 16);
}

export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableStringify(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}
