// Shared by engine tests: a tiny synthetic dataset and a tiny model config that trains in
// seconds on the pure-JS backends.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateDataset } from '../../src/core/data/synth/generate';

export const repoRoot = path.resolve(__dirname, '..', '..');

export async function tinySynth(n = 48, seed = 3, size = 64): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-tiny-'));
  await generateDataset({ out: dir, n, seed, size, split: [0.75, 0.25, 0] });
  return dir;
}

export function tinyConfig(overrides: { method?: Record<string, unknown>; train?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    data: { workers: 0, prefetch: 1, augment: { enabled: true } },
    text: { vocabSize: 300 },
    model: {
      image: { name: 'cnn-small', imageSize: 32, widths: [8, 8, 16, 16], blocks: [1, 1, 1, 1] },
      text: { layers: 1, hidden: 32, heads: 2, intermediate: 64, maxLength: 40 },
      projDim: 16, maxWords: 24, headHidden: 32,
    },
    method: { ...(overrides.method ?? {}) },
    // evalEvery 0: the word-level readings are tested on their own (test/core/train/word-level-probe.test.ts).
    train: { batchSize: 8, lr: 3e-3, warmupSteps: 2, logEvery: 1, checkpointEvery: 2, keepLast: 2, evalEvery: 0, ...(overrides.train ?? {}) },
  };
}
