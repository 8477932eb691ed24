// The runs tree shows each run's device (from events.jsonl's run_started, else train-summary.json).
import { mock } from './vscode-mock';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readRunInfo } from '../../src/extension/run-info';
import { RunItem } from '../../src/extension/runs-tree';
import { RunStore, type RunEntry } from '../../src/extension/run-store';
import { emptyJob } from '../../src/extension/run-state';
import type { EngineEvent } from '../../src/protocol/events';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-runs-tree-'));
const line = (e: EngineEvent): string => JSON.stringify(e) + '\n';
const progress = (step: number): EngineEvent => ({ type: 'progress', step, total_steps: 100000, epoch: 0, loss: 1, lr: 1e-3, items_per_s: 10, eta_s: 1 });

function runFolder(events: EngineEvent[], files: Record<string, unknown> = {}): string {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ method: { name: 'mlip' } }));
  fs.writeFileSync(path.join(dir, 'events.jsonl'), events.map(line).join(''));
  for (const [f, v] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), JSON.stringify(v));
  return dir;
}

const H100 = 'gpu (WebGPU/Dawn: nvidia ampere NVIDIA H100)';

test('readRunInfo: the device of a run from its run_started', () => {
  const dir = runFolder([
    { type: 'run_started', run_id: 'r', backend: 'webgpu', device: H100, config: {} }, progress(10),
    { type: 'run_finished', status: 'ok', summary: {} },
  ]);
  const info = readRunInfo(dir, false);
  assert.deepEqual({ backend: info.backend, device: info.device, label: info.deviceLabel, kind: info.deviceKind, status: info.status, method: info.method },
    { backend: 'webgpu', device: H100, label: 'NVIDIA H100', kind: 'gpu', status: 'ok', method: 'mlip' });
});

test('readRunInfo: a long run\'s run_started is found at the head; a resume\'s in the tail wins', () => {
  const many = Array.from({ length: 2000 }, (_, i) => progress(i + 1)); // > 64 KiB of progress lines
  const first: EngineEvent = { type: 'run_started', run_id: 'r', backend: 'wasm', device: 'cpu (wasm SIMD, XNNPACK, 1 thread)', config: {} };
  const long = runFolder([first, ...many]);
  assert.ok(fs.statSync(path.join(long, 'events.jsonl')).size > 64 * 1024);
  const a = readRunInfo(long, true);
  assert.equal(a.deviceLabel, 'cpu');
  assert.equal(a.status, 'running');
  assert.equal(a.step, 2000);
  const resumed = runFolder([first, ...many, {
    type: 'run_started', run_id: 'r', backend: 'webgpu', device: 'gpu (WebGPU/Dawn: mesa software llvmpipe)', config: {}, resumed_from_step: 2000,
    adapter: { vendor: 'mesa', architecture: 'software', description: 'llvmpipe (LLVM 15.0.6, 256 bits)', software: true },
  }, progress(2001)]);
  const b = readRunInfo(resumed, false);
  assert.equal(b.deviceLabel, 'software GPU (llvmpipe)');
  assert.equal(b.deviceKind, 'software-gpu');
});

test('readRunInfo: without run_started the backend comes from train-summary.json; nothing known, no device', () => {
  const dir = runFolder([], { 'train-summary.json': { status: 'ok', step: 5, totalSteps: 5, backend: 'tfjs-node-gpu' } });
  assert.equal(readRunInfo(dir, false).deviceLabel, 'GPU (CUDA)');
  const none = runFolder([]);
  const info = readRunInfo(none, false);
  assert.equal(info.deviceLabel, undefined);
  assert.equal(info.backend, undefined);
});

test('RunItem: the device label in the description, the engine\'s text in the tooltip', () => {
  mock.reset();
  const dir = runFolder([
    { type: 'run_started', run_id: 'r', backend: 'webgpu', device: H100, config: {} }, progress(3),
  ]);
  const store = new RunStore({ folder: () => path.dirname(dir), isRunning: (d) => d === dir, watch: false });
  store.scan();
  const item = new RunItem(store.get(dir)!);
  store.dispose();
  assert.match(String(item.description), /^mlip · running · step 3\/100000 · loss 1\.0000 · ETA 1s · NVIDIA H100$/);
  const tip = (item.tooltip as { value: string }).value;
  assert.match(tip, /- device: NVIDIA H100 \(webgpu, gpu \(WebGPU\/Dawn: nvidia ampere NVIDIA H100\)\)/);
  const entry = (o: Partial<RunEntry>): RunEntry => ({ dir, name: 'c', status: 'ok', metrics: {}, hasOnnx: false, hasCheckpoint: false, kind: 'run', job: emptyJob('train'), evalTasks: [], eventsMtimeMs: 0, ...o });
  const cpu = new RunItem(entry({ deviceLabel: 'cpu', backend: 'cpu', job: { ...emptyJob('train'), state: 'finished', started: true } }));
  assert.equal(cpu.description, 'finished · cpu');
  const unknown = new RunItem(entry({ name: 'u', status: 'incomplete' }));
  assert.equal(unknown.description, 'incomplete');
  assert.doesNotMatch((unknown.tooltip as { value: string }).value, /device/);
});
