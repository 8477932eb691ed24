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
import { isUserError } from '../../src/core/errors';
import { repoRoot, tinyConfig, tinySynth } from '../helpers/tiny';
import { killResumeMaxDiff } from '../helpers/kill-resume';
import { freeBytes, withTinyDisk } from '../helpers/tmpfs';

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
    // Thirds, not the first and last 3 steps: on 48 studies the per-step loss swings by 2x with
    // the batch (12 to 40 for mlip-no-category), so three steps say little about the trend.
    const third = Math.floor(losses.length / 3);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b) / xs.length;
    const head = mean(losses.slice(0, third));
    const tail = mean(losses.slice(-third));
    assert.ok(tail < head, `${method}: loss did not decrease (${head.toFixed(4)} -> ${tail.toFixed(4)})`);
    assert.ok(result.validation && Number.isFinite(result.validation.loss));
    assert.ok(fs.existsSync(path.join(runDir, 'config.json')) && fs.existsSync(path.join(runDir, 'vocab.txt')));
    assert.ok(listStepCheckpoints(runDir).length > 0);
    // Each logged step also gives the loss's terms (when it has more than one), summing to it.
    const metrics = events.filter((e) => e.type === 'metric' && e.split === 'train') as Array<{ name: string; value: number; step: number }>;
    const terms = metrics.filter((m) => m.name.startsWith('loss/'));
    if (method === 'convirt') {
      assert.equal(terms.length, 0, 'a one-term loss has no term curves');
    } else {
      for (const total of metrics.filter((m) => m.name === 'loss')) {
        const parts = terms.filter((m) => m.step === total.step);
        assert.ok(parts.length >= 2 && parts.some((m) => m.name === 'loss/global'), `${method} step ${total.step}: ${parts.map((m) => m.name)}`);
        const sum = parts.reduce((a, m) => a + m.value, 0);
        assert.ok(Math.abs(sum - total.value) <= 1e-4 * Math.max(1, Math.abs(total.value)), `${method} step ${total.step}: terms sum to ${sum}, loss ${total.value}`);
      }
    }
  });
}

test("RECLF's within-report location swap on re-encoded tokens (swapAt 'tokens') tells apart the batches whose swap on the features is a blind ln 2", async () => {
  const backend = await initBackend(process.env.RECLF_TEST_BACKEND ?? 'wasm');
  const swapTerms = async (swapAt: string): Promise<number[]> => {
    const method = { srm: true, srmStage: 'query', relationLogits: 'cosine', irm: 'lse', score: 'cosine', locationSwap: 'within-report', swapAt, localBatch: 0 };
    const config = resolveRunConfig(tinyConfig({ method, train: { epochs: 2, lr: 5e-3, logEvery: 1 } }), 'reclf');
    const { listener, events } = collect();
    const result = await runTraining({ runDir: tmpRun(), dataDir: data, config, resume: false, listener, cancel: { requested: false }, backend: backend.name, device: backend.device });
    assert.equal(result.status, 'ok');
    return events.flatMap((e) => (e.type === 'metric' && e.name === 'loss/swap' ? [e.value] : []));
  };
  const features = await swapTerms('features');
  const tokens = await swapTerms('tokens');
  assert.ok(features.length > 0 && tokens.length === features.length, `swap terms: ${features.length} on features, ${tokens.length} on tokens`);
  assert.ok(tokens.every(Number.isFinite));
  // Where every swapped location is one word, the swapped features are a permutation of the
  // report's own (positions included) and the term is exactly ln 2 (no gradient); the same
  // batches re-encoded from their tokens are told apart.
  const blind = features.flatMap((v, k) => (Math.abs(v - Math.log(2)) < 1e-6 ? [k] : []));
  assert.ok(blind.length > 0, `features: ${features}`);
  for (const k of blind) assert.ok(Math.abs(tokens[k] - Math.log(2)) > 1e-4, `step ${k + 1}: tokens ${tokens[k]}`);
});

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

