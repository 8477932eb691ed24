import { mock, fakeLog, Memento } from './vscode-mock';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { engineLaunch, isAlive, LineSplitter, startEngine } from '../../src/extension/engine-process';
import { formatEta, outcomeOf, progressMessage, RunManager, type PersistedRun } from '../../src/extension/run-manager';
import type { EngineEvent } from '../../src/protocol/events';
import type * as vscode from 'vscode';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-rm-'));

// A fake engine: prints its grandchild's pid, emits progress events, then sleeps until killed.
// With --out RUN it appends events to RUN/events.jsonl (like `reclf train`) instead of stdout.
const FAKE_ENGINE = `
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
const emit = (e) => out ? fs.appendFileSync(path.join(out, 'events.jsonl'), JSON.stringify(e) + '\\n') : process.stdout.write(JSON.stringify(e) + '\\n');
if (args[0] === 'fail') {
  process.stderr.write('reclf train: manifest.jsonl line 3: field "split" must be train|valid|test\\n');
  process.exit(2);
}
const gc = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
if (out) fs.writeFileSync(path.join(out, 'grandchild.pid'), String(gc.pid));
emit({ type: 'warning', message: 'grandchild ' + gc.pid });
// --no-start: as if run_started was read before a window reload (re-attached past it)
if (!args.includes('--no-start')) emit({ type: 'run_started', run_id: 'r1', backend: 'cpu', device: 'cpu', config: {} });
process.stderr.write('backend: cpu\\n');
let step = 0;
const total = Number(args[args.indexOf('--steps') + 1] || 1000);
const t = setInterval(() => {
  step++;
  emit({ type: 'progress', step, total_steps: total, epoch: 0, loss: 1 / step, lr: 0.001, items_per_s: 10, eta_s: 125 });
  // A finished run leaves no grandchild behind (only a cancelled one's is tree-killed).
  if (step >= total) { clearInterval(t); gc.kill(); emit({ type: 'run_finished', status: 'ok', summary: {} }); process.exit(0); }
}, 20);
`;

function writeEngine(dir: string): string {
  const p = path.join(dir, 'fake-engine.js');
  fs.writeFileSync(p, FAKE_ENGINE);
  return p;
}

async function waitFor(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

function manager(enginePath: string, state = new Memento()) {
  const log = fakeLog();
  const rm = new RunManager({
    workspaceState: state as unknown as vscode.Memento, log: log as unknown as vscode.LogOutputChannel,
    enginePath, killGraceMs: 2000, pollMs: 50,
  });
  return { rm, log, state };
}

test('engineLaunch uses VS Code\'s Node with ELECTRON_RUN_AS_NODE, or the configured node without it', () => {
  const own = engineLaunch({ nodePath: '', execPath: '/vscode/code', enginePath: '/ext/dist/engine/reclf.cjs', nodeArgs: ['--max-old-space-size=4096'], env: { A: '1' } }, ['train', '--out', 'r']);
  assert.equal(own.command, '/vscode/code');
  assert.deepEqual(own.args, ['--max-old-space-size=4096', '/ext/dist/engine/reclf.cjs', 'train', '--out', 'r']);
  assert.equal(own.env.ELECTRON_RUN_AS_NODE, '1');
  const node = engineLaunch({ nodePath: '/usr/bin/node', execPath: '/vscode/code', enginePath: 'e.cjs', nodeArgs: [], env: { ELECTRON_RUN_AS_NODE: '1' } }, []);
  assert.equal(node.command, '/usr/bin/node');
  assert.equal(node.env.ELECTRON_RUN_AS_NODE, undefined);
});

test('LineSplitter joins lines split across chunks', () => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  s.push('{"a":1}\n{"b"');
  s.push(':2}\r\npartial');
  s.end();
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}', 'partial']);
});

test('outcome: run_finished wins; a failure without events reports the last stderr line', () => {
  const fin: EngineEvent[] = [{ type: 'run_finished', status: 'cancelled', summary: {} }];
  assert.equal(outcomeOf(fin, { code: 130, signal: null }, false, '').status, 'cancelled');
  const failed = outcomeOf([], { code: 2, signal: null }, false, 'backend: cpu\nreclf train: bad field "split"\n');
  assert.deepEqual(failed, { status: 'failed', error: 'reclf train: bad field "split"' });
  assert.equal(formatEta(125), '2m 5s');
});

