import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accumulateRun, chartGroups, emptyRun, MAX_POINTS, metricFamily, polylinePoints, runStatusText, seriesBounds } from '../../webview/curves';
import { accumulateJob, emptyJob, jobStatusText } from '../../webview/jobs';
import { bestPerColumn, formatCell } from '../../webview/tables';
import type { EngineEvent } from '../../src/protocol/events';

test('accumulateRun folds progress, metrics, errors and the final status', () => {
  const ev: EngineEvent[] = [
    { type: 'run_started', run_id: 'r1', backend: 'tfjs-cpu', device: 'cpu', config: {} },
    { type: 'progress', step: 1, total_steps: 10, epoch: 0, loss: 2.5, lr: 1e-3, items_per_s: 10, eta_s: 9 },
    { type: 'progress', step: 2, total_steps: 10, epoch: 0, loss: Number.NaN, lr: 1e-3, items_per_s: 10, eta_s: 8 },
    { type: 'metric', name: 'auroc', value: 0.7, step: 2, split: 'valid' },
    { type: 'warning', message: 'skipped record' },
    { type: 'error', code: 'E_DATA', message: 'bad image' },
    { type: 'run_finished', status: 'failed', summary: {} },
  ];
  const v = accumulateRun(emptyRun('r1'), ev);
  assert.equal(v.backend, 'tfjs-cpu');
  assert.deepEqual(v.loss, [[1, 2.5]]); // NaN loss not plotted
  assert.equal(v.step, 2);
  assert.deepEqual(v.metrics['auroc (valid)'], [[2, 0.7]]);
  assert.equal(v.warnings, 1);
  assert.equal(v.error, 'E_DATA: bad image');
  assert.equal(v.status, 'failed');
});

test('long series are decimated but keep their first and latest points', () => {
  const v = emptyRun('r');
  const ev: EngineEvent[] = [];
  for (let s = 1; s <= 5000; s++) ev.push({ type: 'progress', step: s, total_steps: 5000, epoch: 0, loss: 1 / s, lr: 0, items_per_s: 0, eta_s: 0 });
  accumulateRun(v, ev);
  assert.ok(v.loss.length <= MAX_POINTS && v.loss.length > MAX_POINTS / 4, `${v.loss.length}`);
  assert.deepEqual(v.loss[0], [1, 1]);
  assert.equal(v.loss.at(-1)![0], 5000);
  for (let k = 1; k < v.loss.length; k++) assert.ok(v.loss[k][0] > v.loss[k - 1][0]);
});

test('polylinePoints maps bounds to the plot box with y up', () => {
  const b = seriesBounds([[[0, 0], [10, 5]]])!;
  assert.equal(polylinePoints([[0, 0], [10, 5], [5, 2.5]], b, 100, 50), '0.0,50.0 100.0,0.0 50.0,25.0');
  assert.equal(seriesBounds([[]]), undefined);
  assert.deepEqual(seriesBounds([[[3, 1]]]), { x0: 3, x1: 4, y0: 0.5, y1: 1.5 });
});

test('tables: best row per numeric column, display formatting', () => {
  const t = { title: 't', columns: ['v', 'a', 'b'], rows: [['x', 0.5, null], ['y', 0.9, 3], ['z', 0.1, 'n/a']] };
  assert.deepEqual(bestPerColumn(t), [undefined, 1, 1]);
  assert.equal(formatCell(null), '–');
  assert.equal(formatCell(0.84201), '0.8420');
  assert.equal(formatCell(12), '12');
  assert.equal(formatCell(123.456), '123.5');
});

test('runStatusText: the run header names the device by its short label', () => {
  const v = accumulateRun(emptyRun('r1'), [
    { type: 'run_started', run_id: 'r1', backend: 'webgpu', device: 'gpu (WebGPU/Dawn: nvidia ampere NVIDIA H100)', config: {} },
    { type: 'progress', step: 200, total_steps: 300, epoch: 4, loss: 1, lr: 1e-3, items_per_s: 10, eta_s: 50 },
    { type: 'warning', message: 'w' },
  ]);
  assert.equal(runStatusText(v), ' · running · step 200/300 · epoch 4 · ETA 50 s · NVIDIA H100 · 1 warning');
  // a software adapter, from the adapter field; a resume on another backend replaces it
  accumulateRun(v, [{ type: 'run_started', run_id: 'r1', backend: 'webgpu', device: 'gpu (WebGPU/Dawn: mesa software llvmpipe)', config: {},
    adapter: { vendor: 'mesa', architecture: 'software', description: 'llvmpipe (LLVM 15.0.6, 256 bits)', software: true } }]);
  assert.match(runStatusText(v), / · software GPU \(llvmpipe\) · /);
  accumulateRun(v, [{ type: 'run_started', run_id: 'r1', backend: 'wasm', device: 'cpu (wasm SIMD, XNNPACK, 1 thread)', config: {} },
    { type: 'run_finished', status: 'ok', summary: {} }]);
  assert.equal(v.adapter, undefined);
  assert.equal(runStatusText(v), ' · finished · step 200/300 · epoch 4 · cpu · 1 warning');
  // no run_started yet: no device
  assert.equal(runStatusText(emptyRun('r2')), ' · running · step 0/0 · epoch 0');
});

