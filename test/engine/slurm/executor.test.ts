// The Slurm executor without a cluster: the job script (checked by bash -n), options from the
// schema, config group and flags, Slurm's failures turned into one line, squeue parsing, which
// tasks are resubmitted, GPU placement from a fake environment, and a missing sbatch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ablationScript, arraySpec, runScript, shQuote } from '../../../src/engine/slurm/script';
import { resolveSlurmOptions } from '../../../src/engine/slurm/config';
import { describeFailure, parseSqueue, SQUEUE_FORMAT } from '../../../src/engine/slurm/cli';
import { planSubmission, taskStatuses } from '../../../src/engine/slurm/ablation-executor';
import { writeSpec, type AblationSpec } from '../../../src/engine/slurm/ablation-folder';
import { gpuPlacement, readGpuPlacement } from '../../../src/engine/slurm/gpu-placement';
import { parseArgs } from '../../../src/engine/args';
import { ablateCommand } from '../../../src/engine/commands/ablate';
import { runMain } from '../../helpers/run-main';

const OPTS = resolveSlurmOptions({ partition: 'gpu', sbatchLines: ['--constraint=a100,h100'] }, parseArgs(ablateCommand.spec, ['--mem', '2G', '--max-parallel', '2', '--sbatch-line=--exclusive', '--gpus', '1']).flags);

test('options: schema defaults, then the config group, then flags; bad values refused in one line', () => {
  assert.equal(OPTS.partition, 'gpu');
  assert.equal(OPTS.mem, '2G', 'flag over default');
  assert.equal(OPTS.time, '12:00:00', 'schema default');
  assert.equal(OPTS.cpusPerTask, 4);
  assert.equal(OPTS.signalSeconds, 120);
  assert.equal(OPTS.retry, 2);
  assert.deepEqual(OPTS.sbatchLines, ['--constraint=a100,h100', '--exclusive'], 'repeatable, commas kept');
  assert.equal(OPTS.nodePath, process.execPath);
  assert.match(OPTS.enginePath, /bin[/\\]reclf\.js$/);
  const refuse = (argv: string[], re: RegExp): void => {
    assert.throws(() => resolveSlurmOptions(undefined, parseArgs(ablateCommand.spec, argv).flags), (e: unknown) => re.test((e as Error).message) && !(e as Error).message.includes('\n'));
  };
  refuse(['--partition', 'a b'], /--partition 'a b': one word/);
  refuse(['--cpus-per-task', '0'], /--cpus-per-task must be an integer >= 1/);
  refuse(['--sbatch-line', 'constraint=x'], /--sbatch-line 'constraint=x': expected one sbatch option/);
  assert.throws(() => resolveSlurmOptions(undefined, parseArgs(ablateCommand.spec, ['--time', "1'; rm"]).flags), /--time .*one word/);
});

test('the array job script: directives, grid indices with %N, signals, requeue; valid bash', () => {
  assert.equal(arraySpec([3, 0, 1, 2, 6, 8, 7], 0), '0-3,6-8');
  assert.equal(arraySpec([1, 3], 2), '1,3%2');
  assert.equal(shQuote("it's"), `'it'\\''s'`);
  const s = ablationScript({
    dir: '/abl dir', jobName: 'reclf-abl-1', runs: ['a-seed0', 'a-seed1', 'b-seed0'], indices: [0, 2], options: OPTS, scontrol: '/usr/bin/scontrol', created: 'now',
  });
  for (const line of ['#SBATCH --array=0,2%2', '#SBATCH --job-name=reclf-abl-1', '#SBATCH --partition=gpu', '#SBATCH --gres=gpu:1', '#SBATCH --requeue',
    '#SBATCH --signal=B:USR1@120', '#SBATCH --mem=2G', '#SBATCH --constraint=a100,h100', '#SBATCH --exclusive', "ABLATION='/abl dir'", 'RUNS=(a-seed0 a-seed1 b-seed0)']) {
    assert.ok(s.includes(line + '\n'), `missing ${line}\n${s}`);
  }
  assert.ok(s.indexOf('--exclusive') > s.indexOf('--mem='), "the user's lines come last (they override)");
  assert.match(s, /ablate --out "\$ABLATION" --task "\$NAME"/);
  assert.match(s, /"\$SCONTROL" requeue "\$JOB"/);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-sbatch-')), 'a.sbatch');
  fs.writeFileSync(file, s);
  assert.equal(spawnSync('bash', ['-n', file]).status, 0);
  const r = runScript({ runDir: '/runs/r1', jobName: 'j', argv: ['--data=/d', '--out=/runs/r1'], kind: 'train', options: OPTS, scontrol: 'scontrol', created: 'now' });
  fs.writeFileSync(file, r);
  assert.equal(spawnSync('bash', ['-n', file]).status, 0);
  assert.match(r, /train --data=\/d --out=\/runs\/r1 "\$\{RESUME\[@\]\}"/);
  assert.match(r, /\[ -f "\$RUN\/config.json" \] && RESUME=\(--resume\)/);
});

