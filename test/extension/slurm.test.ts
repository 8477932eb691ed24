// The editor side of the Slurm executor (#16 item 5): the cluster is offered only where sbatch is
// found, the engine gets `--executor slurm` (and follows an ablation with --wait), cancel becomes
// `reclf jobs DIR --cancel` (scancel), and the runs tree shows queued/running/requeued/failed
// tasks with their job ids. No real cluster: a fake `sbatch` file marks a folder as having one.
import { mock, vscodeMock, fakeLog, Memento, Uri } from './vscode-mock';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from '../../src/engine/args';
import { commands as engineCommands } from '../../src/engine/commands/index';
import { registerCommands, type Services } from '../../src/extension/commands';
import type { RunRequest } from '../../src/extension/run-manager';
import { RunStore, type RunEntry } from '../../src/extension/run-store';
import { AblationItem, RunItem } from '../../src/extension/runs-tree';
import { cancelJobsArgs, findSlurm, slurmArgs, SLURM_CLUSTER, THIS_MACHINE } from '../../src/extension/slurm';
import type { EngineEvent } from '../../src/protocol/events';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-slurm-ext-'));
const dataDir = path.join(tmp, 'data');
const runsDir = path.join(tmp, 'runs');
const line = (e: EngineEvent): string => JSON.stringify(e) + '\n';

/** A folder with an executable `sbatch` (a cluster's client tools, as far as detection goes). */
function slurmBin(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'sbatch'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return dir;
}

function engineParse(name: string, argv: string[]) {
  const cmd = engineCommands.find((c) => c.spec.name === name);
  assert.ok(cmd, name);
  return parseArgs(cmd.spec, argv);
}

test('findSlurm: sbatch in the configured folder, else on PATH; a configured folder without it means no cluster', () => {
  const bin = slurmBin('bin-a');
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty, { recursive: true });
  assert.deepEqual(findSlurm(bin, { PATH: '' }), { sbatch: path.join(bin, 'sbatch'), binDir: bin });
  assert.deepEqual(findSlurm(undefined, { PATH: [empty, bin].join(path.delimiter) }), { sbatch: path.join(bin, 'sbatch') });
  assert.equal(findSlurm(empty, { PATH: bin }), undefined, 'the setting wins over PATH');
  assert.equal(findSlurm(undefined, { PATH: empty }), undefined);
  // Not executable, or found only through a relative PATH entry: not offered.
  const noexec = path.join(tmp, 'noexec');
  fs.mkdirSync(noexec, { recursive: true });
  fs.writeFileSync(path.join(noexec, 'sbatch'), '', { mode: 0o644 });
  if (process.platform !== 'win32') assert.equal(findSlurm(undefined, { PATH: noexec }), undefined);
  assert.equal(findSlurm(undefined, { PATH: path.relative(process.cwd(), bin) }), undefined);
});

test('slurmArgs and cancelJobsArgs are command lines the engine accepts', () => {
  const bin = slurmBin('bin-b');
  const ab = engineParse('ablate', ['--data', dataDir, '--budget', '4', '--out', path.join(runsDir, 'a'),
    ...slurmArgs({ sbatch: path.join(bin, 'sbatch'), binDir: bin }, ['--partition', 'gpu', '--gpus', '1'], true)]);
  assert.deepEqual([ab.flags.executor, ab.flags.slurmBin, ab.flags.wait, ab.flags.partition, ab.flags.gpus], ['slurm', bin, true, 'gpu', 1]);
  // PATH's sbatch: no --slurm-bin (the engine looks on PATH too).
  assert.deepEqual(slurmArgs({ sbatch: '/usr/bin/sbatch' }, [], false), ['--executor', 'slurm']);
  const argv = cancelJobsArgs(path.join(runsDir, 'a'), bin);
  assert.equal(argv[0], 'jobs');
  const jobs = engineParse('jobs', argv.slice(1));
  assert.deepEqual([jobs.positionals, jobs.flags.cancel, jobs.flags.slurmBin], [[path.join(runsDir, 'a')], true, bin]);
  assert.deepEqual(cancelJobsArgs('/x', undefined), ['jobs', '/x', '--cancel']);
});

