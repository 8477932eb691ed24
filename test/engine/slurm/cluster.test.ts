// The cluster tier: `reclf ablate --executor slurm` against a real one-node Slurm on 127.0.0.1
// (scripts/ci/setup-slurm.sh, which .ci/run starts and exports as SLURM_CONF). Skips with the
// reason where no controller answers. Kept small: 32 studies of 32 px, 12 steps, 1 CPU a task.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, tinyConfig, tinySynth } from '../../helpers/tiny';
import { listStepCheckpoints, readCheckpoint } from '../../../src/core/train/checkpoint';
import { readSpec } from '../../../src/engine/slurm/ablation-folder';
import { trainingFinished } from '../../../src/core/eval/ablate';
import { queueView, readRecord, taskStatuses } from '../../../src/engine/slurm/ablation-executor';
import type { EngineEvent } from '../../../src/protocol/events';

const BIN = path.join(repoRoot, 'bin', 'reclf.js');

function skipReason(): string | undefined {
  if (spawnSync('sh', ['-c', 'command -v sbatch'], { encoding: 'utf8' }).status !== 0) return 'sbatch not on PATH (scripts/ci/setup-slurm.sh installs a one-node Slurm where apt is available)';
  const r = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0 || !/idle|mixed|allocated/.test(r.stdout)) return `no Slurm controller answers (SLURM_CONF=${process.env.SLURM_CONF ?? 'unset'}: ${(r.stderr || r.error?.message || r.stdout).trim().split('\n')[0]})`;
  return undefined;
}
const SKIP = skipReason();

function reclf(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d; });
    c.stderr.on('data', (d: Buffer) => { stderr += d; });
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 120_000, pollMs = 100): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

function events(file: string): EngineEvent[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as EngineEvent);
  } catch {
    return [];
  }
}

/**
 * The engine process of one grid task (`reclf ablate --out OUT --task NAME`), found in /proc (the
 * one-node cluster runs on this machine). Frozen with SIGSTOP before a signal is sent, so that a
 * fast machine cannot finish the 12 steps between the checkpoint the test saw and the signal.
 */
function engineProcess(out: string, name: string): number | undefined {
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const i = argv.indexOf('--task');
    if (argv.includes('ablate') && argv[argv.indexOf('--out') + 1] === out && i > 0 && argv[i + 1] === name) return Number(pid);
  }
  return undefined;
}

async function freezeAtCheckpoint(out: string, name: string): Promise<number> {
  const runDir = path.join(out, name);
  const pid = await until(`${name} at its first checkpoint`, () => (checkpointStep(runDir) >= 2 ? engineProcess(out, name) : undefined), 120_000, 10);
  process.kill(pid, 'SIGSTOP');
  assert.ok(!trainingFinished(runDir), `${name} was frozen before the end of its training`);
  return pid;
}

/** Continues a frozen engine once a TERM waits for it (or it is gone): it then checkpoints and exits. */
async function thawWhenTermPending(pid: number): Promise<void> {
  const TERM = 1n << 14n;
  await until(`TERM pending for process ${pid}`, () => {
    let status: string;
    try {
      status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return true;
    }
    return [...status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm)].some((m) => (BigInt(`0x${m[1]}`) & TERM) !== 0n) || undefined;
  }, 60_000, 20);
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // Gone already: Slurm's own SIGCONT and TERM (or its KILL) ended it.
  }
}

function checkpointStep(runDir: string): number {
  return Math.max(0, ...events(path.join(runDir, 'events.jsonl')).filter((e) => e.type === 'checkpoint').map((e) => (e as { step: number }).step));
}

async function liveStates(dir: string): Promise<string[]> {
  const spec = readSpec(dir)!;
  return taskStatuses(dir, spec, readRecord(dir), await queueView(readRecord(dir), {})).map((s) => s.state);
}

function finalWeights(runDir: string): Record<string, Float32Array> {
  const ck = readCheckpoint(listStepCheckpoints(runDir).at(-1)!.file);
  return Object.fromEntries(Object.entries(ck.params).map(([k, t]) => [k, t.data as Float32Array]));
}

function maxDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let m = 0;
  for (const [k, t] of Object.entries(a)) for (let i = 0; i < t.length; i++) m = Math.max(m, Math.abs(t[i] - b[k][i]));
  return m;
}