test("Slurm's refusals become one line naming the problem", () => {
  const fail = (stderr: string, ctx = {}): string => describeFailure('sbatch', { stdout: '', stderr, code: 1 }, ctx).message;
  assert.match(fail('sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified\n', { partition: 'nope' }),
    /^unknown partition 'nope': .*sinfo/);
  assert.match(fail('sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)\n'), /^cannot reach the Slurm controller/);
  assert.match(fail("sbatch: unrecognized option '--bogus=1'\nTry \"sbatch --help\" for more information\n", { sbatchLines: ['--bogus=1'] }),
    /^Slurm rejected the #SBATCH line '--bogus=1'/);
  assert.match(fail('sbatch: error: Invalid --mem specification\n'), /^Slurm rejected the #SBATCH line '--mem'/);
  for (const m of [fail('x\ny\n'), fail('')]) assert.ok(!m.includes('\n'));
  const e = describeFailure('sbatch', { stdout: '', stderr: 'sbatch: error: invalid partition specified: x', code: 1 }, { partition: 'x' });
  assert.equal(e.exitCode, 2);
});

test('squeue lines: array tasks with their state and reason', () => {
  assert.equal(SQUEUE_FORMAT, '%i|%F|%K|%T|%r|%M');
  const q = parseSqueue('12_0|12|0|RUNNING|None|0:05\n12_1|12|1|PENDING|JobArrayTaskLimit|0:00\n13|13|N/A|PENDING|Priority|0:00\ngarbage\n');
  assert.deepEqual(q.map((e) => [e.jobId, e.taskId, e.state, e.reason]), [['12_0', 0, 'RUNNING', 'None'], ['12_1', 1, 'PENDING', 'JobArrayTaskLimit'], ['13', undefined, 'PENDING', 'Priority']]);
});

test('task states from the queue and the run folders; resubmission skips finished, live and exhausted tasks', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-abl-state-'));
  const spec: AblationSpec = { version: 1, data: '/d', methods: ['a', 'b'], seeds: 3, budget: 4, split: 'valid', evalSeeds: 1, tasks: ['retrieval'] };
  writeSpec(dir, spec);
  const attempt = (run: string, exit: number, n = 1): void => {
    fs.mkdirSync(path.join(dir, run), { recursive: true });
    for (let i = 0; i < n; i++) fs.appendFileSync(path.join(dir, run, 'slurm-attempts.jsonl'), JSON.stringify({ job: `7_${i}`, restart: 0, exit, requeue: 0, time: 't' }) + '\n');
  };
  fs.mkdirSync(path.join(dir, 'a-seed0', 'eval'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a-seed0', 'eval', 'summary.json'), JSON.stringify({ results: [{ task: 'retrieval', metrics: { 'i2t_R@1': 0.5 } }], skipped: [] }));
  attempt('a-seed2', 143); // cancelled
  attempt('b-seed0', 2, 3); // failed 3 times
  attempt('b-seed1', 1, 1); // failed once
  const record = { jobName: 'j', submissions: [{ n: 1, at: 't', script: 's', indices: [0, 1, 2, 3, 4, 5], runs: [], state: 'submitted' as const, jobId: '7' }] };
  const queue = new Map([[1, { jobId: '7_1', arrayJobId: '7', taskId: 1, state: 'RUNNING', reason: 'None', elapsed: '0:03' }], [5, { jobId: '7_5', arrayJobId: '7', taskId: 5, state: 'PENDING', reason: 'BeginTime', elapsed: '0:00' }]]);
  const st = taskStatuses(dir, spec, record, queue);
  assert.deepEqual(st.map((s) => [s.name, s.state, s.failures]), [
    ['a-seed0', 'finished', 0], ['a-seed1', 'running', 0], ['a-seed2', 'cancelled', 0], ['b-seed0', 'failed', 3], ['b-seed1', 'failed', 1], ['b-seed2', 'requeued', 0],
  ]);
  assert.deepEqual(st[0].metric, { name: 'retrieval/i2t_R@1', value: 0.5 });
  assert.match(st[3].message ?? '', /exit 2; log .*b-seed0[/\\]slurm-7_2\.log/);
  const plan = planSubmission(st, 2);
  assert.deepEqual(plan.submit.map((t) => t.name), ['a-seed2', 'b-seed1']);
  assert.deepEqual(plan.exhausted.map((t) => t.name), ['b-seed0']);
  // Without a queue (controller unreachable, or a local ablation) nothing is called running on the files' word alone.
  assert.equal(taskStatuses(dir, spec, undefined, undefined)[1].state, 'pending');
});

test('GPU placement from the Slurm environment, said in one line for the run header', () => {
  assert.equal(readGpuPlacement({}), undefined);
  assert.equal(gpuPlacement({ PATH: '/bin' }, 'webgpu'), undefined);
  const env = { SLURM_JOB_GPUS: '2', CUDA_VISIBLE_DEVICES: '0' };
  assert.deepEqual(readGpuPlacement(env), { allocated: ['2'], visible: ['0'], source: 'SLURM_JOB_GPUS=2, CUDA_VISIBLE_DEVICES=0' });
  assert.match(gpuPlacement(env, 'tfjs-node-gpu')!, /^GPU 2 of this node .*CUDA sees only the allocated device, as device 0$/);
  assert.match(gpuPlacement(env, 'webgpu')!, /Dawn takes its high-performance adapter .*ConstrainDevices.*RECLF_WEBGPU_ADAPTER/);
  assert.match(gpuPlacement({ ...env, RECLF_WEBGPU_ADAPTER: 'NVIDIA A100' }, 'webgpu')!, /chosen by name, RECLF_WEBGPU_ADAPTER='NVIDIA A100'/);
  assert.match(gpuPlacement({ GPU_DEVICE_ORDINAL: '1,3' }, 'webgpu')!, /^GPU 1,3 \(GPU_DEVICE_ORDINAL=1,3\).*the first visible \(1\)/);
  assert.match(gpuPlacement({ SLURM_STEP_GPUS: '0' }, 'wasm')!, /backend wasm runs on the CPU/);
});

test('a missing sbatch: one line naming it, exit 1, nothing written to the cluster record', async () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-nosbatch-'));
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-nobin-'));
  const out = path.join(data, 'abl');
  const r = await runMain(['ablate', '--data', data, '--budget', '2', '--methods', 'convirt', '--seeds', '1', '--out', out, '--executor', 'slurm', '--slurm-bin', empty]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /sbatch not found in .*--slurm-bin/);
  assert.ok(!fs.existsSync(path.join(out, 'slurm.json')));
  const local = await runMain(['ablate', '--data', data, '--budget', '2', '--out', out, '--partition', 'x']);
  assert.equal(local.code, 2);
  assert.match(local.stderr, /--partition only apply with --executor slurm/);
});
