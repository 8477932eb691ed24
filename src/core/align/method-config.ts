// Per-method hyper-parameters: defaults from the papers' public code (METHODS.md sections 2-4)
// and validation that names the offending field, so a bad run config fails before training.
import { ConfigError } from '../errors';
import { crossCheckMlip, mlipSpecs } from './mlip/config';

type FieldSpec =
  | { kind: 'number'; default: number; min?: number; max?: number; positive?: boolean; doc: string }
  | { kind: 'int'; default: number; min: number; max: number; doc: string }
  | { kind: 'bool'; default: boolean; doc: string }
  | { kind: 'enum'; default: string; values: readonly string[]; aliases?: Record<string, string>; doc: string };

export type MethodConfigSpec = Record<string, FieldSpec>;

const pos = (def: number, doc: string): FieldSpec => ({ kind: 'number', default: def, positive: true, doc });
const weight = (doc: string): FieldSpec => ({ kind: 'number', default: 1, min: 0, doc });

export const METHOD_CONFIG_SPECS: Record<string, MethodConfigSpec> = {
  convirt: {
    tau: pos(0.1, 'global InfoNCE temperature'),
    imageToTextWeight: { kind: 'number', default: 0.75, min: 0, max: 1, doc: 'weight of the image->text direction (text->image gets 1 - it)' },
    gamma1: pos(4, 'sharpness of the display-only word->region attention'),
  },
  gloria: {
    tau: pos(0.1, 'global InfoNCE temperature'),
    gamma1: pos(4, 'attention sharpness over regions'),
    gamma2: pos(5, 'LogSumExp pooling sharpness over words'),
    gamma3: pos(10, 'scale of the local logits'),
    localBatch: { kind: 'int', default: 16, min: 0, max: 1000000, doc: 'local loss over the first localBatch pairs of each batch (0 = all); the global loss always uses the whole batch' },
    globalWeight: weight('weight of the global loss'),
    localWeight: weight('weight of the local loss'),
  },
  mgca: {
    tau: pos(0.07, 'instance-level InfoNCE temperature'),
    localTau: pos(0.1, 'token-level softmax temperature'),
    prototypes: { kind: 'int', default: 500, min: 1, max: 100000, doc: 'number of prototypes' },
    sinkhornEps: pos(0.05, 'Sinkhorn entropic regularisation'),
    sinkhornIters: { kind: 'int', default: 3, min: 1, max: 1000, doc: 'Sinkhorn iterations' },
    protoTemp: pos(0.2, 'prototype softmax temperature'),
    clipLow: { kind: 'number', default: 0.1, min: 0, max: 1, doc: 'lower percentile of [CLS] word weights' },
    clipHigh: { kind: 'number', default: 0.9, min: 0, max: 1, doc: 'upper percentile of [CLS] word weights' },
    gamma1: pos(4, 'sharpness of the displayed word->region attention'),
    globalWeight: weight('weight of the instance-level loss'),
    localWeight: weight('weight of the token-level loss'),
    protoWeight: weight('weight of the prototype loss'),
  },
  // CPU defaults, measured on the wasm backend at B=32, N=48, M=64, D=128 (`reclf bench train`):
  // the cross reading's cost is dominated by elementwise work on the [pairs, N, D] tensors, so
  // the local loss is taken over a sub-batch of 16 pairs (256 image-report pairs instead of 1024)
  // and the matching vectors are 32-d; the global loss still sees the whole batch.
  reclf: {
    reading: { kind: 'enum', default: 'cross', values: ['cross', 'within'], doc: 'cross-sample local InfoNCE or within-sample token loss' },
    matching: { kind: 'enum', default: 'diff', values: ['diff', 'concat'], doc: "local-matching vector: W_m (c-e)^2 or W_m [e; c; e*c]" },
    mDim: { kind: 'int', default: 32, min: 1, max: 4096, doc: 'dimension of the local-matching vectors' },
    localBatch: { kind: 'int', default: 16, min: 0, max: 1000000, doc: "cross reading: local InfoNCE over the first localBatch pairs of each batch (0 = all); the global loss always uses the whole batch" },
    srm: { kind: 'bool', default: true, doc: 'semantic-relation reasoning (false: identity relation)' },
    srmRounds: { kind: 'int', default: 2, min: 1, max: 16, doc: 'graph-attention rounds K' },
    relation: {
      kind: 'enum',
      default: 'matching',
      values: ['matching', 'words', 'attention'],
      doc: "SRM relation from learned query/key projections of the local-matching vectors or of the word features, or from the overlap of two words' attention maps",
    },
    srmStage: {
      kind: 'enum',
      default: 'matching',
      values: ['matching', 'query'],
      doc: "where SRM reasons: between the local-matching vectors after attention, or between the report's word features before it (each word's attention query and score then carry its related words; the word itself is left out of its relation row)",
    },
    gammaR: pos(10, "relation 'attention': softmax sharpness over attention-map cosines"),
    irmInput: { kind: 'enum', default: 'matching', values: ['matching', 'words'], doc: 'IRM importance from the local-matching vectors or from the word features' },
    irm: {
      kind: 'enum',
      default: 'softmax',
      values: ['softmax', 'sigmoid', 'uniform', 'lse', 'lse-prior'],
      aliases: { true: 'softmax', false: 'uniform' },
      doc: 'importance: masked softmax, sigmoid + L1, uniform (irm off), GLoRIA LogSumExp pooling, or LogSumExp under a prior learned from the word features',
    },
    score: {
      kind: 'enum',
      default: 'auto',
      values: ['auto', 'linear', 'cosine', 'weighted', 'weighted-cosine'],
      doc: "local score: w_s^T m_agg, or cos(sum beta e, sum beta c), or sum_i beta_i w_s^T m_i, or sum_i beta_i cos(e_i, c_i) (IRM weighs per-word scores); auto = linear for 'cross', cosine for 'within'",
    },
    tau: pos(0.1, 'global InfoNCE temperature'),
    localTau: pos(0.1, 'local InfoNCE / token-loss temperature (initial value when learned)'),
    learnTemperature: { kind: 'bool', default: false, doc: 'learn the local temperature (align.reclf.log_inv_tau)' },
    gamma1: pos(4, 'attention sharpness over regions'),
    attention: {
      kind: 'enum',
      default: 'gloria',
      values: ['gloria', 'cosine'],
      doc: "word->region attention: GLoRIA's (softmax over words, then over regions of gamma1 times that) or softmax over regions of gamma1 * cos(e_i, v_j)",
    },
    gamma2: pos(5, 'LogSumExp pooling sharpness (irm: lse)'),
    context: {
      kind: 'enum',
      default: 'attended',
      values: ['attended', 'centered'],
      doc: "attended context: the regions as they are (GLoRIA), or each image's regions minus their mean (uniform attention then carries no image information)",
    },
    globalWeight: weight('weight of the global loss'),
    localWeight: weight('weight of the local loss'),
  },
  // mlip and its ablations (mlip-no-div, mlip-no-knowledge, mlip-no-category): src/core/align/mlip/config.ts
  ...mlipSpecs(),
};