test('startEngine streams events and cancel kills the child and its grandchild', async () => {
  const dir = tmp();
  const events: EngineEvent[] = [];
  const proc = startEngine({ command: process.execPath, args: [writeEngine(dir)], env: process.env }, { onEvent: (e) => events.push(e) });
  await waitFor(() => events.some((e) => e.type === 'progress'));
  const gcPid = Number((events.find((e) => e.type === 'warning') as { message: string }).message.split(' ')[1]);
  assert.ok(isAlive(proc.pid) && isAlive(gcPid));
  await proc.cancel(2000);
  const exit = await proc.exited;
  assert.ok(exit.signal === 'SIGTERM' || exit.code !== 0);
  await waitFor(() => !isAlive(gcPid), 3000);
});

test('RunManager: progress shows step, loss and ETA; cancelling from the notification kills the tree', async () => {
  mock.reset();
  const dir = tmp();
  const { rm } = manager(writeEngine(dir));
  let gcPid = 0;
  rm.onEvents((e) => { for (const ev of e.events) if (ev.type === 'warning') gcPid = Number(ev.message.split(' ')[1]); });
  mock.onProgress = (p) => {
    void waitFor(() => p.reports.some((r) => r.message?.startsWith('step'))).then(() => p.cts.cancel());
  };
  const outcome = await rm.start({ title: 'Train t', args: [] });
  assert.equal(outcome.status, 'cancelled');
  const msg = mock.progress[0].reports.find((r) => r.message?.startsWith('step'))!.message!;
  // the run's device (run_started: backend cpu, device cpu) ends every line
  assert.match(msg, /^step \d+\/1000 · loss \d\.\d{4} · ETA 2m 5s · cpu$/);
  assert.equal(mock.progress[0].reports[0]?.message, 'started on cpu');
  assert.equal(mock.progress[0].title, 'RECLF: Train t');
  assert.ok(gcPid > 0);
  await waitFor(() => !isAlive(gcPid), 3000);
  assert.equal(rm.running.length, 0);
  rm.dispose();
});

test('RunManager: a failed run shows its error with "Show Log", which opens the log', async () => {
  mock.reset();
  mock.answer = 'Show Log';
  const { rm, log } = manager(writeEngine(tmp()));
  const outcome = await rm.start({ title: 'Train bad', args: ['fail'] });
  assert.equal(outcome.status, 'failed');
  const err = mock.shown.find((s) => s.level === 'error')!;
  assert.match(err.message, /Train bad failed: reclf train: manifest\.jsonl line 3: field "split"/);
  assert.deepEqual(err.items, ['Show Log']);
  await waitFor(() => log.shown === 1);
  assert.ok(log.lines.some((l) => l.includes('field "split"')));
  rm.dispose();
});

test('RunManager: a run with a run folder is detached, persisted, and followed from events.jsonl', async () => {
  mock.reset();
  const dir = tmp();
  const runDir = path.join(dir, 'run1');
  const { rm, state } = manager(writeEngine(dir));
  const p = rm.start({ title: 'Train run1', args: ['--out', runDir, '--steps', '5'], runDir });
  await waitFor(() => state.get<PersistedRun[]>('reclf.activeRuns', []).length === 1);
  const saved = state.get<PersistedRun[]>('reclf.activeRuns', [])[0];
  assert.equal(saved.runDir, runDir);
  assert.ok(saved.pid > 0);
  const outcome = await p;
  assert.equal(outcome.status, 'ok');
  assert.deepEqual(outcome.events.filter((e) => e.type === 'progress').map((e) => (e as { step: number }).step), [1, 2, 3, 4, 5]);
  assert.match(fs.readFileSync(path.join(runDir, 'engine.log'), 'utf8'), /backend: cpu/);
  assert.deepEqual(state.get('reclf.activeRuns', []), []);
  rm.dispose();
});