let data: string;
let config: string;
const grid = (out: string, extra: string[] = []): string[] => [
  'ablate', '--data', data, '--methods', 'convirt,reclf-no-srm', '--seeds', '2', '--budget', '12', '--tasks', 'retrieval', '--split', 'valid',
  '--config', config, '--backend', 'wasm', '--out', out, ...extra,
];
const SLURM = ['--executor', 'slurm', '--cpus-per-task', '1', '--mem', '1500M', '--time', '15', '--poll-seconds', '1'];

before(async () => {
  if (SKIP) return;
  data = await tinySynth(32, 5, 32);
  config = path.join(data, 'tiny.reclf.json');
  fs.writeFileSync(config, JSON.stringify(tinyConfig()));
  // Brings the engine bundle up to date once, before array tasks start it side by side.
  spawnSync(process.execPath, [BIN, '--version']);
});

test('a 2x2 grid through Slurm, with one task cancelled, one requeued and one requeueing itself on the time signal, ends with the local table and the same weights', { skip: SKIP }, async () => {
  const local = path.join(data, 'local');
  const l = await reclf(grid(local));
  assert.equal(l.code, 0, l.stderr);
  const out = path.join(data, 'slurm');
  const s1 = await reclf(grid(out, SLURM));
  assert.equal(s1.code, 0, s1.stderr);
  assert.match(s1.stderr, /submitted 4 of 4 runs as array job (\d+)/);
  const job = /array job (\d+)/.exec(s1.stderr)![1];
  const queued = s1.stdout.split('\n').filter(Boolean).map((x) => JSON.parse(x) as EngineEvent);
  assert.equal(queued[0].type, 'ablation_started');
  assert.deepEqual(queued.filter((e) => e.type === 'ablation_task').map((e) => (e as { job_id?: string }).job_id), [0, 1, 2, 3].map((i) => `${job}_${i}`));

  // Task 0 is cancelled with scancel once it has a checkpoint; task 1 requeued with scontrol; task 2
  // gets the time-limit signal (USR1 to the batch shell), checkpoints and requeues itself. Each
  // engine is frozen before its signal and thawed once Slurm's TERM is pending, so every signal
  // lands mid-training however fast the machine is.
  const run0 = path.join(out, 'convirt-seed0');
  const run1 = path.join(out, 'convirt-seed1');
  const run2 = path.join(out, 'reclf-no-srm-seed0');
  const signal = async (name: string, cmd: string[]): Promise<void> => {
    const pid = await freezeAtCheckpoint(out, name);
    const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
    assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
    await thawWhenTermPending(pid);
  };
  await signal('convirt-seed0', ['scancel', `${job}_0`]);
  await signal('convirt-seed1', ['scontrol', 'requeue', `${job}_1`]);
  await signal('reclf-no-srm-seed0', ['scancel', '--batch', '--signal=USR1', `${job}_2`]);
  await until('every task out of the queue', async () => (await liveStates(out)).every((s) => s === 'finished' || s === 'cancelled' || s === 'failed') || undefined, 240_000);
  const st = await liveStates(out);
  assert.deepEqual(st, ['cancelled', 'finished', 'finished', 'finished']);
  assert.ok(!trainingFinished(run0), 'the cancelled run did not finish');
  const resumed = events(path.join(run1, 'events.jsonl')).filter((e) => e.type === 'run_started').map((e) => (e as { resumed_from_step?: number }).resumed_from_step);
  assert.ok(resumed.length === 2 && (resumed[1] ?? 0) >= 2, `the requeued task resumed from its checkpoint: ${JSON.stringify(resumed)}`);

  const resumed2 = events(path.join(run2, 'events.jsonl')).filter((e) => e.type === 'run_started').map((e) => (e as { resumed_from_step?: number }).resumed_from_step);
  assert.ok(resumed2.length === 2 && (resumed2[1] ?? 0) >= 2, `the self-requeued task resumed from its checkpoint: ${JSON.stringify(resumed2)}`);
  const states2 = events(path.join(out, 'events.jsonl')).filter((e) => e.type === 'ablation_task' && e.run_dir === run2).map((e) => (e as { state: string }).state);
  assert.deepEqual(states2, ['queued', 'running', 'requeued', 'running', 'finished']);
  // jobs: the table names the cancelled task; --json gives one ablation_task each.
  const j = await reclf(['jobs', out, '--json']);
  assert.equal(j.code, 0, j.stderr);
  assert.deepEqual(j.stdout.trim().split('\n').map((x) => (JSON.parse(x) as { state: string }).state), st);

  // Collect names what is missing; the same command again resubmits only that task.
  const c = await reclf(['ablate', '--collect', '--out', out]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /3 of 4 runs/);
  assert.match(fs.readFileSync(path.join(out, 'ablation.md'), 'utf8'), /Missing \(1 of 4 runs not finished yet\): convirt seed 0/);
  const s2 = await reclf(grid(out, [...SLURM, '--wait']));
  assert.equal(s2.code, 0, s2.stderr);
  assert.match(s2.stderr, /submitted 1 of 4 runs/);
  assert.deepEqual(readRecord(out)!.submissions.map((x) => x.indices), [[0, 1, 2, 3], [0]]);
  assert.ok(fs.readdirSync(run0).some((f) => /^slurm-\d+_0\.log$/.test(f)), 'job output in the run folder');

  // Same table as local, and the cancelled-then-resumed run ends with the uninterrupted weights.
  const rows = (dir: string): unknown => (JSON.parse(fs.readFileSync(path.join(dir, 'ablation.json'), 'utf8')) as { rows: unknown }).rows;
  assert.deepEqual(rows(out), rows(local));
  assert.ok(maxDiff(finalWeights(run0), finalWeights(path.join(local, 'convirt-seed0'))) < 1e-6);
  assert.ok(maxDiff(finalWeights(run1), finalWeights(path.join(local, 'convirt-seed1'))) < 1e-6);
});