/**
 * Fills defaults and validates `partial` against the method's spec. Throws ConfigError naming
 * `${path}.${field}`. A `name` key equal to the method name is accepted and dropped.
 */
export function resolveMethodConfig(name: string, partial: Record<string, unknown> = {}, path = 'method'): Record<string, unknown> {
  const spec = METHOD_CONFIG_SPECS[name];
  if (!spec) {
    throw new ConfigError(`${path}.name: unknown alignment method '${name}' (expected one of ${Object.keys(METHOD_CONFIG_SPECS).join(', ')})`, `${path}.name`);
  }
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
    throw new ConfigError(`${path}: expected an object of ${name} parameters`, path);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(partial)) {
    if (key === 'name') {
      if (value !== name) throw new ConfigError(`${path}.name: '${String(value)}' does not match method '${name}'`, `${path}.name`);
      continue;
    }
    if (!(key in spec)) {
      throw new ConfigError(`${path}.${key}: unknown parameter for method '${name}' (known: ${Object.keys(spec).join(', ')})`, `${path}.${key}`);
    }
  }
  for (const [key, field] of Object.entries(spec)) {
    const value = key in partial && partial[key] !== undefined ? partial[key] : field.default;
    out[key] = checkField(field, value, `${path}.${key}`);
  }
  return crossCheck(name, out, path);
}

