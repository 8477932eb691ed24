// Faults on a full disk (issue 14's acceptance: "a run killed on a full disk, once space is back,
// resumes from its last complete checkpoint and says so"). The run writes to a small tmpfs that
// the test fills right after a checkpoint; then the run is killed there (kill -9), or asked to
// stop (SIGTERM: its cancel checkpoint cannot be written), and resumed once space is back.
// train.test.ts covers the run that hits ENOSPC by itself; signals.test.ts SIGTERM/SIGINT on a
// disk with room; kill-resume.ts kill -9 with room.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineEvent } from '../../src/protocol/events';
import { trainProcess } from '../helpers/train-process';
import { listStepCheckpoints, readCheckpoint } from '../../src/core/train/checkpoint';
import { tinyConfig, tinySynth } from '../helpers/tiny';
import { freeBytes, withTinyDisk } from '../helpers/tmpfs';

const STEPS = 6;
let data: string;
let cfg: string;
before(async () => {
  data = await tinySynth(48, 3, 64);
  cfg = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-faults-')), 'tiny.reclf.json');
  fs.writeFileSync(cfg, JSON.stringify(tinyConfig({ train: { maxSteps: STEPS, checkpointEvery: 2, keepLast: 2, epochs: 20 } })));
});

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: EngineEvent[];
  stderr: string;
}

/**
 * `reclf train` into `out`; `onEvent` may act on each event (fill the disk, send a signal) and
 * returns true once it has acted, after which it is not called again.
 */
function train(out: string, extra: string[], onEvent?: (e: EngineEvent, child: ChildProcess) => boolean): Promise<Ended> {
  return trainProcess(['--data', data, '--config', cfg, '--method', 'reclf', '--backend', 'wasm', '--out', out, ...extra], onEvent);
}

function assertCompleteCheckpoints(out: string): ReturnType<typeof listStepCheckpoints> {
  const steps = listStepCheckpoints(out);
  assert.ok(steps.length > 0, 'no checkpoint left');
  for (const c of steps) assert.equal(readCheckpoint(c.file).state.step, c.step, `${c.file} is torn`);
  return steps;
}

test('kill -9 on a full disk, SIGTERM on a full disk, then --resume once space is back: each resume starts from the last complete checkpoint and says so', async (t) => {
  await withTinyDisk(t, 4, async (mnt) => {
    const out = path.join(mnt, 'run');
    const filler = path.join(mnt, 'filler');
    const fill = (): void => fs.writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(mnt))));
    let filledAfterStep = -1;

    // 1. The disk fills right after the first checkpoint; the run is killed at its next step.
    const killed = await train(out, [], (e, child) => {
      if (e.type === 'checkpoint' && filledAfterStep < 0) { fill(); filledAfterStep = e.step; }
      if (e.type === 'progress' && filledAfterStep >= 0 && e.step > filledAfterStep) { child.kill('SIGKILL'); return true; }
      return false;
    });
    assert.equal(killed.signal, 'SIGKILL', `not killed: exit ${killed.code}\n${killed.stderr}`);
    assert.equal(freeBytes(mnt) < 64 * 1024, true, 'the disk was full when the run was killed');
    const afterKill = assertCompleteCheckpoints(out);
    assert.equal(afterKill.at(-1)!.step, filledAfterStep);

    // 2. Space back: resume says where from; the disk fills again after its first checkpoint and SIGTERM
    //    asks for a cancel checkpoint that cannot be written.
    fs.rmSync(filler);
    let resumedCheckpoint = -1;
    const termed = await train(out, ['--resume'], (e, child) => {
      if (e.type === 'checkpoint') { resumedCheckpoint = e.step; fill(); child.kill('SIGTERM'); return true; }
      return false;
    });
    assert.ok(termed.stderr.includes(`resumed from ${afterKill.at(-1)!.file} at step ${filledAfterStep}`), termed.stderr);
    assert.equal((termed.events.find((e) => e.type === 'run_started') as { resumed_from_step?: number }).resumed_from_step, filledAfterStep);
    assert.equal(termed.signal, null);
    assert.doesNotMatch(termed.stderr, /internal error|\n\s+at .*:\d+:\d+/);
    // The cancel checkpoint needs the space that is not there: a failed run, one line naming the file.
    assert.equal(termed.code, 1, termed.stderr);
    assert.match(termed.stderr, /^reclf train: cannot write \S+\.safetensors: no space left on device \(ENOSPC\)$/m);
    const last = termed.events.at(-1);
    assert.ok(last?.type === 'run_finished' && last.status === 'failed', JSON.stringify(last));
    const afterTerm = assertCompleteCheckpoints(out);
    assert.equal(afterTerm.at(-1)!.step, resumedCheckpoint);

    // 3. Space back again: the run resumes from the checkpoint that did complete and finishes.
    fs.rmSync(filler);
    const done = await train(out, ['--resume']);
    assert.equal(done.code, 0, done.stderr);
    assert.ok(done.stderr.includes(`resumed from ${afterTerm.at(-1)!.file} at step ${resumedCheckpoint}`), done.stderr);
    const finished = done.events.at(-1);
    assert.ok(finished?.type === 'run_finished' && finished.status === 'ok', JSON.stringify(finished));
    assert.equal(assertCompleteCheckpoints(out).at(-1)!.step, STEPS);
    assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).filter((f) => f.endsWith('.tmp')), []);
  });
});
