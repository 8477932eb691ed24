// The engine on the webgpu backend end to end (Dawn; Mesa's software llvmpipe in CI): `reclf
// train --backend webgpu` learns, survives kill -9 + --resume, and its run evaluates and exports
// to the same numbers as on wasm / in ONNX Runtime. Skips with the reason where Dawn finds no adapter.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { EngineEvent } from '../../src/protocol/events';
import { initBackend } from '../../src/core/runtime/backend';
import { exportRun } from '../../src/core/export/export-run';
import { evaluateModel, evaluateRun, type EvaluateSummary, type TaskName } from '../../src/core/eval/tasks';
import { repoRoot, tinyConfig, tinySynth } from '../helpers/tiny';
import { webgpuSkipReason } from '../helpers/webgpu';
import { killResumeMaxDiff } from '../helpers/kill-resume';

let skip: string | undefined;
let data: string;
let dir: string;
let cfgFile: string;

before(async () => {
  skip = await webgpuSkipReason();
  if (skip) return;
  data = await tinySynth(40, 7, 64);
  dir = fs.mkdtempSync(path.join(data, 'webgpu-'));
  cfgFile = path.join(dir, 'tiny.reclf.json');
  fs.writeFileSync(cfgFile, JSON.stringify(tinyConfig({ train: { maxSteps: 20, checkpointEvery: 2, epochs: 20, logEvery: 1 } })));
});

function reclf(args: string[]): { status: number | null; stdout: string; stderr: string; events: EngineEvent[] } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'reclf.js'), ...args], { encoding: 'utf8', cwd: repoRoot });
  const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as EngineEvent);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, events };
}

const common = (): string[] => ['train', '--data', data, '--method', 'reclf', '--config', cfgFile, '--backend', 'webgpu', '--seed', '4'];

test('reclf train --backend webgpu --max-steps 20: the loss falls, run_started names the adapter', async (t) => {
  if (skip) { t.skip(skip); return; }
  const r = reclf([...common(), '--out', path.join(dir, 'full'), '--max-steps', '20']);
  assert.equal(r.status, 0, r.stderr);
  const started = r.events.find((e) => e.type === 'run_started') as Extract<EngineEvent, { type: 'run_started' }>;
  assert.equal(started.backend, 'webgpu');
  assert.match(started.device, /^gpu \(WebGPU\/Dawn: /);
  assert.ok(started.adapter && typeof started.adapter.software === 'boolean', 'adapter recorded');
  const losses = r.events.filter((e): e is Extract<EngineEvent, { type: 'progress' }> => e.type === 'progress').map((e) => e.loss);
  assert.equal(losses.length, 20);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Four steps are one epoch of this set: the last epoch's mean loss is below the first's.
  t.diagnostic(`first epoch ${mean(losses.slice(0, 4)).toFixed(3)}, last epoch ${mean(losses.slice(-4)).toFixed(3)}`);
  assert.ok(losses.every(Number.isFinite));
  assert.ok(mean(losses.slice(-4)) < mean(losses.slice(0, 4)), `loss did not fall: ${losses.map((l) => l.toFixed(2)).join(' ')}`);
  assert.equal(r.events.at(-1)?.type, 'run_finished');
});

test('kill -9 mid-training on webgpu, then --resume, ends within 1e-4 of the uninterrupted weights', async (t) => {
  if (skip) { t.skip(skip); return; }
  const args = [...common(), '--max-steps', '10'];
  const { maxDiff } = await killResumeMaxDiff(args, path.join(dir, 'resume'), 10);
  t.diagnostic(`max weight difference ${maxDiff.toExponential(2)}`);
  assert.ok(maxDiff <= 1e-4, `max weight difference ${maxDiff}`);
});

const TASKS: TaskName[] = ['zeroshot', 'retrieval', 'grounding', 'relations', 'importance', 'linear', 'segmentation'];
const evalCommon = { floors: false, split: 'valid' as const, score: 'both' as const, pooling: 'max' as const, maxPrompts: 3, seeds: [0], createdBy: 'test',
  linear: { epochs: 3, fractions: [1] }, segmentation: { epochs: 1, fractions: [1] } };

function metrics(s: EvaluateSummary): Record<string, Record<string, number | null>> {
  return Object.fromEntries(s.results.map((r) => [r.task, r.metrics]));
}

function assertSame(a: Record<string, Record<string, number | null>>, b: Record<string, Record<string, number | null>>, tasks: string[], what: string): void {
  for (const task of tasks) {
    assert.ok(a[task] && b[task], `${what}: ${task} evaluated on both`);
    for (const [k, v] of Object.entries(a[task])) {
      // Retrieval by the local score alone exists for a run only (an ONNX model scores matched pairs only).
      if (k.startsWith('local_') && !(k in b[task])) continue;
      const w = b[task][k];
      if (v === null || w === null) { assert.equal(w, v, `${what} ${task}/${k}`); continue; }
      // A retrieval rank may move by one near-tie swap (1/n) between backends.
      const tol = task === 'retrieval' ? 1 / (a.retrieval.n ?? 1) + 1e-9 : 1e-3;
      assert.ok(Math.abs((v as number) - (w as number)) <= tol, `${what} ${task}/${k}: ${v} vs ${w}`);
    }
  }
}

test('a run trained on webgpu evaluates to the same metrics on webgpu as on wasm, and exports with ONNX Runtime parity', async (t) => {
  if (skip) { t.skip(skip); return; }
  const src = path.join(dir, 'full');
  assert.ok(fs.existsSync(path.join(src, 'config.json')), 'the first test trained a run');
  const onGpu = path.join(dir, 'eval-webgpu');
  const onWasm = path.join(dir, 'eval-wasm');
  fs.cpSync(src, onGpu, { recursive: true });
  fs.cpSync(src, onWasm, { recursive: true });
  const contractTasks = TASKS.filter((x) => x !== 'segmentation' && x !== 'linear');
  await initBackend('webgpu');
  const gpu = metrics(await evaluateRun({ ...evalCommon, dataDir: data, runDir: onGpu, tasks: TASKS, backend: 'webgpu' }));
  await initBackend('wasm');
  const wasm = metrics(await evaluateRun({ ...evalCommon, dataDir: data, runDir: onWasm, tasks: TASKS, backend: 'wasm' }));
  assertSame(wasm, gpu, TASKS, 'webgpu vs wasm');

  const model = path.join(dir, 'model.onnx');
  await initBackend('webgpu');
  await exportRun(src, model);
  const onnx = metrics(await evaluateModel({ ...evalCommon, score: 'global', dataDir: data, modelFile: model, outDir: path.join(dir, 'eval-onnx'), device: 'cpu', tasks: contractTasks, backend: 'onnxruntime' }));
  const runGlobal = metrics(await evaluateRun({ ...evalCommon, score: 'global', dataDir: data, runDir: onGpu, tasks: contractTasks, backend: 'webgpu' }));
  assertSame(runGlobal, onnx, contractTasks, 'run (webgpu) vs ONNX Runtime');
});
