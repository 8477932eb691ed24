import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runMain } from '../helpers/run-main';

const run = runMain;

const TINY = {
  model: {
    image: { name: 'cnn-small', imageSize: 32, widths: [4, 8, 8, 16], blocks: [1, 0, 1, 1] },
    text: { layers: 1, hidden: 16, heads: 2, intermediate: 32, maxLength: 12 }, projDim: 8, maxWords: 8, headHidden: 16,
  },
  text: { vocabSize: 40 },
  train: { batchSize: 4 },
};

test('bench train --help documents presets, the PyTorch device and the memory columns', async () => {
  const r = await run(['bench', 'train', '--help']);
  assert.equal(r.code, 0);
  const help = r.stdout + r.stderr;
  for (const s of ['--preset', 'paper', 'ResNet-50', 'BERT-base', 'batch 48', '--backend NAME', '--torch-device', 'cuda', '--python', '--torch-job', 'peak MB', 'GPU MB', 'max_memory_allocated', 'numBytesAllocated']) {
    assert.ok(help.includes(s), `help mentions ${s}`);
  }
});

test('bench train --torch-job prints one PyTorch job per preset and method', async () => {
  const r = await run(['bench', 'train', '--preset', 'default,paper', '--methods', 'reclf,convirt', '--torch-job']);
  assert.equal(r.code, 0, r.stderr);
  const jobs = JSON.parse(r.stdout) as Array<{ batch: number; config: { method: { name: string }; model: { image: { name: string } } } }>;
  assert.deepEqual(jobs.map((j) => [j.config.method.name, j.config.model.image.name, j.batch]), [
    ['reclf', 'cnn-small', 32], ['convirt', 'cnn-small', 32], ['reclf', 'resnet50', 48], ['convirt', 'resnet50', 48],
  ]);
});

test('bench train rejects an unknown preset, torch device, or --backend with --backends', async () => {
  assert.equal((await run(['bench', 'train', '--preset', 'huge', '--torch-job'])).code, 2);
  assert.equal((await run(['bench', 'train', '--torch-device', 'gpu'])).code, 2);
  assert.equal((await run(['bench', 'train', '--backend', 'cpu', '--backends', 'wasm', '--no-torch'])).code, 2);
});

test('bench train --backend wasm --json: rows carry the preset and peak tensor memory; a missing PyTorch is a note', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-bench-cmd-'));
  try {
    const cfg = path.join(dir, 'tiny.reclf.json');
    fs.writeFileSync(cfg, JSON.stringify(TINY));
    const r = await run(['bench', 'train', '--backend', 'wasm', '--config', cfg, '--steps', '1', '--warmup', '0', '--python', '/nonexistent/python3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { rows: Array<Record<string, unknown>>; notes: string[] };
    assert.equal(out.rows.length, 1);
    assert.equal(out.rows[0].backend, 'wasm');
    assert.equal(out.rows[0].preset, 'default');
    assert.ok((out.rows[0].peakTensorMB as number) > 0);
    assert.equal(out.rows[0].gpuMB, undefined);
    assert.ok(out.notes.some((n) => n.startsWith('peak MB:')));
    assert.ok(out.notes.includes('PyTorch peer unavailable: \'/nonexistent/python3 -c "import torch"\' failed'), out.notes.join('\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
