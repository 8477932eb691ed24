// The run store: one source of truth for the tree, the panel and the notifications, read from the
// run folders' events files (hand-written fixtures here, in the engine's formats).
import { mock } from './vscode-mock';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunStore, type StoreEvents } from '../../src/extension/run-store';
import { AblationItem, RunItem, RunsTreeProvider } from '../../src/extension/runs-tree';
import { ablationTable, compareTable, readRunResults } from '../../src/extension/results';
import type { EngineEvent } from '../../src/protocol/events';

const line = (e: EngineEvent): string => JSON.stringify(e) + '\n';
const started = (extra: Partial<Extract<EngineEvent, { type: 'run_started' }>> = {}): EngineEvent => ({ type: 'run_started', run_id: 'r', job: 'train', backend: 'wasm', device: 'cpu', config: {}, ...extra });
const progress = (step: number, total = 5): EngineEvent => ({ type: 'progress', step, total_steps: total, epoch: 0, loss: 10 - step, lr: 1e-3, items_per_s: 10, eta_s: 3 });

function folder(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-store-'));
}

function writeRun(dir: string, events: EngineEvent[], extra: Record<string, unknown> = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ method: { name: 'reclf' } }));
  fs.writeFileSync(path.join(dir, 'events.jsonl'), events.map(line).join(''));
  for (const [f, v] of Object.entries(extra)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), typeof v === 'string' ? v : JSON.stringify(v));
  }
}

test('a cancelled then resumed run: finished, whole history kept, no stale "running"', () => {
  const root = folder();
  const dir = path.join(root, 'r1');
  writeRun(dir, [started(), progress(1), progress(2), { type: 'checkpoint', path: 'c', step: 2 }, progress(3),
    { type: 'run_finished', status: 'cancelled', summary: {} }, started({ resumed_from_step: 2 }), progress(3), progress(4), progress(5),
    { type: 'run_finished', status: 'ok', summary: { step: 5 } }]);
  const store = new RunStore({ folder: () => root, isRunning: () => false, watch: false });
  store.scan();
  const [e] = store.list();
  assert.deepEqual([e.name, e.kind, e.job.state, e.status], ['r1', 'run', 'finished', 'ok']);
  assert.equal(store.history(dir, 'train').filter((x) => x.type === 'progress').length, 6);
  assert.match(String(new RunItem(e).description), /^reclf · finished 5\/5/);
  store.dispose();
});

test('a run is followed live: events arrive without a refresh; a dead process leaves it incomplete', () => {
  const root = folder();
  const dir = path.join(root, 'live');
  writeRun(dir, [started(), progress(1, 90)]);
  let running = true;
  let now = Date.now();
  const store = new RunStore({ folder: () => root, isRunning: () => running, watch: false, now: () => now });
  const seen: StoreEvents[] = [];
  store.onEvents((x) => seen.push(x));
  let changes = 0;
  store.onDidChange(() => changes++);
  store.scan();
  assert.equal(seen[0].reset, true);
  assert.equal(store.get(dir)!.job.state, 'running');
  fs.appendFileSync(path.join(dir, 'events.jsonl'), line(progress(30, 90)));
  assert.equal(store.scan(), true);
  assert.deepEqual([seen.at(-1)!.reset, seen.at(-1)!.events.length], [false, 1]);
  const item = new RunItem(store.get(dir)!);
  assert.match(String(item.description), /running · step 30\/90 · loss -20\.0000 · ETA 3s/);
  assert.equal(item.contextValue, 'reclfRun.running');
  // The process ended without run_finished (killed): not "running" any more once its events are old.
  running = false;
  now += 10 * 60_000;
  assert.equal(store.get(dir)!.job.state, 'incomplete');
  assert.equal(store.scan(), false, 'nothing new to read');
  assert.ok(changes >= 2);
  store.dispose();
});

