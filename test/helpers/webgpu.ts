// Shared by the webgpu tier: whether Dawn finds an adapter here (a real GPU, or Mesa's software
// llvmpipe that .ci/run installs), and a small real batch to compare backends on.
import path from 'node:path';
import { probeBackend, initBackend } from '../../src/core/runtime/backend';
import { readDataset } from '../../src/core/data/manifest';
import { ImageLoader } from '../../src/core/data/image-loader';
import { WordPieceTokenizer, buildVocab } from '../../src/core/text';
import { resolveRunConfig, type RunConfig } from '../../src/core/train/run-config';
import { linkStudyWords, loadHostBatch, prepareStudies, type HostBatch } from '../../src/core/train/batches';
import { defaultKnowledgeBase } from '../../src/core/knowledge/kb';
import { tinyConfig, tinySynth } from './tiny';

/** Why the webgpu tier cannot run here, or undefined when it can (leaves webgpu active). */
export async function webgpuSkipReason(): Promise<string | undefined> {
  process.env.XDG_RUNTIME_DIR ??= path.join(require('node:os').tmpdir());
  const probe = await probeBackend('webgpu');
  if (probe.available) return undefined;
  return `webgpu backend unavailable (${probe.reason}); .ci/run installs Mesa's software Vulkan driver for this tier`;
}

export async function useBackend(name: 'cpu' | 'webgpu' | 'wasm'): Promise<void> {
  await initBackend(name);
}

export interface Fixture {
  dataDir: string;
  tokenizer: WordPieceTokenizer;
}

export async function makeFixture(n = 16): Promise<Fixture> {
  const dataDir = await tinySynth(n, 3, 64);
  const ds = readDataset(dataDir);
  const tokens = buildVocab(ds.studies.map((s) => s.report), { size: 300, minFrequency: 1, lowerCase: true });
  return { dataDir, tokenizer: WordPieceTokenizer.fromTokens(tokens, { lowerCase: true }) };
}

/** A run config of the tiny sizes with `model`/`method` overrides and the fixture's vocabulary. */
export function smallConfig(fx: Fixture, method: Record<string, unknown>, model: Record<string, unknown> = {}): RunConfig {
  const raw = tinyConfig({ method }) as { model: Record<string, unknown>; text: Record<string, unknown> };
  const merged = { ...raw, model: { ...raw.model, ...model }, text: { ...raw.text, vocabSize: fx.tokenizer.vocabSize } };
  const cfg = resolveRunConfig(merged, String(method.name));
  return { ...cfg, model: { ...cfg.model, text: { ...cfg.model.text, vocabSize: fx.tokenizer.vocabSize } } };
}

/** The first `batch` studies of the fixture as a host batch (no augmentation), linked when the method needs it. */
export async function hostBatch(fx: Fixture, config: RunConfig, batch: number, linked: boolean): Promise<HostBatch> {
  const ds = readDataset(fx.dataDir);
  const T = config.model.text.maxLength;
  const prepared = prepareStudies(ds.studies.slice(0, batch), fx.tokenizer, T);
  if (linked) linkStudyWords(prepared, defaultKnowledgeBase());
  const loader = new ImageLoader({ workers: 0, size: config.model.image.imageSize, augment: config.data.augment });
  try {
    return await loadHostBatch(loader, prepared, prepared.map((_, i) => i), {
      seed: 1, epoch: 0, augment: false, maxLength: T, maxWords: config.model.maxWords, imageSize: config.model.image.imageSize,
    });
  } finally {
    await loader.close();
  }
}
