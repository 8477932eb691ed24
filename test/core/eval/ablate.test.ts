import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { initBackend } from '../../../src/core/runtime/backend';
import { runAblation, type AblationOptions } from '../../../src/core/eval/ablate';
import { tinyConfig, tinySynth } from '../../helpers/tiny';

test('runAblation: trains and evaluates each variant x seed, then completes a widened task list without retraining', async () => {
  const backend = (await initBackend(process.env.RECLF_TEST_BACKEND ?? 'wasm')).name;
  const data = await tinySynth(24, 6, 32);
  const out = path.join(data, 'ablation');
  const logs: string[] = [];
  const opts = (tasks: AblationOptions['evaluate']['tasks']): AblationOptions => ({
    dataDir: data, out, methods: ['convirt', 'reclf-no-srm'], seeds: 1, budget: 2, baseConfig: tinyConfig(), backend, device: 'test',
    listener: { emit: () => {}, log: (m) => logs.push(m) },
    evaluate: { tasks, split: 'valid', score: 'global', pooling: 'max', backend, createdBy: 'test', seeds: [0] },
  });
  const first = await runAblation(opts(['retrieval']));
  assert.deepEqual(first.rows.map((r) => r.variant), ['convirt', 'reclf-no-srm']);
  assert.ok(first.rows.every((r) => r.values['retrieval/i2t_R@1']?.length === 1 && !r.values['grounding/pointing_game']));
  const trained = fs.statSync(path.join(out, 'convirt-seed0', 'train-summary.json')).mtimeMs;
  logs.length = 0;
  const second = await runAblation(opts(['retrieval', 'grounding']));
  assert.equal(fs.statSync(path.join(out, 'convirt-seed0', 'train-summary.json')).mtimeMs, trained, 'not retrained');
  assert.ok(logs.some((m) => m === 'convirt seed 0: evaluating grounding'));
  assert.ok(!logs.some((m) => /training/.test(m)));
  assert.deepEqual(second.rows[0].values['retrieval/i2t_R@1'], first.rows[0].values['retrieval/i2t_R@1']);
  assert.equal(second.rows[0].values['grounding/pointing_game']?.length, 1);
  logs.length = 0;
  await runAblation(opts(['retrieval', 'grounding']));
  assert.deepEqual(logs, ['convirt seed 0: already evaluated, skipped', 'reclf-no-srm seed 0: already evaluated, skipped']);
  const md = fs.readFileSync(path.join(out, 'ablation.md'), 'utf8');
  assert.match(md, /\| reclf-no-srm \| /);
});
