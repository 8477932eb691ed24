// The TF.js backends the engine can run on, in the order `auto` tries them (fastest first).
// The one list: the engine's loader, its CLI help, the config schema and the extension's
// `reclf.defaultBackend` setting are all derived from (or tested against) it.
export const BACKEND_ORDER = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

/** What a user may ask for: a backend by name, or `auto`. */
export const BACKEND_CHOICES = ['auto', ...BACKEND_ORDER] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
