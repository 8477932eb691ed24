// Alignment method names, as a user may name them (`reclf train --method`, `method.name` in a
// *.reclf.json, the `reclf.defaultMethod` setting). A plain list with no TF.js behind it, so the
// extension and the webview can import it. src/core/align/registry.ts builds the methods; a test
// (test/protocol/lists.test.ts) keeps its factory keys, package.json and the config schema equal
// to this list.
export const METHOD_NAMES = [
  'convirt',
  'gloria',
  'mgca',
  'reclf',
  // MLIP and its ablations (src/core/align/mlip/config.ts MLIP_VARIANTS)
  'mlip',
  'mlip-no-div',
  'mlip-no-knowledge',
  'mlip-no-category',
] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** The method proposed first when nothing else says (the config default). */
export const DEFAULT_METHOD: MethodName = 'reclf';

export function isMethodName(x: unknown): x is MethodName {
  return typeof x === 'string' && (METHOD_NAMES as readonly string[]).includes(x);
}
