// Shared by the kill -9 + --resume tests (cpu in train.test.ts, webgpu in webgpu.test.ts): train
// uninterrupted, train again killed hard right after the step-4 checkpoint, resume it, and
// compare the final weights of the two.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { listStepCheckpoints, readCheckpoint } from '../../src/core/train/checkpoint';
import { repoRoot } from './tiny';

const BIN = path.join(repoRoot, 'bin', 'reclf.js');

function reclf(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: repoRoot });
}

/**
 * `train` args (without --out) run to `steps` steps in `dir/full`, and in `dir/killed` with a
 * SIGKILL after the step-4 checkpoint (mid-way through step 5) and a --resume. Returns the
 * largest absolute difference between the two runs' final weights.
 */
export async function killResumeMaxDiff(args: string[], dir: string, steps: number): Promise<{ maxDiff: number; resumedStdout: string }> {
  const full = reclf([...args, '--out', path.join(dir, 'full')]);
  assert.equal(full.status, 0, full.stderr);
  const killedDir = path.join(dir, 'killed');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--out', killedDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (/"type":"checkpoint"[^\n]*"step":4/.test(buf)) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`not killed: exit ${code}`))));
  });
  const kept = listStepCheckpoints(killedDir).map((c) => c.step);
  assert.ok(kept.includes(4) && !kept.includes(steps), `checkpoints after kill: ${kept}`);
  const resumed = reclf([...args, '--out', killedDir, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  const a = readCheckpoint(listStepCheckpoints(path.join(dir, 'full')).at(-1)!.file);
  const b = readCheckpoint(listStepCheckpoints(killedDir).at(-1)!.file);
  assert.equal(a.state.step, steps);
  assert.equal(b.state.step, steps);
  let maxDiff = 0;
  for (const [name, t] of Object.entries(a.params)) {
    const u = b.params[name];
    assert.ok(u, `missing ${name}`);
    for (let i = 0; i < t.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(t.data[i] - u.data[i]));
  }
  return { maxDiff, resumedStdout: resumed.stdout };
}
