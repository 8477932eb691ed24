// The run configuration: one group per concern (data, text, model, method, train), every default
// filled, validated before any work starts. Errors name the exact field ("train.lr: ...").
// Values are checked by one validator, the published schema itself
// (schemas/reclf-config.schema.json through ajv): no bound is copied into code. What a schema
// cannot say (cross-field rules: heads divide hidden, maxWords <= maxLength, per-method keys) is
// checked by the model and method resolvers afterwards.
import crypto from 'node:crypto';
import Ajv, { type ErrorObject } from 'ajv';
import schema from '../../../schemas/reclf-config.schema.json';
import { ConfigError } from '../errors';
import { resolveModelConfig, type ModelConfig } from '../models/model-config';
import { resolveMethodConfig, METHOD_NAMES } from '../align/registry';
import type { AugmentConfig } from '../data/augment';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../data/input-guard';
import { resolveAugmentConfig } from './augment-config';
import { fieldPath, valueAt } from '../json-pointer';

export interface DataConfig {
  /** Largest share of bad manifest records tolerated before the run fails. */
  maxInvalidShare: number;
  /** Decode worker threads (0 = decode on the training thread). */
  workers: number;
  /** Batches decoded ahead of the training step. */
  prefetch: number;
  /** Largest image width x height accepted, read from the header before decoding (default 20 MP). */
  maxImagePixels: number;
  /** Largest image file read, in bytes (default 512 MiB). */
  maxImageBytes: number;
  /** Largest report text, in UTF-8 bytes (default 1 MiB). */
  maxReportBytes: number;
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
  /**
   * Every this many steps (and before the first), grounding, relations and importance on a fixed
   * validation subset, when the dataset has word roles and boxes (0 = never). Monitoring only.
   */
  evalEvery: number;
  /** Validation studies the word-level metrics of evalEvery read (the first ones with ground truth). */
  evalStudies: number;
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
  evalEvery: 100,
  evalStudies: 128,
  seed: 0,
};

export const DEFAULT_TEXT: TextConfig = { vocab: '', vocabSize: 2000, minFrequency: 1, lowerCase: true };

export const DEFAULT_DATA: Omit<DataConfig, 'augment'> = {
  maxInvalidShare: 0.2,
  workers: 2,
  prefetch: 2,
  ...DEFAULT_INPUT_LIMITS,
};

/** The input limits of a data group, for readDataset / ImageLoader / readImageHeader. */
export function dataLimits(data: DataConfig): InputLimits {
  return { maxImagePixels: data.maxImagePixels, maxImageBytes: data.maxImageBytes, maxReportBytes: data.maxReportBytes };
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// verbose: errors carry their parent schema (the allowed keys of an object, for "unknown field").
// strictRequired would reject method's empty "required" list.
const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, verbose: true });
const validateSchema = ajv.compile(schema);

/**
 * Checks a raw config (a parsed *.reclf.json, a run's config.json, merged CLI overrides) against
 * schemas/reclf-config.schema.json: the one validator of config values. Throws a one-line
 * ConfigError naming the field ("model.image.imageSize: must be <= 2048, got 8192"), prefixed
 * with `source` (the file) when given.
 */
export function validateConfigSchema(raw: unknown, source?: string): void {
  if (validateSchema(raw)) return;
  const { field, reason } = describeSchemaError(validateSchema.errors ?? [], raw);
  throw new ConfigError(`${source ? `${source}: ` : ''}${field}: ${reason}`, field === 'config' ? undefined : field);
}

