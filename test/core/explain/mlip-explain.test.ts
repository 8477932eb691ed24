// `explain` on an exported MLIP model: the report's words are linked to the knowledge base and
// fed as entity_ids, so a linked word shows its entity's attention (not the GLoRIA fallback).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { resolveRunConfig } from '../../../src/core/train/run-config';
import { runTraining } from '../../../src/core/train/trainer';
import { initBackend } from '../../../src/core/runtime/backend';
import { readDataset } from '../../../src/core/data/manifest';
import { exportRun } from '../../../src/core/export/export-run';
import { explain, knowledgeBaseFor, loadExplainModel, reportEntityIds } from '../../../src/core/explain/explain';
import { defaultKnowledgeBase } from '../../../src/core/knowledge/kb';
import { DataError } from '../../../src/core/errors';
import { validateExplanation } from '../../../src/protocol/explain';
import { tinyConfig, tinySynth } from '../../helpers/tiny';

const REPORT = 'Small right pleural effusion with basal atelectasis. No pneumothorax. The heart is normal in size.';
let data: string;
let modelFile: string;

before(async () => {
  const backend = (await initBackend(process.env.RECLF_TEST_BACKEND ?? 'wasm')).name;
  data = await tinySynth(24, 4, 64);
  const runDir = path.join(data, 'run-mlip');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 2 } }), 'mlip');
  await runTraining({ runDir, dataDir: data, config, resume: false, cancel: { requested: false }, backend, device: 'test', listener: { emit: () => {}, log: () => {} } });
  modelFile = path.join(runDir, 'model.onnx');
  const r = await exportRun(runDir, modelFile, 'last');
  assert.deepEqual(r.metadata.extra_inputs, ['entity_ids']);
  assert.equal(r.metadata.knowledge_base, defaultKnowledgeBase().version);
});

test('explain links the report to the knowledge base and uses entity attention for linked words', async () => {
  const model = await loadExplainModel(modelFile, {}, 'cpu');
  try {
    assert.equal(model.meta.method, 'mlip');
    assert.equal(model.session.hasEntityIds, true);
    const imagePath = readDataset(data).studies[0].imagePath;
    const linkedP = await explain(model, { imagePath, report: REPORT });
    const plainP = await explain(model, { imagePath, report: REPORT, linkEntities: false });
    assert.deepEqual(validateExplanation(linkedP), []);
    assert.deepEqual(validateExplanation(plainP), []);
    const n = linkedP.words.length;
    const m = linkedP.grid[0] * linkedP.grid[1];
    const ids = reportEntityIds(REPORT, linkedP.words, n, defaultKnowledgeBase());
    const effusion = linkedP.words.findIndex((w) => w.text.toLowerCase() === 'effusion');
    assert.ok(effusion >= 0 && ids[effusion] >= 0, 'effusion is linked');
    const rowDiff = (a: Float32Array, b: Float32Array, i: number, w: number): number =>
      Math.max(...Array.from(a.subarray(i * w, (i + 1) * w), (v, j) => Math.abs(v - b[i * w + j])));
    let linked = 0;
    for (let i = 0; i < n; i++) {
      const d = rowDiff(linkedP.attention, plainP.attention, i, m);
      if (ids[i] >= 0) {
        linked++;
        assert.ok(d > 1e-4, `linked word '${linkedP.words[i].text}' kept the fallback attention (diff ${d})`);
        assert.ok(rowDiff(linkedP.relation, plainP.relation, i, n) > 1e-4, `linked word '${linkedP.words[i].text}' kept the identity relation`);
      } else {
        assert.ok(d < 1e-5, `unlinked word '${linkedP.words[i].text}' changed (diff ${d})`);
      }
    }
    assert.ok(linked >= 3, `only ${linked} linked words`);
    // The fallback relation of an unlinked model is the identity; with links, importance moves.
    assert.ok(rowDiff(linkedP.importance, plainP.importance, 0, n) > 1e-4);
  } finally {
    await model.session.close();
  }
});

test('knowledgeBaseFor rejects a model linked against another major knowledge-base version', () => {
  assert.equal(knowledgeBaseFor({}, 'm.onnx'), defaultKnowledgeBase());
  assert.equal(knowledgeBaseFor({ knowledge_base: defaultKnowledgeBase().version }, 'm.onnx'), defaultKnowledgeBase());
  assert.throws(() => knowledgeBaseFor({ knowledge_base: '99.0.0' }, 'm.onnx'), (e: unknown) => e instanceof DataError && /m\.onnx.*99\.0\.0/.test((e as Error).message));
});
