// Per-method hyper-parameters: defaults from the papers' public code (METHODS.md sections 2-4)
// and validation that names the offending field, so a bad run config fails before training.
import { ConfigError } from '../errors';
import { crossCheckMlip, mlipSpecs } from './mlip/config';
import { crossCheckReclf, RECLF_SPEC } from './reclf-config';
import { pos, weight, type FieldSpec, type MethodConfigSpec } from './config-fields';

export type { MethodConfigSpec } from './config-fields';

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
  // RECLF's spec and cross-field checks: src/core/align/reclf-config.ts
  reclf: RECLF_SPEC,
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
  if (name === 'reclf') crossCheckReclf(cfg, path);
  return cfg;
}
