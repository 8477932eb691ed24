import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineEvent } from '../../src/protocol/events';
import { METHOD_NAMES } from '../../src/core/align/registry';
import { resolveRunConfig } from '../../src/core/train/run-config';
import { runTraining, type TrainListener } from '../../src/core/train/trainer';
import { initBackend } from '../../src/core/runtime/backend';
import { readCheckpoint, listStepCheckpoints } from '../../src/core/train/checkpoint';
import { repoRoot, tinyConfig, tinySynth } from '../helpers/tiny';

let data: string;
before(async () => {
  data = await tinySynth(48, 3, 64);
});

function collect(): { listener: TrainListener; events: EngineEvent[] } {
  const events: EngineEvent[] = [];
  return { events, listener: { emit: (e) => events.push(e), log: () => {} } };
}

function tmpRun(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-run-'));
}

for (const method of METHOD_NAMES) {
  test(`${method} trains on a tiny set: finite loss that decreases, explanation-ready checkpoint`, async () => {
    const backend = await initBackend(process.env.RECLF_TEST_BACKEND ?? 'wasm');
    const method_ = method === 'mgca' ? { prototypes: 16 } : {};
    const config = resolveRunConfig(tinyConfig({ method: method_, train: { epochs: 6, lr: 5e-3 } }), method);
    const { listener, events } = collect();
    const runDir = tmpRun();
    const result = await runTraining({ runDir, dataDir: data, config, resume: false, listener, cancel: { requested: false }, backend: backend.name, device: backend.device });
    assert.equal(result.status, 'ok');
    const losses = events.filter((e) => e.type === 'progress').map((e) => (e as { loss: number }).loss);
    assert.ok(losses.length >= 10, `only ${losses.length} steps`);
    assert.ok(losses.every(Number.isFinite), `non-finite loss: ${losses}`);
    const head = losses.slice(0, 3).reduce((a, b) => a + b) / 3;
    const tail = losses.slice(-3).reduce((a, b) => a + b) / 3;
    assert.ok(tail < head, `${method}: loss did not decrease (${head.toFixed(4)} -> ${tail.toFixed(4)})`);
    assert.ok(result.validation && Number.isFinite(result.validation.loss));
    assert.ok(fs.existsSync(path.join(runDir, 'config.json')) && fs.existsSync(path.join(runDir, 'vocab.txt')));
    assert.ok(listStepCheckpoints(runDir).length > 0);
  });
}

test('a dataset with bad records trains on the good ones and reports the skipped ones', async () => {
  const dir = await tinySynth(40, 5, 64);
  const manifest = path.join(dir, 'manifest.jsonl');
  const lines = fs.readFileSync(manifest, 'utf8').trim().split('\n');
  // One line that is not JSON, one path escaping the folder, one image that is corrupt bytes.
  lines.push('{not json');
  lines.push(JSON.stringify({ ...JSON.parse(lines[0]), id: 'escape', image: '../../etc/passwd' }));
  const corrupt = JSON.parse(lines[1]);
  fs.writeFileSync(path.join(dir, corrupt.image), Buffer.from('definitely not a png'));
  fs.writeFileSync(manifest, lines.join('\n') + '\n');
  await initBackend('wasm');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 3 } }), 'convirt');
  const { listener, events } = collect();
  const result = await runTraining({ runDir: tmpRun(), dataDir: dir, config, resume: false, listener, cancel: { requested: false }, backend: 'wasm', device: 'cpu' });
  assert.equal(result.status, 'ok');
  const warnings = events.filter((e) => e.type === 'warning').map((e) => (e as { message: string }).message);
  assert.ok(warnings.some((w) => /line 41/.test(w) && /JSON/i.test(w)), warnings.join('\n'));
  assert.ok(warnings.some((w) => /escape/.test(w) || /outside|escap/i.test(w)), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes(corrupt.id)), warnings.join('\n'));
  assert.ok(result.skippedRecords >= 3);
});

function reclf(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'reclf.js'), ...args], { encoding: 'utf8', cwd: repoRoot });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('invalid config fails before training, naming the field, with no stack trace', () => {
  const dir = tmpRun();
  const cfg = path.join(dir, 'bad.reclf.json');
  fs.writeFileSync(cfg, JSON.stringify({ train: { lr: 'fast' } }));
  const r = reclf(['train', '--data', data, '--out', path.join(dir, 'run'), '--config', cfg]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /train\.lr: expected a number/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  assert.equal(fs.existsSync(path.join(dir, 'run', 'checkpoints')), false);
});

test('kill -9 mid-training, then --resume, ends with the same weights as an uninterrupted run (cpu backend)', async () => {
  const dir = tmpRun();
  const cfg = path.join(dir, 'tiny.reclf.json');
  fs.writeFileSync(cfg, JSON.stringify(tinyConfig({ train: { maxSteps: 10, checkpointEvery: 2, epochs: 20 } })));
  const common = ['train', '--data', data, '--method', 'reclf', '--config', cfg, '--backend', 'cpu', '--seed', '4'];
  const full = reclf([...common, '--out', path.join(dir, 'full')]);
  assert.equal(full.status, 0, full.stderr);

  const killedDir = path.join(dir, 'killed');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'reclf.js'), ...common, '--out', killedDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      // Kill hard right after the step-4 checkpoint, mid-way through step 5.
      if (/"type":"checkpoint"[^\n]*"step":4/.test(buf)) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`not killed: exit ${code}`))));
  });
  const steps = listStepCheckpoints(killedDir).map((c) => c.step);
  assert.ok(steps.includes(4) && !steps.includes(10), `checkpoints after kill: ${steps}`);
  const resumed = reclf([...common, '--out', killedDir, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /"resumed_from_step":\d+/);

  const a = readCheckpoint(listStepCheckpoints(path.join(dir, 'full')).at(-1)!.file);
  const b = readCheckpoint(listStepCheckpoints(killedDir).at(-1)!.file);
  assert.equal(a.state.step, 10);
  assert.equal(b.state.step, 10);
  let maxDiff = 0;
  for (const [name, t] of Object.entries(a.params)) {
    const u = b.params[name];
    assert.ok(u, `missing ${name}`);
    for (let i = 0; i < t.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(t.data[i] - u.data[i]));
  }
  assert.ok(maxDiff <= 1e-5, `max weight difference ${maxDiff}`);
});