// ---- commands ------------------------------------------------------------------------------

interface Asked { title: string; labels: string[] }

/** Scripted answers: quick picks by label (in order), input boxes take their proposed value. */
function installDialogs(picks: string[], asked: Asked[]): void {
  const w = vscodeMock.window as unknown as Record<string, unknown>;
  w.showQuickPick = (items: Array<string | { label: string }>, o?: { title?: string; canPickMany?: boolean }) => {
    const labels = items.map((i) => (typeof i === 'string' ? i : i.label));
    asked.push({ title: o?.title ?? '', labels });
    const want = picks.shift();
    const found = items.find((i) => (typeof i === 'string' ? i : i.label) === want);
    return Promise.resolve(o?.canPickMany ? (found ? [found] : []) : found);
  };
  w.showInputBox = (o: { value?: string }) => Promise.resolve(o.value);
  w.showOpenDialog = () => Promise.resolve([Uri.file(dataDir)]);
  w.setStatusBarMessage = () => undefined;
}

function services(started: RunRequest[], cancelled: string[], entries: RunEntry[] = []): Services {
  const runs = {
    start: (r: RunRequest) => { started.push(r); return Promise.resolve({ status: 'ok', events: [], stdout: [], exit: { code: 0, signal: null } }); },
    running: [], isRunning: () => false, cancel: (k: string) => { cancelled.push(k); return Promise.resolve(true); },
  };
  const tree = { runs: () => entries.filter((e) => e.kind === 'run'), ablations: () => entries.filter((e) => e.kind === 'ablation'), refresh: () => undefined };
  return {
    runs, tree, panel: { showTable: () => undefined, reveal: () => Promise.resolve() }, explain: {},
    models: { current: () => undefined, describe: () => 'no model', select: () => Promise.resolve() },
    hovers: { reset: () => undefined }, log: fakeLog(), workspaceState: new Memento(),
  } as unknown as Services;
}

async function ablateWith(binDir: string, picks: string[]): Promise<{ asked: Asked[]; started: RunRequest[] }> {
  mock.reset();
  mock.config = { runsFolder: runsDir, defaultBackend: 'cpu', 'slurm.binDir': binDir, 'slurm.args': ['--partition', 'debug'] };
  const asked: Asked[] = [];
  installDialogs(picks, asked);
  const started: RunRequest[] = [];
  registerCommands(services(started, []));
  await mock.commands.get('reclf.ablate')!();
  return { asked, started };
}

test('Run Ablation asks "This machine" or "Slurm cluster" only where sbatch is found', async () => {
  const none = path.join(tmp, 'no-slurm');
  fs.mkdirSync(none, { recursive: true });
  const local = await ablateWith(none, ['reclf']);
  assert.ok(!local.asked.some((a) => a.labels.includes(SLURM_CLUSTER)), 'no cluster offered without sbatch');
  assert.equal(local.started.length, 1);
  assert.ok(!local.started[0].args.includes('--executor'));

  const bin = slurmBin('bin-c');
  const here = await ablateWith(bin, ['reclf', THIS_MACHINE]);
  const where = here.asked.find((a) => a.labels.includes(SLURM_CLUSTER));
  assert.ok(where, 'the executor choice is offered');
  assert.deepEqual(where.labels, [THIS_MACHINE, SLURM_CLUSTER]);
  assert.match(where.title, /where to run the ablation \(1 runs\)/);
  assert.ok(!here.started[0].args.includes('--executor'), 'This machine runs locally');

  const cluster = await ablateWith(bin, ['reclf', SLURM_CLUSTER]);
  const req = cluster.started[0];
  assert.equal(req.kind, 'ablation');
  assert.match(req.title, /on Slurm/);
  const parsed = engineParse('ablate', req.args.slice(1));
  assert.deepEqual([parsed.flags.executor, parsed.flags.slurmBin, parsed.flags.wait, parsed.flags.partition], ['slurm', bin, true, 'debug']);
  assert.ok(req.folder && String(parsed.flags.out) === req.folder, 'the tree follows the ablation folder');

  // Escape on the executor choice: nothing starts.
  const left = await ablateWith(bin, ['reclf']);
  assert.equal(left.started.length, 0);
});

