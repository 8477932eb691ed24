import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveRunConfig } from '../../src/core/train/run-config';
import { runTraining } from '../../src/core/train/trainer';
import { initBackend } from '../../src/core/runtime/backend';
import { importSiim } from '../../src/core/data/importers/siim';
import { writeImport } from '../../src/core/data/importers/write';
import { copyFixture, makeImage } from '../core/data/importers/fixture-helpers';
import { repoRoot, tinyConfig, tinySynth } from '../helpers/tiny';

const BACKEND = process.env.RECLF_TEST_BACKEND ?? 'wasm';
let data: string;
let runDir: string;

before(async () => {
  const backend = await initBackend(BACKEND);
  data = await tinySynth(40, 7, 64);
  runDir = path.join(data, 'run');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 4 } }), 'reclf');
  await runTraining({ runDir, dataDir: data, config, resume: false, cancel: { requested: false }, backend: backend.name, device: 'test', listener: { emit: () => {}, log: () => {} } });
});

function reclf(...args: string[]): { status: number | null; stdout: string; stderr: string; events: { type: string; task?: string; metrics?: Record<string, number | null>; message?: string }[] } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'reclf.js'), ...args, '--backend', BACKEND], { encoding: 'utf8', cwd: repoRoot });
  const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, events };
}

test('reclf eval on the synthetic set: eval_result events, RUN/eval files, --json summary, timings', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-eval-')), 'all.json');
  const r = reclf('eval', '--run', runDir, '--data', data, '--split', 'valid', '--tasks', 'zeroshot,retrieval,grounding,relations,importance',
    '--max-prompts', '3', '--json', out);
  assert.equal(r.status, 0, r.stderr);
  const tasks = r.events.filter((e) => e.type === 'eval_result').map((e) => e.task);
  assert.deepEqual(tasks, ['zeroshot', 'retrieval', 'grounding', 'relations', 'importance']);
  for (const t of tasks) assert.ok(fs.existsSync(path.join(runDir, 'eval', `${t}.json`)));
  const all = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(all.results.length, 5);
  assert.match(r.stderr, /retrieval\s+[\d.]+ s/);
  // Per finding: the counts add up to the pooled count and the pooled reading is their weighted mean.
  const byTask = (t: string) => all.results.find((x: { task: string }) => x.task === t).metrics as Record<string, number>;
  for (const [task, reading, count] of [['grounding', 'pointing_game', 'words_scored'], ['grounding', 'oracle_pointing_game', 'words_scored'],
    ['relations', 'top1_accuracy', 'scored_finding_words']]) {
    const m = byTask(task);
    const labels = Object.keys(m).filter((k) => k.startsWith(`${count}/`)).map((k) => k.slice(count.length + 1));
    assert.ok(labels.length > 0 && labels.every((l) => /^[A-Z]/.test(l)), `${task}: per-finding labels ${labels.join(', ')}`);
    assert.equal(labels.reduce((s, l) => s + m[`${count}/${l}`], 0), m[count]);
    const weighted = labels.reduce((s, l) => s + m[`${reading}/${l}`] * m[`${count}/${l}`], 0) / m[count];
    assert.ok(Math.abs(weighted - m[reading]) < 1e-9, `${task}: ${weighted} against ${m[reading]}`);
  }
  // Second run reuses the feature cache.
  const again = reclf('eval', '--run', runDir, '--data', data, '--split', 'valid', '--tasks', 'retrieval');
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /from the feature cache/);
});

test('reclf eval: user mistakes are one clear line', () => {
  const bad = reclf('eval', '--run', runDir, '--data', data, '--tasks', 'zeroshot,telepathy');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown task 'telepathy'/);
  assert.doesNotMatch(bad.stderr, /at .*\.ts:\d+/);
  const noRun = reclf('eval', '--run', data, '--data', data);
  assert.notEqual(noRun.status, 0);
  assert.match(noRun.stderr, /not a run folder/);
});

test('reclf eval on a SIIM-format import (different label set, RLE masks): grounding and zero-shot run', async () => {
  const root = copyFixture('siim');
  const NEG = '1.2.276.0.7230010.3.1.4.8323329.5597.1517875188.959090';
  const POS = '1.2.276.0.7230010.3.1.4.8323329.4904.1517875185.355709';
  await makeImage(path.join(root, 'pngs', `${NEG}.png`), 90);
  await makeImage(path.join(root, 'pngs', `${POS}.png`), 160);
  const res = importSiim({ root, csv: 'train-rle.csv' });
  // Both studies in one split so the split can be evaluated on its own.
  res.studies.forEach((s) => { s.split = 'test'; });
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-siim-ds-'));
  await writeImport(res, out, 'copy');
  const r = reclf('eval', '--run', runDir, '--data', out, '--tasks', 'zeroshot,grounding,retrieval', '--max-prompts', '2');
  assert.equal(r.status, 0, r.stderr);
  const by = Object.fromEntries(r.events.filter((e) => e.type === 'eval_result').map((e) => [e.task, e.metrics!]));
  assert.ok(by.grounding && (by.grounding.studies ?? 0) >= 1);
  assert.ok(by.zeroshot && 'auroc/Pneumothorax' in by.zeroshot);
  assert.equal(by.retrieval.n, 2);
});

test('reclf ablate: trains each variant under one budget, writes the table, and skips finished runs on rerun', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-ablate-'));
  const cfg = path.join(out, 'tiny.reclf.json');
  fs.writeFileSync(cfg, JSON.stringify(tinyConfig()));
  const args = ['ablate', '--data', data, '--methods', 'convirt,reclf-no-srm', '--seeds', '1', '--budget', '2', '--out', out,
    '--tasks', 'retrieval,importance', '--split', 'valid', '--config', cfg];
  const r = reclf(...args);
  assert.equal(r.status, 0, r.stderr);
  const md = fs.readFileSync(path.join(out, 'ablation.md'), 'utf8');
  assert.match(md, /\| convirt \|/);
  assert.match(md, /\| reclf-no-srm \|/);
  const json = JSON.parse(fs.readFileSync(path.join(out, 'ablation.json'), 'utf8'));
  assert.deepEqual(json.rows.map((x: { variant: string }) => x.variant), ['convirt', 'reclf-no-srm']);
  const cfgUsed = JSON.parse(fs.readFileSync(path.join(out, 'reclf-no-srm-seed0', 'config.json'), 'utf8'));
  assert.equal(cfgUsed.method.srm, false);
  assert.equal(cfgUsed.train.maxSteps, 2);
  const again = reclf(...args);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /convirt seed 0: already evaluated, skipped/);
});