test('a failing task (corrupt dataset) is reported with its log and not retried past --retry', { skip: SKIP }, async () => {
  const bad = await tinySynth(16, 9, 32);
  fs.writeFileSync(path.join(bad, 'manifest.jsonl'), 'not a manifest\n'.repeat(16));
  const out = path.join(bad, 'abl');
  const args = ['ablate', '--data', bad, '--methods', 'convirt', '--seeds', '1', '--budget', '2', '--tasks', 'retrieval', '--out', out,
    '--config', config, '--backend', 'wasm', ...SLURM, '--retry', '1', '--wait'];
  for (let attempt = 1; attempt <= 2; attempt++) {
    const r = await reclf(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /submitted 1 of 1 runs/);
  }
  const last = await reclf(args);
  assert.equal(last.code, 0, last.stderr);
  assert.match(last.stderr, /convirt-seed0: failed 2 times \(--retry 1\), not resubmitted; log: .*convirt-seed0[/\\]slurm-\d+_0\.log/);
  const ev = last.stdout.split('\n').filter(Boolean).map((x) => JSON.parse(x) as EngineEvent).find((e) => e.type === 'ablation_task') as { state: string; message?: string };
  assert.equal(ev.state, 'failed');
  assert.match(ev.message ?? '', /slurm-\d+_0\.log/);
  assert.equal(readRecord(out)!.submissions.length, 2);
  const log = fs.readFileSync(/log: (\S+)/.exec(last.stderr)![1], 'utf8');
  assert.match(log, /manifest/i, 'the log says what failed');
});

test('bad input: unknown partition, a rejected #SBATCH line, an unreachable controller; one line each, recorded', { skip: SKIP }, async () => {
  const out = path.join(data, 'bad');
  const base = ['ablate', '--data', data, '--methods', 'convirt', '--seeds', '1', '--budget', '2', '--out', out, '--config', config, ...SLURM];
  const p = await reclf([...base, '--partition', 'nosuchpartition']);
  assert.equal(p.code, 2);
  assert.equal(p.stderr.trim().split('\n').length, 1, p.stderr);
  assert.match(p.stderr, /unknown partition 'nosuchpartition'/);
  const o = await reclf([...base, '--sbatch-line=--bogus-option=1']);
  assert.equal(o.code, 2);
  assert.equal(o.stderr.trim().split('\n').length, 1, o.stderr);
  assert.match(o.stderr, /Slurm rejected the #SBATCH line '--bogus-option=1'/);
  const rec = readRecord(out)!;
  assert.deepEqual(rec.submissions.map((x) => x.state), ['rejected', 'rejected'], 'each refusal is recorded with its error');
  assert.ok(rec.submissions.every((x) => x.error && fs.existsSync(x.script)));
  // A copy of slurm.conf pointing at a port nobody listens on.
  const conf = fs.readFileSync(process.env.SLURM_CONF ?? '/etc/slurm/slurm.conf', 'utf8').replace(/^SlurmctldPort=\d+/m, 'SlurmctldPort=1');
  const badConf = path.join(data, 'unreachable.conf');
  fs.writeFileSync(badConf, conf);
  const u = await reclf(base, { ...process.env, SLURM_CONF: badConf });
  assert.equal(u.code, 1);
  assert.equal(u.stderr.trim().split('\n').length, 1, u.stderr);
  assert.match(u.stderr, /cannot reach the Slurm controller/);
});