test('a valid-split image that fails to decode is left out of validation with one warning naming the study, every epoch', async () => {
  const dir = await tinySynth(40, 5, 64);
  const manifest = path.join(dir, 'manifest.jsonl');
  const lines = fs.readFileSync(manifest, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; image: string; split: string });
  // The first valid study: inside the first full validation batch.
  const bad = lines.find((r) => r.split === 'valid')!;
  fs.writeFileSync(path.join(dir, bad.image), Buffer.from('definitely not a png'));
  await initBackend('wasm');
  const config = resolveRunConfig(tinyConfig({ train: { epochs: 2 } }), 'convirt');
  const { listener, events } = collect();
  const result = await runTraining({ runDir: tmpRun(), dataDir: dir, config, resume: false, listener, cancel: { requested: false }, backend: 'wasm', device: 'cpu' });
  assert.equal(result.status, 'ok');
  assert.equal(events.filter((e) => e.type === 'metric' && e.split === 'valid' && e.name === 'loss').length, 2, 'validated after each epoch');
  const warnings = events.filter((e) => e.type === 'warning') as { message: string; record?: string }[];
  const mine = warnings.filter((w) => w.record === bad.id);
  assert.equal(mine.length, 1, JSON.stringify(warnings));
  assert.match(mine[0].message, new RegExp(`^skipped ${bad.id}: .*cannot decode image`));
  assert.ok(result.validation && Number.isFinite(result.validation.loss) && result.validation.pairs === 7, JSON.stringify(result.validation));
  assert.equal(result.skippedRecords, 1);
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

test('--preset starts from a named config that --config and flags refine; a preset cannot train another method or a resumed run', () => {
  const dir = tmpRun();
  const cfg = path.join(dir, 'mine.reclf.json');
  fs.writeFileSync(cfg, JSON.stringify({ method: { gamma1: 6 }, train: { lr: 1e-3 } }));
  const r = reclf(['train', '--data', data, '--out', path.join(dir, 'run'), '--preset', 'grounding', '--config', cfg, '--seed', '3', '--print-config']);
  assert.equal(r.status, 0, r.stderr);
  const c = JSON.parse(r.stdout);
  assert.equal(c.model.image.localStage, 2);
  assert.equal(c.model.regionPositions, true);
  assert.equal(c.method.srmStage, 'query');
  assert.equal(c.method.gamma1, 6, 'the config file refines the preset');
  assert.equal(c.train.lr, 1e-3);
  assert.equal(c.train.seed, 3, 'flags too');
  const other = reclf(['train', '--data', data, '--out', path.join(dir, 'run'), '--preset', 'grounding', '--method', 'gloria', '--print-config']);
  assert.equal(other.status, 2);
  assert.match(other.stderr, /--preset grounding is a reclf setting; it cannot train method 'gloria'/);
  const unknown = reclf(['train', '--data', data, '--out', path.join(dir, 'run'), '--preset', 'best', '--print-config']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown preset 'best' \(choose default, grounding, paper\)/);
  const resumed = reclf(['train', '--data', data, '--out', path.join(dir, 'run'), '--preset', 'grounding', '--resume']);
  assert.notEqual(resumed.status, 0);
  assert.match(resumed.stderr, /--preset starts a new run/);
  assert.equal(fs.existsSync(path.join(dir, 'run')), false, 'nothing written');
});

test('kill -9 mid-training, then --resume, ends with the same weights as an uninterrupted run (cpu backend)', async () => {
  const dir = tmpRun();
  const cfg = path.join(dir, 'tiny.reclf.json');
  fs.writeFileSync(cfg, JSON.stringify(tinyConfig({ train: { maxSteps: 10, checkpointEvery: 2, epochs: 20 } })));
  const common = ['train', '--data', data, '--method', 'reclf', '--config', cfg, '--backend', 'cpu', '--seed', '4'];
  const { maxDiff, resumedStdout } = await killResumeMaxDiff(common, dir, 10);
  assert.match(resumedStdout, /"resumed_from_step":\d+/);
  assert.ok(maxDiff <= 1e-5, `max weight difference ${maxDiff}`);
});

function collectWithLogs(): { listener: TrainListener; events: EngineEvent[]; logs: string[] } {
  const events: EngineEvent[] = [];
  const logs: string[] = [];
  return { events, logs, listener: { emit: (e) => events.push(e), log: (m) => logs.push(m) } };
}

test('--resume passes over an unreadable checkpoint with a warning, says where it resumed, clears stale temp files; refuses when none can be read', async () => {
  await initBackend('wasm');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 4, checkpointEvery: 2, keepLast: 3 } }), 'convirt');
  const runDir = tmpRun();
  const first = await runTraining({ runDir, dataDir: data, config, resume: false, listener: collect().listener, cancel: { requested: false }, backend: 'wasm', device: 'cpu' });
  assert.equal(first.step, 4);
  const ckdir = path.join(runDir, 'checkpoints');
  assert.deepEqual(listStepCheckpoints(runDir).map((c) => c.step), [2, 4]);
  // A kill mid-write leaves a temp file; a disk that filled left a torn newest checkpoint.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  const stale = path.join(ckdir, `.step-00000006.safetensors.${dead}.1700000000000-0.tmp`);
  fs.writeFileSync(stale, Buffer.alloc(4096));
  fs.truncateSync(path.join(ckdir, 'step-00000004.safetensors'), 1000);

  const { listener, events, logs } = collectWithLogs();
  const resumed = await runTraining({ runDir, dataDir: data, config, resume: true, listener, cancel: { requested: false }, backend: 'wasm', device: 'cpu' });
  assert.equal(resumed.status, 'ok');
  assert.equal(resumed.step, 4);
  assert.equal(fs.existsSync(stale), false, 'stale temp file removed');
  assert.ok(logs.some((l) => /removed 1 unfinished temp file/.test(l)), logs.join('\n'));
  const warnings = events.filter((e) => e.type === 'warning').map((e) => (e as { message: string }).message);
  assert.ok(warnings.some((w) => /skipped unreadable checkpoint checkpoints\/step-00000004\.safetensors: .*truncated/.test(w)), warnings.join('\n'));
  assert.ok(logs.includes(`resumed from ${path.join(ckdir, 'step-00000002.safetensors')} at step 2`), logs.join('\n'));
  assert.equal((events.find((e) => e.type === 'run_started') as { resumed_from_step?: number }).resumed_from_step, 2);
  const prov = JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')).provenance;
  assert.deepEqual(prov.resumedFrom, { checkpoint: path.join('checkpoints', 'step-00000002.safetensors'), step: 2 });
  assert.equal(prov.earlier.length, 1);

  // Every checkpoint damaged: no silent restart from step 0.
  for (const f of fs.readdirSync(ckdir)) fs.truncateSync(path.join(ckdir, f), 50);
  const before = fs.readdirSync(ckdir).sort();
  const again = collectWithLogs();
  await assert.rejects(
    runTraining({ runDir, dataDir: data, config, resume: true, listener: again.listener, cancel: { requested: false }, backend: 'wasm', device: 'cpu' }),
    (e: unknown) => {
      assert.ok(isUserError(e));
      assert.match((e as Error).message, /^cannot resume .*: none of its \d+ checkpoint\(s\) can be read \(.*truncated.*\); move the checkpoints folder away/);
      return true;
    },
  );
  assert.equal(again.events.filter((e) => e.type === 'warning').length, before.length);
  assert.equal(again.events.some((e) => e.type === 'run_started'), false);
  assert.deepEqual(fs.readdirSync(ckdir).sort(), before);
});

