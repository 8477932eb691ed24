// MLIP's hyper-parameters (METHODS.md section 5) and its ablations. Every [design] part is a
// switchable loss term with its own weight, so the ablation grid can turn one part off at a time.
// An ablation is a method name of its own (it shows up as such in run folders and tables) that
// resolves to the MLIP spec with one switch fixed.
import { ConfigError } from '../../errors';
import { pos, weight, type MethodConfigSpec } from '../config-fields';

export const MLIP_SPEC: MethodConfigSpec = {
  tau: pos(0.07, 'global InfoNCE temperature'),
  globalWeight: weight('weight of the global loss'),
  divergence: {
    kind: 'enum',
    default: 'ema',
    values: ['ema', 'stochastic', 'off'],
    aliases: { true: 'ema', false: 'off' },
    doc: "divergence encoder view: 'stochastic' (dropout + residual projection), 'ema' (also its momentum copy) or 'off'",
  },
  divWeight: weight('weight of the divergence-view global loss'),
  divDropout: { kind: 'number', default: 0.1, min: 0, max: 0.9, doc: 'dropout rate of the stochastic divergence view' },
  emaMomentum: { kind: 'number', default: 0.995, min: 0, max: 1, doc: 'momentum of the EMA divergence projection' },
  knowledge: { kind: 'bool', default: true, doc: 'token-knowledge-patch alignment (entity embeddings attend over patches and words)' },
  knowledgeWeight: weight('weight of the token-knowledge-patch loss'),
  localTau: pos(0.1, 'temperature of the entity attention and the token-level InfoNCE'),
  category: { kind: 'bool', default: true, doc: 'knowledge-guided category-level contrast (prototypes = knowledge-base finding categories)' },
  categoryWeight: weight('weight of the category-level loss'),
  categoryPrior: { kind: 'number', default: 0.5, min: 0, max: 1, doc: "share of a report's linked finding categories in its Sinkhorn targets" },
  sinkhornEps: pos(0.05, 'Sinkhorn entropic regularisation'),
  sinkhornIters: { kind: 'int', default: 3, min: 1, max: 1000, doc: 'Sinkhorn iterations' },
  protoTemp: pos(0.2, 'prototype softmax temperature'),
  itm: { kind: 'bool', default: true, doc: 'image-text matching head' },
  itmWeight: weight('weight of the image-text matching loss'),
  hardNegatives: { kind: 'bool', default: true, doc: 'ITM negatives sampled from the in-batch similarity (false: uniformly)' },
  textSwap: { kind: 'bool', default: true, doc: 'ITM negatives made by swapping finding/location words between reports' },
  gamma1: pos(4, 'sharpness of the word->region attention of unlinked words and of the ITM fusion'),
};

/** Ablation name -> the switch it fixes. */
export const MLIP_ABLATIONS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = Object.freeze({
  'mlip-no-div': { divergence: 'off' },
  'mlip-no-knowledge': { knowledge: false },
  'mlip-no-category': { category: false },
});

export const MLIP_VARIANTS: readonly string[] = Object.freeze(['mlip', ...Object.keys(MLIP_ABLATIONS)]);

/** The spec of `mlip` or of an ablation (the fixed switch becomes the default). */
export function mlipSpecs(): Record<string, MethodConfigSpec> {
  const out: Record<string, MethodConfigSpec> = { mlip: MLIP_SPEC };
  for (const [name, fixed] of Object.entries(MLIP_ABLATIONS)) {
    const spec: MethodConfigSpec = { ...MLIP_SPEC };
    for (const [k, v] of Object.entries(fixed)) spec[k] = { ...spec[k], default: v } as MethodConfigSpec[string];
    out[name] = spec;
  }
  return out;
}

/** Rejects an ablation whose fixed switch was set back on, and term weights that switch nothing on. */
export function crossCheckMlip(name: string, cfg: Record<string, unknown>, path: string): void {
  const fixed = MLIP_ABLATIONS[name];
  if (fixed) {
    for (const [k, v] of Object.entries(fixed)) {
      if (cfg[k] !== v) {
        throw new ConfigError(`${path}.${k}: method '${name}' is the ablation with ${k} = ${JSON.stringify(v)}; use method 'mlip' to set it to ${JSON.stringify(cfg[k])}`, `${path}.${k}`);
      }
    }
  }
  const active = [
    (cfg.globalWeight as number) > 0,
    cfg.divergence !== 'off' && (cfg.divWeight as number) > 0,
    cfg.knowledge === true && (cfg.knowledgeWeight as number) > 0,
    cfg.category === true && (cfg.categoryWeight as number) > 0,
    cfg.itm === true && (cfg.itmWeight as number) > 0,
  ];
  if (!active.some(Boolean)) throw new ConfigError(`${path}: every MLIP loss term is off or has weight 0`, path);
}

/** Typed view of a resolved MLIP config. */
export interface MlipConfig {
  tau: number;
  globalWeight: number;
  divergence: 'ema' | 'stochastic' | 'off';
  divWeight: number;
  divDropout: number;
  emaMomentum: number;
  knowledge: boolean;
  knowledgeWeight: number;
  localTau: number;
  category: boolean;
  categoryWeight: number;
  categoryPrior: number;
  sinkhornEps: number;
  sinkhornIters: number;
  protoTemp: number;
  itm: boolean;
  itmWeight: number;
  hardNegatives: boolean;
  textSwap: boolean;
  gamma1: number;
}

export function asMlipConfig(cfg: Record<string, unknown>): MlipConfig {
  return cfg as unknown as MlipConfig;
}
