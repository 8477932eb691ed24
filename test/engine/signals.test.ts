// SIGINT/SIGTERM during `reclf train`: a checkpoint, run_finished {status: "cancelled"},
// train-summary.json and exit 130/143 every time; a second signal exits at once with every
// checkpoint complete. Decode workers are on (data.workers 2): closing them used to let the
// process exit 0 mid-shutdown, before the summary (3 tries in 5).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineEvent } from '../../src/protocol/events';
import { trainProcess } from '../helpers/train-process';
import { listStepCheckpoints, readCheckpoint } from '../../src/core/train/checkpoint';
import { tinyConfig, tinySynth } from '../helpers/tiny';

let data: string;
let cfg: string;
before(async () => {
  data = await tinySynth(48, 3, 64);
  cfg = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-sig-')), 'tiny.reclf.json');
  const c = tinyConfig({ train: { maxSteps: 40, checkpointEvery: 2, epochs: 20 } });
  fs.writeFileSync(cfg, JSON.stringify({ ...c, data: { ...(c.data as object), workers: 2, prefetch: 2 } }));
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: EngineEvent[];
  stderr: string;
  /** Milliseconds from the last signal sent to the exit. */
  exitAfterMs: number;
}

/** Starts `reclf train`, and once `when` matches an event sends `signals` (ms after that event each). */
async function trainAndSignal(out: string, backend: string, when: (e: EngineEvent) => boolean, signals: [NodeJS.Signals, number][], extra: string[] = []): Promise<Run> {
  let lastSignalAt = 0;
  const end = await trainProcess(['--data', data, '--config', cfg, '--method', 'reclf', '--backend', backend, '--out', out, ...extra], (e, child) => {
    if (!when(e)) return false;
    for (const [sig, delay] of signals) setTimeout(() => { lastSignalAt = performance.now(); child.kill(sig); }, delay);
    return true;
  });
  return { ...end, exitAfterMs: performance.now() - lastSignalAt };
}

const tries: { sig: NodeJS.Signals; backend: string; delay: number; code: number }[] = [
  { sig: 'SIGTERM', backend: 'wasm', delay: 0, code: 143 },
  { sig: 'SIGINT', backend: 'wasm', delay: 150, code: 130 },
  { sig: 'SIGTERM', backend: 'cpu', delay: 400, code: 143 },
  { sig: 'SIGINT', backend: 'wasm', delay: 700, code: 130 },
  { sig: 'SIGTERM', backend: 'wasm', delay: 1000, code: 143 },
];

for (const [i, t] of tries.entries()) {
  test(`try ${i + 1}: ${t.sig} ${t.delay} ms after the first checkpoint (${t.backend}) ends with a checkpoint, run_finished cancelled, the summary and exit ${t.code}`, async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-sigrun-'));
    const r = await trainAndSignal(out, t.backend, (e) => e.type === 'checkpoint', [[t.sig, t.delay]]);
    assert.equal(r.signal, null, `killed by ${r.signal}`);
    assert.equal(r.code, t.code, r.stderr);
    const last = r.events.at(-1);
    assert.ok(last?.type === 'run_finished' && last.status === 'cancelled', `last event: ${JSON.stringify(last)}`);
    const ckpts = r.events.filter((e): e is Extract<EngineEvent, { type: 'checkpoint' }> => e.type === 'checkpoint');
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'train-summary.json'), 'utf8'));
    assert.equal(summary.status, 'cancelled');
    assert.ok(summary.step < 40, `the run was not cancelled early: step ${summary.step}`);
    // The cancel checkpoint holds the step the run stopped at.
    assert.equal(ckpts.at(-1)!.step, summary.step);
    assert.equal(readCheckpoint(path.join(out, ckpts.at(-1)!.path)).state.step, summary.step);
    assert.match(r.stderr, new RegExp(`${t.sig}: finishing the current step`));
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at .*:\d+:\d+/);
    // The events file ends the same way as stdout.
    const fileEvents = fs.readFileSync(path.join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EngineEvent);
    assert.equal(fileEvents.at(-1)?.type, 'run_finished');
    // Quiet output: no TF.js "install our node backend" banner (the cpu backend prints it by default).
    assert.doesNotMatch(r.stderr, /Hi, looks like you are running TensorFlow\.js/);
  });
}

test('a second signal exits at once with every checkpoint complete; --resume then continues from the last one', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-sigrun-'));
  const r = await trainAndSignal(out, 'wasm', (e) => e.type === 'checkpoint' && e.step >= 4, [['SIGTERM', 0], ['SIGTERM', 5]]);
  assert.equal(r.signal, null);
  assert.equal(r.code, 143, r.stderr);
  assert.ok(r.exitAfterMs < 5000, `took ${r.exitAfterMs.toFixed(0)} ms to exit after the second signal`);
  assert.match(r.stderr, /SIGTERM again: exiting now/);
  const steps = listStepCheckpoints(out);
  assert.ok(steps.length > 0);
  // Whatever was in flight, nothing torn was renamed into place.
  for (const c of steps) assert.equal(readCheckpoint(c.file).state.step, c.step);
  const best = path.join(out, 'checkpoints', 'best.safetensors');
  if (fs.existsSync(best)) readCheckpoint(best);

  // Resume, interrupt again once it has said where it resumed from: the resumed run is honest about it.
  const last = steps.at(-1)!;
  const r2 = await trainAndSignal(out, 'wasm', (e) => e.type === 'progress', [['SIGINT', 0]], ['--resume']);
  assert.equal(r2.code, 130, r2.stderr);
  assert.ok(r2.stderr.includes(`resumed from ${last.file} at step ${last.step}`), r2.stderr);
  const started = r2.events.find((e) => e.type === 'run_started');
  assert.equal((started as { resumed_from_step?: number }).resumed_from_step, last.step);
  assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).filter((f) => f.endsWith('.tmp')), []);
});