test('Train on Slurm submits (no --wait) and says the tree follows it; locally nothing changes', async () => {
  const bin = slurmBin('bin-d');
  mock.reset();
  mock.config = { runsFolder: runsDir, defaultBackend: 'cpu', 'slurm.binDir': bin };
  const asked: Asked[] = [];
  installDialogs(['reclf', '(defaults)', SLURM_CLUSTER], asked);
  const started: RunRequest[] = [];
  registerCommands(services(started, []));
  await mock.commands.get('reclf.train')!();
  assert.equal(started.length, 1);
  const parsed = engineParse('train', started[0].args.slice(1));
  assert.deepEqual([parsed.flags.executor, parsed.flags.slurmBin, parsed.flags.wait], ['slurm', bin, undefined]);
  assert.equal(started[0].runDir, undefined, 'the submitter is not followed as a detached training process');
  assert.ok(mock.shown.some((m) => /submitted to Slurm/.test(m.message)), JSON.stringify(mock.shown));
});

// ---- cancel and the tree -----------------------------------------------------------------------

const task = (variant: string, seed: number, index: number, state: string, jobId?: string, extra: Record<string, unknown> = {}): EngineEvent =>
  ({ type: 'ablation_task', variant, seed, index, total: 4, state, run_dir: `${variant}-seed${seed}`, ...(jobId ? { job_id: jobId } : {}), ...extra } as EngineEvent);

/** An ablation handed to Slurm, as the engine leaves it: spec events, task states, slurm.json. */
function slurmAblation(root: string, name: string, events: EngineEvent[], ageMs = 0): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), [
    { type: 'ablation_started', ablation_dir: dir, variants: ['reclf', 'convirt'], seeds: [0, 1], total_runs: 4, executor: 'slurm' } as EngineEvent,
    ...events,
  ].map(line).join(''));
  fs.writeFileSync(path.join(dir, 'slurm.json'), JSON.stringify({ jobName: 'reclf-x', submissions: [{ n: 1, state: 'submitted', jobId: '4242', runs: [] }] }));
  if (ageMs) {
    const t = new Date(Date.now() - ageMs);
    fs.utimesSync(path.join(dir, 'events.jsonl'), t, t);
  }
  return dir;
}

test('the runs tree shows a Slurm ablation\'s queued/running/requeued/failed tasks with their job ids', () => {
  const root = fs.mkdtempSync(path.join(tmp, 'store-'));
  // An hour in the queue without a word: still alive (the scheduler holds it), not "incomplete".
  const dir = slurmAblation(root, 'abl', [
    task('reclf', 0, 1, 'queued', '4242_0'), task('reclf', 1, 2, 'queued', '4242_1'), task('convirt', 0, 3, 'queued', '4242_2'), task('convirt', 1, 4, 'queued', '4242_3'),
    task('reclf', 0, 1, 'running', '4242_0'), task('reclf', 0, 1, 'finished', '4242_0', { metric: { name: 'i2t@1', value: 0.25 } }),
    task('reclf', 1, 2, 'running', '4242_1'), task('reclf', 1, 2, 'requeued', '4242_1'),
    task('convirt', 0, 3, 'failed', '4242_2', { message: 'failed 3 times; log: /x/slurm-4242_2.log' }),
  ], 3600_000);
  const store = new RunStore({ folder: () => root, isRunning: () => false, watch: false });
  store.scan();
  const [e] = store.list();
  assert.equal(e.kind, 'ablation');
  assert.equal(e.slurmJob, '4242');
  // Nothing running and one task requeued: the grid waits in the queue again (not "incomplete").
  assert.equal(e.job.state, 'requeued', `state ${e.job.state}`);
  const item = new AblationItem(e);
  assert.match(String(item.description), /on Slurm \(job 4242\)/);
  assert.equal(item.contextValue, 'reclfAblation.running', 'Cancel is offered');
  const cells = item.cells().map((c) => `${String(c.label)}: ${String(c.description)}`);
  assert.deepEqual(cells, [
    'reclf · seed 0: finished · job 4242_0 · i2t@1 25.0%',
    'reclf · seed 1: requeued · job 4242_1',
    'convirt · seed 0: failed · job 4242_2',
    'convirt · seed 1: queued · job 4242_3',
  ]);
  assert.equal(item.cells()[2].tooltip, 'failed 3 times; log: /x/slurm-4242_2.log');
  store.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a training run submitted to Slurm is listed while queued (before it writes any event)', () => {
  const root = fs.mkdtempSync(path.join(tmp, 'store-'));
  const dir = path.join(root, 'queued-run');
  fs.mkdirSync(path.join(dir, 'slurm'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'slurm.json'), JSON.stringify({ jobName: 'reclf-q', submissions: [{ n: 1, state: 'submitted', jobId: '77' }] }));
  const store = new RunStore({ folder: () => root, isRunning: () => false, watch: false });
  store.scan();
  const [e] = store.list();
  assert.equal(e.name, 'queued-run');
  assert.equal(e.slurmJob, '77');
  const item = new RunItem(e);
  assert.match(String(item.description), /queued on Slurm · job 77/);
  assert.match(String(item.contextValue), /^reclfRun\.running/);
  store.dispose();
});