function checkField(field: FieldSpec, value: unknown, where: string): unknown {
  switch (field.kind) {
    case 'number':
    case 'int': {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new ConfigError(`${where}: expected a number (${field.doc}), got ${JSON.stringify(value)}`, where);
      if (field.kind === 'int' && !Number.isInteger(value)) throw new ConfigError(`${where}: expected an integer, got ${value}`, where);
      if (field.kind === 'number' && field.positive && value <= 0) throw new ConfigError(`${where}: must be > 0, got ${value}`, where);
      if (field.min !== undefined && value < field.min) throw new ConfigError(`${where}: must be >= ${field.min}, got ${value}`, where);
      if (field.max !== undefined && value > field.max) throw new ConfigError(`${where}: must be <= ${field.max}, got ${value}`, where);
      return value;
    }
    case 'bool':
      if (typeof value !== 'boolean') throw new ConfigError(`${where}: expected true or false, got ${JSON.stringify(value)}`, where);
      return value;
    case 'enum': {
      const key = typeof value === 'boolean' ? String(value) : value;
      const aliased = typeof key === 'string' && field.aliases && key in field.aliases ? field.aliases[key] : key;
      if (typeof aliased !== 'string' || !field.values.includes(aliased)) {
        throw new ConfigError(`${where}: expected one of ${field.values.join(', ')}, got ${JSON.stringify(value)}`, where);
      }
      return aliased;
    }
  }
}

function crossCheck(name: string, cfg: Record<string, unknown>, path: string): Record<string, unknown> {
  if (name.startsWith('mlip')) crossCheckMlip(name, cfg, path);
  if (name === 'mgca' && (cfg.clipLow as number) > (cfg.clipHigh as number)) {
    throw new ConfigError(`${path}.clipLow: ${cfg.clipLow} is above ${path}.clipHigh ${cfg.clipHigh}`, `${path}.clipLow`);
  }
  if (name === 'reclf') {
    if (cfg.score === 'auto') cfg.score = cfg.reading === 'within' ? 'cosine' : 'linear';
    // In the within-sample reading no loss term sees w_s, so a linear score would stay at its init.
    if (cfg.reading === 'within' && (cfg.score === 'linear' || cfg.score === 'weighted' || cfg.score === 'weighted-cosine')) {
      throw new ConfigError(`${path}.score: '${cfg.score}' needs reading 'cross' (the within-sample token loss never reads the pair's score); use 'cosine'`, `${path}.score`);
    }
    if (cfg.reading === 'within' && cfg.learnTemperature === true) {
      throw new ConfigError(`${path}.learnTemperature: only the 'cross' reading has a local InfoNCE temperature to learn`, `${path}.learnTemperature`);
    }
    // With a cosine score and no importance learned from them, nothing reads the local-matching vectors.
    const cosineScore = cfg.score === 'cosine' || cfg.score === 'weighted-cosine';
    const irmReadsMatchings = (cfg.irm === 'softmax' || cfg.irm === 'sigmoid') && cfg.irmInput === 'matching';
    if (cfg.srmStage === 'query') {
      if (cfg.srm !== true) throw new ConfigError(`${path}.srmStage: 'query' is SRM's placement, but srm is false`, `${path}.srmStage`);
      if (cfg.relation === 'attention') {
        throw new ConfigError(`${path}.relation: 'attention' needs the attention maps, which srmStage 'query' computes after SRM; use 'words'`, `${path}.relation`);
      }
    } else if (cfg.srm === true && cosineScore && !irmReadsMatchings) {
      const why = cfg.irm === 'uniform' || cfg.irm === 'lse' || cfg.irm === 'lse-prior' ? `irm is '${cfg.irm}'` : "IRM reads the word features (irmInput 'words')";
      throw new ConfigError(`${path}.srm: SRM output is unused when ${why} and score is '${cfg.score}'; set srm: false`, `${path}.srm`);
    }
  }
  return cfg;
}
