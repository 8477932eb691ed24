// The one fold of engine events that the tree, the panel and the notifications share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvents, describeProgress, emptyJob, settleState } from '../../src/extension/run-state';
import type { EngineEvent } from '../../src/protocol/events';

const progress = (step: number, loss = 1): EngineEvent => ({ type: 'progress', step, total_steps: 90, epoch: 0, loss, lr: 1e-3, items_per_s: 10, eta_s: 65 });

test('training: running with step, loss and ETA; a cancel ends it cancelled, not "running · ETA"', () => {
  const s = applyEvents(emptyJob('train'), [
    { type: 'run_started', run_id: 'r', job: 'train', backend: 'wasm', device: 'cpu', config: {} }, progress(30, 11.23456),
    { type: 'checkpoint', path: 'c', step: 30 },
  ]);
  assert.equal(s.state, 'running');
  assert.equal(describeProgress(s), 'step 30/90 · loss 11.2346 · ETA 1m 5s');
  applyEvents(s, [{ type: 'run_finished', status: 'cancelled', summary: {} }]);
  assert.equal(s.state, 'cancelled');
  assert.equal(describeProgress(s), 'step 30/90 · loss 11.2346');
  // A resume opens a new attempt: running again, the resumed step known.
  applyEvents(s, [{ type: 'run_started', run_id: 'r', backend: 'wasm', device: 'cpu', config: {}, resumed_from_step: 30 }, progress(31)]);
  assert.equal(s.state, 'running');
  assert.equal(s.resumedFromStep, 30);
  applyEvents(s, [{ type: 'error', code: 'io_error', message: 'disk full' }, { type: 'run_finished', status: 'failed', summary: {} }]);
  assert.deepEqual([s.state, s.error], ['failed', 'disk full']);
});

test('a job that started and never finished is running while alive, incomplete after', () => {
  const s = applyEvents(emptyJob('train'), [{ type: 'run_started', run_id: 'r', backend: 'wasm', device: 'cpu', config: {} }]);
  assert.equal(settleState(s, true), 'running');
  assert.equal(settleState(s, false), 'incomplete');
  applyEvents(s, [{ type: 'run_finished', status: 'ok', summary: {} }]);
  assert.equal(settleState(s, false), 'finished');
});

test('evaluation is its own kind: task i of n and the ETA, then results', () => {
  const s = applyEvents(emptyJob('train'), [
    { type: 'run_started', run_id: 'r', job: 'eval', backend: 'wasm', device: 'cpu', config: {} },
    { type: 'eval_progress', task: 'zeroshot', index: 1, total: 3, eta_s: -1 },
  ]);
  assert.equal(s.kind, 'eval');
  assert.equal(describeProgress(s), 'task zeroshot (1/3) · ETA ?');
  applyEvents(s, [{ type: 'eval_result', task: 'zeroshot', metrics: { accuracy: 0.4 } }, { type: 'eval_progress', task: 'retrieval', index: 2, total: 3, eta_s: 12 }]);
  assert.equal(describeProgress(s), 'task retrieval (2/3) · ETA 12s');
  applyEvents(s, [{ type: 'run_finished', status: 'ok', summary: {} }]);
  assert.deepEqual([s.state, describeProgress(s), s.results.zeroshot.accuracy], ['finished', '1 task done', 0.4]);
});

test('ablation: the grid announced up front, run k of n, requeued cells (Slurm)', () => {
  const s = applyEvents(emptyJob('train'), [
    { type: 'ablation_started', ablation_dir: '/a', variants: ['reclf', 'convirt'], seeds: [0], total_runs: 2, executor: 'local' },
  ]);
  assert.equal(s.kind, 'ablation');
  assert.equal(describeProgress(s), '2 runs · 0 done · 2 waiting');
  applyEvents(s, [{ type: 'ablation_task', variant: 'reclf', seed: 0, index: 1, total: 2, state: 'running', run_dir: '/a/reclf-seed0' }]);
  assert.equal(describeProgress(s), 'run 1 of 2: reclf seed 0 · 0 done · 1 waiting');
  applyEvents(s, [
    { type: 'ablation_task', variant: 'reclf', seed: 0, index: 1, total: 2, state: 'finished', run_dir: '/a/reclf-seed0', metric: { name: 'retrieval/i2t_R@1', value: 0.2 } },
    { type: 'ablation_task', variant: 'convirt', seed: 0, index: 2, total: 2, state: 'requeued', run_dir: '/a/convirt-seed0', job_id: '12_1' },
  ]);
  assert.equal(s.state, 'requeued');
  assert.equal(s.ablation!.cells['reclf/0'].metric!.value, 0.2);
  assert.equal(s.ablation!.cells['convirt/0'].jobId, '12_1');
});

test('ablation: over when every cell is (its events file has no run_finished); a failed cell says so', () => {
  const started: EngineEvent = { type: 'ablation_started', ablation_dir: '/a', variants: ['reclf', 'convirt'], seeds: [0], total_runs: 2, executor: 'local' };
  const task = (variant: string, index: number, state: 'running' | 'finished' | 'failed' | 'cancelled'): EngineEvent =>
    ({ type: 'ablation_task', variant, seed: 0, index, total: 2, state, run_dir: `/a/${variant}-seed0` });
  const s = applyEvents(emptyJob('ablation'), [started, task('reclf', 1, 'running'), task('reclf', 1, 'finished'), task('convirt', 2, 'running')]);
  assert.equal(s.state, 'running');
  applyEvents(s, [task('convirt', 2, 'finished')]);
  assert.equal(s.state, 'finished');
  assert.equal(settleState(s, true), 'finished', 'not "running" while the events file is fresh');
  const f = applyEvents(emptyJob('ablation'), [started, task('reclf', 1, 'finished'), task('convirt', 2, 'failed')]);
  assert.equal(f.state, 'failed');
  const c = applyEvents(emptyJob('ablation'), [started, task('reclf', 1, 'cancelled'), task('convirt', 2, 'cancelled')]);
  assert.equal(c.state, 'cancelled');
});