test('history across a resume: the re-run steps replace the old tail, the resume is marked', () => {
  const p = (step: number, loss: number): EngineEvent => ({ type: 'progress', step, total_steps: 6, epoch: 0, loss, lr: 0, items_per_s: 0, eta_s: 0 });
  const v = accumulateRun(emptyRun('r'), [
    { type: 'run_started', run_id: 'r', backend: 'wasm', device: 'cpu', config: {} }, p(1, 9), p(2, 8), p(3, 7),
    { type: 'run_finished', status: 'cancelled', summary: {} },
    { type: 'run_started', run_id: 'r', backend: 'wasm', device: 'cpu', config: {}, resumed_from_step: 2 }, p(3, 6.5), p(4, 6),
  ]);
  assert.deepEqual(v.loss, [[1, 9], [2, 8], [3, 6.5], [4, 6]]);
  assert.deepEqual(v.resumes, [2]);
  assert.equal(v.status, 'running');
});

test('small multiples: losses alone, metric families together, validation beside training, baselines dashed', () => {
  const m = (name: string, value: number, split = 'valid'): EngineEvent => ({ type: 'metric', name, value, step: 5, split });
  const v = accumulateRun(emptyRun('r'), [
    { type: 'progress', step: 5, total_steps: 9, epoch: 0, loss: 14, lr: 0, items_per_s: 0, eta_s: 0 },
    m('loss', 14, 'train'), m('loss', 15), m('i2t_acc1', 0.2), m('t2i_acc5', 0.5), m('local_loss', 3, 'train'),
    m('grounding/pointing_game', 0.1), m('grounding/pointing_game_uniform', 0.06), m('importance/pooled_auroc', 0.55),
  ]);
  const groups = chartGroups(v).map((g) => [g.title, g.series.map((s) => `${s.name}:${s.cls}`)]);
  assert.deepEqual(groups, [
    ['loss', ['loss (train):c0', 'loss (valid):c1']],
    ['retrieval', ['i2t_acc1 (valid):c1', 't2i_acc5 (valid):c1']],
    ['local_loss', ['local_loss (train):c0']],
    ['grounding', ['grounding/pointing_game (valid):c1', 'grounding/pointing_game_uniform (valid):baseline']],
    ['importance', ['importance/pooled_auroc (valid):c1']],
  ]);
  assert.equal(metricFamily('relations/pair_auroc'), 'relations');
  assert.equal(metricFamily('random_init_top1_accuracy'), 'relations');
});

test('evaluation and ablation jobs read as jobs, not as a training run at step 0/0', () => {
  const e = accumulateJob(emptyJob('r1', 'eval'), [
    { type: 'run_started', run_id: 'r1', job: 'eval', backend: 'wasm', device: 'cpu', config: {} },
    { type: 'eval_progress', task: 'grounding', index: 3, total: 7, eta_s: 20 },
  ]);
  assert.equal(jobStatusText(e), 'running · task grounding (3/7) · ETA 20 s');
  accumulateJob(e, [{ type: 'eval_result', task: 'grounding', metrics: {} }, { type: 'run_finished', status: 'ok', summary: {} }]);
  assert.equal(jobStatusText(e), 'finished · 1 task done');
  const a = accumulateJob(emptyJob('ab', 'ablation'), [
    { type: 'ablation_started', ablation_dir: '/a', variants: ['reclf', 'convirt'], seeds: [0], total_runs: 2, executor: 'local' },
    { type: 'ablation_task', variant: 'reclf', seed: 0, index: 1, total: 2, state: 'finished', run_dir: '/a/reclf-seed0' },
    { type: 'ablation_task', variant: 'convirt', seed: 0, index: 2, total: 2, state: 'running', run_dir: '/a/convirt-seed0' },
  ]);
  assert.equal(jobStatusText(a), 'running · run 2 of 2: convirt seed 0 · 1/2 done');
});
