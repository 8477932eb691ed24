// Alignment methods by name: the only place training, evaluation and export look a method up.
import type { AlignMethod, MethodFactory, MethodFactoryArgs } from './types';
import { ConfigError } from '../errors';
import { createConvirt } from './convirt';
import { createGloria } from './gloria';
import { createMgca } from './mgca';
import { createReclf } from './reclf';
import { createMlip } from './mlip/mlip';
import { MLIP_VARIANTS } from './mlip/config';

const FACTORIES: Record<string, MethodFactory> = {
  convirt: createConvirt,
  gloria: createGloria,
  mgca: createMgca,
  reclf: createReclf,
  // mlip and its ablations (one switch fixed each; same parameters under align.mlip.)
  ...Object.fromEntries(MLIP_VARIANTS.map((v): [string, MethodFactory] => [v, (a) => createMlip(a, v)])),
};

export const METHOD_NAMES: readonly string[] = Object.freeze(Object.keys(FACTORIES));

/** Builds method `name`; its parameters are created in args.params under "align.<name>.". */
export function createMethod(name: string, args: MethodFactoryArgs): AlignMethod {
  const factory = FACTORIES[name];
  if (!factory) throw new ConfigError(`method.name: unknown alignment method '${name}' (expected one of ${METHOD_NAMES.join(', ')})`, 'method.name');
  return factory(args);
}

export { resolveMethodConfig } from './method-config';
