// train.evalEvery: word-level metrics while training, on the synthetic benchmark's ground truth.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineEvent, MetricEvent } from '../../../src/protocol/events';
import { resolveRunConfig, configHash } from '../../../src/core/train/run-config';
import { runTraining } from '../../../src/core/train/trainer';
import { initBackend } from '../../../src/core/runtime/backend';
import { readDataset } from '../../../src/core/data/manifest';
import { probeStudies } from '../../../src/core/train/word-level-probe';
import { tinyConfig, tinySynth } from '../../helpers/tiny';

let data: string;
before(async () => {
  data = await tinySynth(40, 4, 64);
});

async function train(evalEvery: number): Promise<MetricEvent[]> {
  const backend = await initBackend('wasm');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 4, evalEvery, evalStudies: 6 } }), 'reclf');
  const events: EngineEvent[] = [];
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-probe-'));
  const r = await runTraining({
    runDir, dataDir: data, config, resume: false, cancel: { requested: false }, backend: backend.name, device: backend.device,
    listener: { emit: (e) => events.push(e), log: () => {} },
  });
  assert.equal(r.status, 'ok');
  // Monitoring only: the feature cache of `reclf eval` is not written by a training run.
  assert.equal(fs.existsSync(path.join(runDir, 'eval', 'cache')), false);
  return events.filter((e): e is MetricEvent => e.type === 'metric');
}

test('evalEvery emits word-level metrics with their uniform baselines before training and every N steps', async () => {
  const metrics = await train(2);
  const at = (name: string): number[] => metrics.filter((m) => m.name === name).map((m) => m.step);
  assert.deepEqual(at('pointing_game'), [0, 2, 4]);
  for (const name of ['mass_inside', 'mass_inside_uniform', 'relation_auroc', 'relation_auroc_uniform', 'relation_study_auroc', 'importance_auroc', 'attention_entropy_uniform']) {
    assert.deepEqual(at(name), [0, 2, 4], name);
  }
  for (const m of metrics.filter((x) => x.step === 4 && x.split === 'valid')) {
    if (/auroc|pointing|mass/.test(m.name)) assert.ok(m.value >= 0 && m.value <= 1, `${m.name} = ${m.value}`);
  }
  // Uniform attention puts the boxes' share of the image inside them: small, never zero.
  const uniform = metrics.find((m) => m.name === 'mass_inside_uniform')!.value;
  assert.ok(uniform > 0 && uniform < 0.5, `uniform mass inside ${uniform}`);
  const entropy = metrics.find((m) => m.name === 'attention_entropy' && m.step === 0)!.value;
  const entropyUniform = metrics.find((m) => m.name === 'attention_entropy_uniform')!.value;
  assert.ok(entropy <= entropyUniform + 1e-6, 'no distribution has more entropy than uniform');
});

test('evalEvery 0 turns the probe off, and it is not part of the config hash (a run resumes whatever it is)', async () => {
  const metrics = await train(0);
  assert.equal(metrics.some((m) => m.name === 'pointing_game'), false);
  const a = resolveRunConfig(tinyConfig({ train: { evalEvery: 0 } }), 'reclf');
  const b = resolveRunConfig(tinyConfig({ train: { evalEvery: 50, evalStudies: 9 } }), 'reclf');
  assert.equal(configHash(a), configHash(b));
  assert.notEqual(configHash(a), configHash(resolveRunConfig(tinyConfig({ train: { lr: 1e-4 } }), 'reclf')));
});

test('probeStudies keeps the first studies with word offsets and boxes or a mask', () => {
  const studies = readDataset(data).studies.filter((s) => s.split === 'valid');
  const picked = probeStudies(studies, 3);
  assert.ok(picked.length <= 3 && picked.length > 0);
  for (const s of picked) assert.ok(s.words!.every((w) => w.start !== undefined) && ((s.boxes?.length ?? 0) > 0 || s.maskPath));
  const normal = studies.find((s) => !(s.boxes?.length) && !s.maskPath);
  if (normal) assert.equal(probeStudies([normal], 5).length, 0, 'a study with nothing to ground is not probed');
});