test('disk full during training: run_finished failed with a one-line error, no torn checkpoint; once space is back --resume continues from the last complete one', async (t) => {
  const dir = tmpRun();
  const cfg = path.join(dir, 'tiny.reclf.json');
  fs.writeFileSync(cfg, JSON.stringify(tinyConfig({ train: { maxSteps: 40, checkpointEvery: 2, epochs: 20 } })));
  await withTinyDisk(t, 4, async (mnt) => {
    const out = path.join(mnt, 'run');
    const common = ['train', '--data', data, '--method', 'reclf', '--config', cfg, '--backend', 'wasm', '--out', out];
    const filler = path.join(mnt, 'filler');
    const full = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'reclf.js'), ...common], { cwd: repoRoot });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /"type":"checkpoint","path":"([^"]+)"/.exec(stdout);
        if (m && !fs.existsSync(filler)) {
          // Leave half a checkpoint of space: the next checkpoint write runs out mid-file.
          const size = fs.statSync(path.join(out, m[1])).size;
          fs.writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(mnt) - Math.floor(size / 2))));
        }
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(full.code, 1, full.stderr);
    assert.match(full.stderr, /^reclf train: cannot write \S+\.safetensors: no space left on device \(ENOSPC\)$/m);
    assert.doesNotMatch(full.stderr, /internal error|\n\s+at .*:\d+:\d+/);
    const events = full.stdout.trim().split('\n').map((l) => JSON.parse(l) as EngineEvent);
    assert.deepEqual(events.at(-2), { type: 'error', code: 'io_error', message: (events.at(-2) as { message: string }).message });
    assert.equal(events.at(-1)?.type, 'run_finished');
    assert.equal((events.at(-1) as { status: string }).status, 'failed');
    const steps = listStepCheckpoints(out);
    assert.ok(steps.length > 0);
    for (const c of steps) assert.equal(readCheckpoint(c.file).state.step, c.step);
    assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).filter((f) => f.endsWith('.tmp')), []);

    // Space back: resume from the last complete checkpoint, say so, and stop it after one step.
    fs.rmSync(filler);
    const last = steps.at(-1)!;
    const resumed = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'reclf.js'), ...common, '--resume'], { cwd: repoRoot });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('"type":"progress"')) child.kill('SIGINT'); });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(resumed.code, 130, resumed.stderr);
    assert.ok(resumed.stderr.includes(`resumed from ${last.file} at step ${last.step}`), resumed.stderr);
  });
});