test('RunManager.reattach follows a run left by a previous window and can cancel its tree', async () => {
  mock.reset();
  const dir = tmp();
  const runDir = path.join(dir, 'run2');
  fs.mkdirSync(runDir);
  // Old events from an earlier session, before the persisted offset: must not be replayed.
  fs.writeFileSync(path.join(runDir, 'events.jsonl'), JSON.stringify({ type: 'run_finished', status: 'failed', summary: {} }) + '\n');
  const offset = fs.statSync(path.join(runDir, 'events.jsonl')).size;
  const enginePath = writeEngine(dir);
  const orphan = spawn(process.execPath, [enginePath, '--out', runDir], { detached: true, stdio: 'ignore' });
  const state = new Memento();
  await state.update('reclf.activeRuns', [{ pid: orphan.pid, runDir, title: 'Train run2', eventsOffset: offset, logOffset: 0, startedAt: 0 }]);
  await state.update('reclf.other', 1);
  const { rm } = manager(enginePath, state);
  mock.onProgress = (p) => {
    void waitFor(() => p.reports.some((r) => r.message?.startsWith('step'))).then(() => p.cts.cancel());
  };
  const [attached] = rm.reattach();
  assert.equal(rm.isRunning(runDir), true);
  const outcome = await attached;
  assert.equal(outcome.status, 'cancelled');
  assert.ok(outcome.events.some((e) => e.type === 'run_started'));
  assert.ok(!outcome.events.some((e) => e.type === 'run_finished'), 'old events were replayed');
  const gc = Number(fs.readFileSync(path.join(runDir, 'grandchild.pid'), 'utf8'));
  await waitFor(() => !isAlive(gc) && !isAlive(orphan.pid ?? -1), 3000);
  assert.deepEqual(state.get('reclf.activeRuns', []), []);
  rm.dispose();
});

test('RunManager.reattach keeps the device label persisted by the previous window', async () => {
  mock.reset();
  const dir = tmp();
  const runDir = path.join(dir, 'run3');
  fs.mkdirSync(runDir);
  const enginePath = writeEngine(dir);
  const orphan = spawn(process.execPath, [enginePath, '--out', runDir, '--no-start'], { detached: true, stdio: 'ignore' });
  const state = new Memento();
  await state.update('reclf.activeRuns', [{ pid: orphan.pid, runDir, title: 'Train run3', eventsOffset: 0, logOffset: 0, startedAt: 0, device: 'NVIDIA H100' }]);
  const { rm } = manager(enginePath, state);
  mock.onProgress = (p) => {
    void waitFor(() => p.reports.some((r) => r.message?.startsWith('step'))).then(() => p.cts.cancel());
  };
  const [attached] = rm.reattach();
  const outcome = await attached;
  assert.equal(outcome.status, 'cancelled');
  assert.ok(!outcome.events.some((e) => e.type === 'run_started'));
  const msg = mock.progress[0].reports.find((r) => r.message?.startsWith('step'))!.message!;
  assert.match(msg, / · NVIDIA H100$/);
  const gc = Number(fs.readFileSync(path.join(runDir, 'grandchild.pid'), 'utf8'));
  await waitFor(() => !isAlive(gc) && !isAlive(orphan.pid ?? -1), 3000);
  rm.dispose();
});

test('progressMessage: run_started names the device; later lines end with it', () => {
  const started: EngineEvent = { type: 'run_started', run_id: 'r', backend: 'webgpu', device: 'gpu (WebGPU/Dawn: mesa software llvmpipe)', config: {},
    adapter: { vendor: 'mesa', architecture: 'software', description: 'llvmpipe (LLVM 15.0.6, 256 bits)', software: true } };
  assert.equal(progressMessage(started), 'started on software GPU (llvmpipe)');
  // Checkpoints and metrics keep the step/loss/ETA line (the issue: "checkpoint at step N" replaced it).
  assert.equal(progressMessage({ type: 'checkpoint', path: 'c', step: 7 }, 'NVIDIA H100'), undefined);
  assert.equal(progressMessage({ type: 'metric', name: 'auroc', value: 0.5, step: 7, split: 'valid' }, 'cpu'), undefined);
  assert.equal(progressMessage({ type: 'eval_progress', task: 'grounding', index: 3, total: 7, eta_s: 40 }), 'task grounding (3/7) · ETA 40s');
  assert.equal(progressMessage({ type: 'progress', step: 1, total_steps: 2, epoch: 0, loss: 1, lr: 0, items_per_s: 1, eta_s: 5 }), 'step 1/2 · loss 1.0000 · ETA 5s');
  assert.equal(progressMessage({ type: 'warning', message: 'w' }, 'cpu'), undefined);
});

test('RunManager.reattach drops runs whose engine is gone', () => {
  mock.reset();
  const state = new Memento();
  void state.update('reclf.activeRuns', [{ pid: 2 ** 22 + 12345, runDir: '/nonexistent', title: 'x', eventsOffset: 0, logOffset: 0, startedAt: 0 }]);
  const { rm } = manager('/nonexistent/engine.cjs', state);
  assert.equal(rm.reattach().length, 0);
  assert.deepEqual(state.get('reclf.activeRuns', []), []);
  rm.dispose();
});
