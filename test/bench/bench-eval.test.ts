import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { resolveRunConfig } from '../../src/core/train/run-config';
import { runTraining } from '../../src/core/train/trainer';
import { initBackend } from '../../src/core/runtime/backend';
import { benchEval, formatEvalBench } from '../../src/bench/bench-eval';
import { tinyConfig, tinySynth } from '../helpers/tiny';

test('bench eval: a cold pass encodes features, the cached pass does not, and the user run is left untouched', async () => {
  const backend = (await initBackend(process.env.RECLF_TEST_BACKEND ?? 'wasm')).name;
  const data = await tinySynth(24, 4, 32);
  const runDir = path.join(data, 'run');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 1 } }), 'reclf');
  await runTraining({ runDir, dataDir: data, config, resume: false, cancel: { requested: false }, backend, device: 'test', listener: { emit: () => {}, log: () => {} } });
  const r = await benchEval({ runDir, dataDir: data, studies: 24, tasks: ['retrieval', 'grounding'], split: 'valid', backend, device: 'test', log: () => {} });
  assert.deepEqual(r.passes.map((p) => p.pass), ['cold', 'cached']);
  assert.ok(r.passes[0].encodeSeconds > 0);
  assert.equal(r.passes[1].encodeSeconds, 0);
  assert.deepEqual(r.passes[1].tasks.map((t) => t.task), ['retrieval', 'grounding']);
  assert.equal(r.studies, 24);
  assert.equal(fs.existsSync(path.join(runDir, 'eval')), false, 'the bench evaluates a copy of the run');
  assert.match(formatEvalBench(r), /\| cold \| [\s\S]*\| cached \|/);
});