function describeSchemaError(errors: readonly ErrorObject[], raw: unknown): { field: string; reason: string } {
  const e = errors[0];
  if (!e) return { field: 'config', reason: 'does not match the config schema' };
  const base = fieldPath(e.instancePath);
  const value = valueAt(raw, e.instancePath);
  const params = e.params as Record<string, unknown>;
  const field = base || 'config';
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return { field: base ? `${base}.${key}` : key, reason: `unknown field${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}` };
    }
    case 'type':
      if (!base) return { field: 'config', reason: `expected a JSON object at the top level, got ${describe(value)}` };
      return { field, reason: `expected ${typeName(String(params.type))}, got ${describe(value)}` };
    case 'enum':
      return { field, reason: `expected one of ${(params.allowedValues as unknown[]).map((v) => String(v)).join(', ')}, got ${describe(value)}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { field, reason: `must be ${String(params.comparison)} ${String(params.limit)}, got ${describe(value)}` };
    case 'minItems':
    case 'maxItems':
      return { field, reason: `expected ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(params.limit)} items, got ${Array.isArray(value) ? value.length : describe(value)}` };
    default:
      return { field, reason: `${e.message ?? 'is invalid'}, got ${describe(value)}` };
  }
}

function typeName(t: string): string {
  switch (t) {
    case 'integer': return 'an integer';
    case 'object': return 'an object';
    case 'array': return 'an array';
    case 'boolean': return 'true or false';
    default: return `a ${t}`;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number') return String(v);
  return `${typeof v} ${String(v)}`;
}

// The group resolvers below run on schema-validated input: they only fill defaults.
function group(raw: Obj, key: string): Obj {
  const v = raw[key];
  return isObj(v) ? v : {};
}

function fill<T extends object>(raw: Obj, defaults: T): T {
  const out = { ...defaults };
  for (const k of Object.keys(defaults) as (keyof T & string)[]) if (raw[k] !== undefined) out[k] = raw[k] as T[keyof T & string];
  return out;
}

function resolveDataConfig(raw: Obj, path = 'data'): DataConfig {
  const augRaw = raw.augment;
  return { ...fill(raw, DEFAULT_DATA), augment: resolveAugmentConfig(isObj(augRaw) ? augRaw : {}, `${path}.augment`) };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `over` merged into `base`, objects recursively (arrays and scalars of `over` replace). */
export function mergeRawConfig(base: unknown, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = isPlainObject(base) ? { ...base } : {};
  for (const [k, v] of Object.entries(over)) out[k] = isPlainObject(v) ? mergeRawConfig(out[k], v) : v;
  return out;
}

/**
 * Fills every default and validates. `raw` is the parsed config file (or {}); `methodName`
 * overrides method.name (the --method flag).
 */
export function resolveRunConfig(raw: unknown, methodName?: string): RunConfig {
  if (raw === undefined || raw === null) raw = {};
  if (isObj(raw) && methodName !== undefined && (raw.method === undefined || isObj(raw.method))) {
    raw = { ...raw, method: { ...(raw.method as Obj | undefined), name: methodName } };
  }
  validateConfigSchema(raw);
  const top = raw as Obj;
  const methodRaw = group(top, 'method');
  const name = typeof methodRaw.name === 'string' ? methodRaw.name : 'reclf';
  if (!METHOD_NAMES.includes(name)) {
    throw new ConfigError(`method.name: unknown method '${name}' (choose ${METHOD_NAMES.join(', ')})`, 'method.name');
  }
  const { name: _ignored, ...methodRest } = methodRaw;
  return {
    data: resolveDataConfig(group(top, 'data')),
    text: fill(group(top, 'text'), DEFAULT_TEXT),
    model: resolveModelConfig(group(top, 'model'), 'model'),
    method: { name, ...resolveMethodConfig(name, methodRest, 'method') },
    train: fill(group(top, 'train'), DEFAULT_TRAIN),
    backend: typeof top.backend === 'string' ? top.backend : 'auto',
  };
}

/**
 * Stable hash of a resolved config (key order independent). Input limits at their defaults are
 * left out, so runs made before the limits existed still resume.
 */
export function configHash(cfg: unknown): string {
  return crypto.createHash('sha256').update(stableStringify(withoutMonitoring(withoutDefaultLimits(cfg)))).digest('hex').slice(0, 16);
}

/** Settings that only watch a run (never change its weights), so a run resumes whatever they are. */
const MONITORING_KEYS = ['evalEvery', 'evalStudies'] as const;

function withoutMonitoring(cfg: unknown): unknown {
  if (!isObj(cfg) || !isObj(cfg.train)) return cfg;
  const train: Obj = { ...cfg.train };
  for (const k of MONITORING_KEYS) delete train[k];
  return { ...cfg, train };
}

function withoutDefaultLimits(cfg: unknown): unknown {
  if (!isObj(cfg) || !isObj(cfg.data)) return cfg;
  const data: Obj = { ...cfg.data };
  for (const k of Object.keys(DEFAULT_INPUT_LIMITS) as (keyof InputLimits)[]) if (data[k] === DEFAULT_INPUT_LIMITS[k]) delete data[k];
  return { ...cfg, data };
}

export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableStringify(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}