test('an evaluation is its own job (RUN/eval/events.jsonl) with task progress, then results to show', () => {
  const root = folder();
  const dir = path.join(root, 'r2');
  writeRun(dir, [started(), progress(5), { type: 'run_finished', status: 'ok', summary: {} }], {
    'eval/events.jsonl': [started({ job: 'eval' }), { type: 'eval_progress', task: 'grounding', index: 2, total: 3, eta_s: 20 } as EngineEvent].map(line).join(''),
    'eval/zeroshot.json': { task: 'zeroshot', metrics: { accuracy: 0.44, auroc: 0.72, macro_f1: 0.48, 'auroc/Edema': 1 } },
    'eval/grounding.json': { task: 'grounding', metrics: { pointing_game: 0.11, random_init_pointing_game: 0.06, attention_mass_inside: 0.065, uniform_mass_inside: 0.059, studies: 72 } },
  });
  const store = new RunStore({ folder: () => root, isRunning: (d) => d === dir, watch: false });
  store.scan();
  const e = store.get(dir)!;
  assert.deepEqual([e.job.state, e.evalJob!.kind, e.evalJob!.state, e.evalTasks], ['finished', 'eval', 'running', ['grounding', 'zeroshot']]);
  const item = new RunItem(e);
  assert.match(String(item.description), /finished 5\/5 · evaluating: task grounding \(2\/3\) · ETA 20s/);
  assert.equal(item.contextValue, 'reclfRun.running.evaluated');
  const r = readRunResults(dir);
  assert.deepEqual(r.tasks.map((t) => t.task), ['zeroshot', 'grounding']);
  assert.deepEqual(r.tasks[1].headline, [['pointing_game', 0.11, 0.06], ['attention_mass_inside', 0.065, 0.059]]);
  assert.deepEqual(r.tasks[1].details, [['studies', 72]]);
  const cmp = compareTable('c', [r, { run: 'other', tasks: [{ task: 'zeroshot', headline: [['accuracy', 0.5, null]], details: [] }] }]);
  assert.deepEqual(cmp.rows[0], ['zeroshot/accuracy', 0.44, 0.5]);
  assert.equal(cmp.bestPer, 'row');
  store.dispose();
});

test('an ablation is a tree group of variant x seed runs with state and key metric; its table has mean ± std', () => {
  mock.reset();
  const root = folder();
  const dir = path.join(root, 'ablation-x');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), [
    { type: 'ablation_started', ablation_dir: dir, variants: ['reclf', 'convirt'], seeds: [0, 1], total_runs: 4, executor: 'local' },
    { type: 'ablation_task', variant: 'reclf', seed: 0, index: 1, total: 4, state: 'finished', run_dir: path.join(dir, 'reclf-seed0'), metric: { name: 'retrieval/i2t_R@1', value: 0.25 } },
    { type: 'ablation_task', variant: 'reclf', seed: 1, index: 2, total: 4, state: 'running', run_dir: path.join(dir, 'reclf-seed1') },
  ].map((e) => line(e as EngineEvent)).join(''));
  writeRun(path.join(dir, 'reclf-seed0'), [started(), progress(5), { type: 'run_finished', status: 'ok', summary: {} }],
    { 'eval/retrieval.json': { task: 'retrieval', metrics: { 'i2t_R@1': 0.25, 't2i_R@1': 0.2 } } });
  writeRun(path.join(dir, 'reclf-seed1'), [started(), progress(2)], { 'eval/retrieval.json': { task: 'retrieval', metrics: { 'i2t_R@1': 0.35, 't2i_R@1': 0.2 } } });
  const store = new RunStore({ folder: () => root, isRunning: (d) => d === dir, watch: false });
  store.scan();
  const tree = new RunsTreeProvider(store);
  const [group] = tree.getChildren();
  assert.ok(group instanceof AblationItem);
  assert.match(String(group.description), /^ablation · 2 variants × 2 seeds · run 2 of 4: reclf seed 1 · 1 done · 2 waiting$/);
  const cells = tree.getChildren(group);
  assert.deepEqual(cells.map((c) => [c.label, c.description]), [
    ['reclf · seed 0', 'finished · retrieval/i2t_R@1 25.0%'],
    ['reclf · seed 1', 'running · step 2/5 · loss 8.0000 · ETA 3s'],
    ['convirt · seed 0', 'pending'],
    ['convirt · seed 1', 'pending'],
  ]);
  assert.equal(group.command?.command, 'reclf.showAblation');
  assert.equal(tree.runs().length, 2, 'the ablation\'s runs are runs for the pickers');
  const table = ablationTable(dir)!;
  assert.deepEqual(table.columns, ['variant', 'retrieval/i2t_R@1', 'retrieval/t2i_R@1']);
  assert.deepEqual(table.rows[0][0], 'reclf');
  assert.ok(Math.abs((table.rows[0][1] as number) - 0.3) < 1e-9);
  assert.ok(Math.abs((table.spread![0][1] as number) - 0.05) < 1e-9);
  // The partial table and the final one (ablation.json) are one table in the panel: same key.
  assert.match(table.title, /runs evaluated so far/);
  assert.equal(table.key, `ablation:${path.resolve(dir)}`);
  tree.dispose();
  store.dispose();
});