test('Cancel on a Slurm ablation runs `reclf jobs DIR --cancel` (scancel) and stops the follower', async () => {
  const root = fs.mkdtempSync(path.join(tmp, 'store-'));
  const dir = slurmAblation(root, 'abl2', [task('reclf', 0, 1, 'running', '4242_0')]);
  const bin = slurmBin('bin-e');
  const store = new RunStore({ folder: () => root, isRunning: () => false, watch: false });
  store.scan();
  const entry = store.list()[0];

  // From the tree's context menu.
  mock.reset();
  mock.config = { runsFolder: root, 'slurm.binDir': bin };
  let started: RunRequest[] = [];
  let cancelled: string[] = [];
  registerCommands(services(started, cancelled, [entry]));
  await mock.commands.get('reclf.cancel')!({ run: entry });
  assert.deepEqual(started.map((r) => r.args), [['jobs', dir, '--cancel', '--slurm-bin', bin]]);
  assert.deepEqual(cancelled, [dir]);

  // From the palette, with no process of this window following it (e.g. after a reload).
  mock.reset();
  mock.config = { runsFolder: root };
  started = [];
  cancelled = [];
  installDialogs([], []);
  registerCommands(services(started, cancelled, [entry]));
  await mock.commands.get('reclf.cancel')!();
  assert.deepEqual(started.map((r) => r.args), [['jobs', dir, '--cancel']]);

  // A local run is cancelled as before: no jobs command.
  const localDir = path.join(root, 'local-run');
  fs.mkdirSync(localDir);
  mock.reset();
  started = [];
  cancelled = [];
  registerCommands(services(started, cancelled));
  await mock.commands.get('reclf.cancel')!({ run: { dir: localDir } });
  assert.deepEqual([started.length, cancelled], [0, [localDir]]);
  store.dispose();
});

test('Cancel on one cell of a Slurm ablation asks, then cancels the grid (reclf jobs cancels all its tasks)', async () => {
  const root = fs.mkdtempSync(path.join(tmp, 'store-'));
  const dir = slurmAblation(root, 'abl3', [task('reclf', 0, 1, 'running', '4242_0')]);
  const ablation = { dir, name: 'abl3' };
  const cell = { dir: path.join(dir, 'reclf-seed0'), name: 'reclf-seed0' };
  for (const [answer, expected] of [[undefined, []], ['Cancel All Tasks', [['jobs', dir, '--cancel']]]] as const) {
    mock.reset();
    mock.answer = answer;
    const started: RunRequest[] = [];
    registerCommands(services(started, []));
    await mock.commands.get('reclf.cancel')!({ run: cell, ablation });
    assert.match(mock.shown[0].message, /runs on Slurm; cancelling stops all its queued and running tasks/);
    assert.deepEqual(started.map((r) => r.args), expected);
  }
});
