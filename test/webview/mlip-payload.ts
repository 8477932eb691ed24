// A real MLIP explanation payload for the webview test: a tiny (untrained, seeded) MLIP model
// exported to ONNX, run by `explainImage` on the synthetic chest image with a report whose words
// link to the knowledge base, so the panel draws exactly what `reclf explain` sends for MLIP.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src/core/runtime/backend';
import { exportModel } from '../../src/core/export/export-model';
import { decodeImage } from '../../src/core/data/image-io';
import { explainImage, loadExplainModel } from '../../src/core/explain/explain';
import type { ExplanationPayload } from '../../src/protocol/explain';
import { tinyConfig, tinyModel, tinyTokenizer, TINY_MODEL, REPORTS } from '../core/export/fixture';
import { syntheticChestPng } from './payload';

export const MLIP_REPORT = REPORTS[0];

/** The payload and which words the model linked (entity_ids fed). */
export async function mlipPayload(): Promise<ExplanationPayload> {
  await initBackend('cpu');
  // 128 px gives the small CNN an 8x8 region grid: a heatmap with visible structure.
  const config = tinyConfig('mlip', {}, { ...TINY_MODEL, image: { ...TINY_MODEL.image, imageSize: 128 } });
  const built = await tinyModel(config);
  const tok = tinyTokenizer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-mlip-webview-'));
  const file = path.join(dir, 'mlip.onnx');
  try {
    fs.writeFileSync(file, exportModel({ model: config.model, method: config.method, params: await built.params.toRecord(), tokenizer: tok }).bytes);
  } finally {
    built.params.dispose();
  }
  const model = await loadExplainModel(file, { name: 'tiny-mlip' }, 'cpu');
  try {
    const image = await decodeImage(await syntheticChestPng(224), 'synthetic chest');
    return await explainImage(model, image, { report: MLIP_REPORT, sourcePath: 'synthetic/chest-mlip.png' });
  } finally {
    await model.session.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
