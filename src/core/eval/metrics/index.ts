// Evaluation metrics: pure functions over plain arrays, each pinned by hand-worked unit tests.
export * from './auroc';
export * from './classification';
export * from './retrieval';
export * from './segmentation';
export * from './grounding';
export * from './relations';
export * from './importance';
export * from './detection';
export * from './bootstrap';
export { mean, median } from './validate';
