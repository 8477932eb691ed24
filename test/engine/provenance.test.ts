// A run folder records what it was trained on and by what: config.json and train-summary.json
// name the dataset (absolute path, manifest SHA-256, record counts), the engine version and the
// command line; `reclf eval --run RUN` finds the dataset from there and warns when it changed.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateDataset } from '../../src/core/data/synth/generate';
import { loadRunConfig } from '../../src/core/train/run-loader';
import { repoRoot, tinyConfig } from '../helpers/tiny';

let data: string;
let run: string;
let trained: ReturnType<typeof reclf>;
const pkgVersion = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

function reclf(...args: string[]): { status: number | null; stdout: string; stderr: string; events: { type: string; message?: string; status?: string }[] } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'reclf.js'), ...args], { encoding: 'utf8', cwd: os.tmpdir() });
  const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, events };
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

before(async () => {
  data = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-prov-data-'));
  await generateDataset({ out: data, n: 60, seed: 11, size: 64, split: [0.6, 0.2, 0.2] });
  fs.appendFileSync(path.join(data, 'manifest.jsonl'), '{this line is not json\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-prov-'));
  const cfg = path.join(dir, 'tiny.reclf.json');
  fs.writeFileSync(cfg, JSON.stringify(tinyConfig({ train: { maxSteps: 2 } })));
  run = path.join(dir, 'run');
  trained = reclf('train', '--data', data, '--out', run, '--config', cfg, '--method', 'convirt', '--backend', 'wasm');
});

test('config.json and train-summary.json record the dataset, its manifest hash, record counts, engine version and command line', () => {
  assert.equal(trained.status, 0, trained.stderr);
  const manifest = path.join(data, 'manifest.jsonl');
  const lines = fs.readFileSync(manifest, 'utf8').trim().split('\n').slice(0, -1).map((l) => JSON.parse(l) as { split: string });
  const count = (s: string): number => lines.filter((l) => l.split === s).length;
  const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
  const summary = JSON.parse(fs.readFileSync(path.join(run, 'train-summary.json'), 'utf8'));
  for (const [where, p] of [['config.json', config.provenance], ['train-summary.json', summary.provenance]] as const) {
    assert.ok(p, `${where} has no provenance`);
    assert.equal(p.dataset.path, data, where);
    assert.ok(path.isAbsolute(p.dataset.path));
    assert.equal(p.dataset.manifestSha256, sha256(manifest), where);
    assert.equal(p.dataset.records.train, count('train'), where);
    assert.equal(p.dataset.records.valid, count('valid'), where);
    assert.equal(p.dataset.records.test, count('test'), where);
    assert.ok(count('test') > 0 && count('valid') > 0);
    assert.equal(p.dataset.records.skipped, 1, where);
    assert.equal(p.engine.version, pkgVersion, where);
    assert.match(p.commandLine, new RegExp(`^reclf train --data ${data} --out ${run} --config \\S+ --method convirt --backend wasm$`), where);
  }
  // The recorded provenance is not config: the run's config.json still loads.
  assert.equal(loadRunConfig(run).method.name, 'convirt');
  assert.equal(trained.events.at(-1)?.status, 'ok');
});

test('reclf eval --run without --data evaluates on the run\'s dataset, and warns once its manifest changed', () => {
  const r = reclf('eval', '--run', run, '--split', 'test', '--tasks', 'retrieval', '--backend', 'wasm');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stderr.includes(`dataset: ${data} (recorded by the run)`), r.stderr);
  assert.ok(r.events.some((e) => e.type === 'eval_result'));
  assert.equal(r.events.filter((e) => e.type === 'warning' && /manifest changed/.test(e.message ?? '')).length, 0);
  assert.ok(fs.existsSync(path.join(run, 'eval', 'retrieval.json')));

  // The manifest changes (a record removed): the same lookup now warns, with both hashes.
  const manifest = path.join(data, 'manifest.jsonl');
  const original = fs.readFileSync(manifest);
  try {
    const lines = original.toString('utf8').trim().split('\n');
    const train = lines.findIndex((l) => l.includes('"split":"train"'));
    fs.writeFileSync(manifest, lines.filter((_, i) => i !== train).join('\n') + '\n');
    const changed = reclf('eval', '--run', run, '--split', 'test', '--tasks', 'retrieval', '--backend', 'wasm');
    assert.equal(changed.status, 0, changed.stderr);
    const w = changed.events.filter((e) => e.type === 'warning' && /manifest changed since run was trained/.test(e.message ?? ''));
    assert.equal(w.length, 1, changed.stdout);
    assert.ok(w[0].message!.includes(sha256(manifest).slice(0, 12)));
    // Naming the same dataset explicitly warns the same way.
    const explicit = reclf('eval', '--run', run, '--data', data, '--split', 'test', '--tasks', 'retrieval', '--backend', 'wasm');
    assert.equal(explicit.events.filter((e) => e.type === 'warning' && /manifest changed/.test(e.message ?? '')).length, 1);
  } finally {
    fs.writeFileSync(manifest, original);
  }
});

test('reclf eval without --data: clear one-line errors when the dataset cannot be found', () => {
  const model = reclf('eval', '--model', path.join(run, 'missing.onnx'));
  assert.equal(model.status, 2);
  assert.match(model.stderr, /^reclf eval: --data DIR is required with --model\n$/);

  // A run folder without provenance (trained before it was recorded).
  const old = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-prov-old-'));
  for (const f of ['config.json', 'vocab.txt']) fs.copyFileSync(path.join(run, f), path.join(old, f));
  const cfg = JSON.parse(fs.readFileSync(path.join(old, 'config.json'), 'utf8'));
  delete cfg.provenance;
  fs.writeFileSync(path.join(old, 'config.json'), JSON.stringify(cfg));
  const none = reclf('eval', '--run', old, '--tasks', 'retrieval');
  assert.equal(none.status, 2);
  assert.match(none.stderr, /^reclf eval: --data not given and \S+ does not record the dataset it was trained on: pass --data DIR\n$/);

  // The recorded dataset was moved away.
  const moved = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
  moved.provenance.dataset.path = path.join(old, 'gone');
  moved.provenance.dataset.manifest = path.join(old, 'gone', 'manifest.jsonl');
  fs.writeFileSync(path.join(old, 'config.json'), JSON.stringify(moved));
  const gone = reclf('eval', '--run', old, '--tasks', 'retrieval');
  assert.equal(gone.status, 2);
  assert.match(gone.stderr, /--data not given and the dataset \S+ was trained on is gone \(\S+gone\/manifest\.jsonl not found\): pass --data DIR/);
});
