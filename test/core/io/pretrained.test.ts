// PyTorch parity of --init-image / --init-text: a tiny torchvision-style ResNet-18 (RGB conv1)
// and a tiny HF-style BERT, built and run in plain torch, saved as safetensors, loaded into our
// encoders by name; our eval-mode outputs must match torch's within 1e-4.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/runtime/backend';
import { ParamStore } from '../../../src/core/models/params';
import { Rng } from '../../../src/core/rng';
import { ResNet } from '../../../src/core/models/resnet';
import { createTextEncoder } from '../../../src/core/models/bert';
import { loadPretrainedImage, loadPretrainedText, torchLinearToTf, describePretrained } from '../../../src/core/io/pretrained';
import { readSafetensorsFile, encodeSafetensors } from '../../../src/core/io/safetensors';
import { isUserError } from '../../../src/core/errors';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 }).status === 0;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-pretrained-'));

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

before(async () => {
  await initBackend('cpu');
  if (!torchOk) return;
  const r = spawnSync('/usr/bin/python3', [path.join(repoRoot, 'test', 'fixtures', 'pretrained', 'torch_reference.py'), dir], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
});

test('torch Linear [out, in] becomes [in, out]', () => {
  const t = torchLinearToTf({ shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
  assert.deepEqual(t.shape, [3, 2]);
  assert.deepEqual(Array.from(t.data), [1, 4, 2, 5, 3, 6]);
});

test('ResNet-18 from torchvision names (RGB conv1 summed) matches PyTorch', { skip: !torchOk && 'torch not installed' }, () => {
  const params = new ParamStore(new Rng(1));
  const enc = new ResNet({ name: 'resnet18', imageSize: 32 }, params, 'img_encoder.model');
  const report = loadPretrainedImage(params, path.join(dir, 'resnet18.safetensors'));
  assert.ok(report.unmatched.includes('fc.weight') && report.unmatched.includes('fc.bias'));
  assert.deepEqual(report.missing, []);
  assert.ok(report.adapted.some((a) => /conv1\.weight: RGB conv1 summed/.test(a)));
  assert.match(describePretrained('image', report), /loaded \d+ tensors/);
  const io = readSafetensorsFile(path.join(dir, 'io.safetensors')).tensors;
  const out = enc.forward(tf.tensor4d(io.pixels.data, io.pixels.shape as [number, number, number, number]), false);
  assert.deepEqual(out.local.shape, io.local.shape);
  const dl = maxDiff(out.local.dataSync(), io.local.data);
  const dg = maxDiff(out.global.dataSync(), io.global.data);
  assert.ok(dl < 1e-4 && dg < 1e-4, `local differs by ${dl}, global by ${dg}`);
  params.dispose();
});

test('BERT from HF names ("bert." prefix, pooler unused, longer position table) matches PyTorch', { skip: !torchOk && 'torch not installed' }, () => {
  const params = new ParamStore(new Rng(1));
  const enc = createTextEncoder({ layers: 2, hidden: 16, heads: 2, intermediate: 32, maxLength: 16, vocabSize: 28, dropout: 0 }, params, 'text_encoder.model');
  const report = loadPretrainedText(params, path.join(dir, 'bert.safetensors'));
  assert.ok(report.unmatched.some((n) => n.startsWith('bert.pooler.')));
  assert.deepEqual(report.missing, []);
  assert.ok(report.adapted.some((a) => /first 16 of 24 positions/.test(a)));
  const io = readSafetensorsFile(path.join(dir, 'io.safetensors')).tensors;
  const [b, t] = io.ids.shape;
  const out = enc.forward(tf.tensor2d(io.ids.data, [b, t], 'int32'), tf.tensor2d(io.mask.data, [b, t]), false);
  const d = maxDiff(out.tokens.dataSync(), io.tokens.data);
  assert.ok(d < 1e-4, `hidden states differ by ${d}`);
  params.dispose();
});

test('shape mismatches are a user error listing each tensor', () => {
  const params = new ParamStore(new Rng(1));
  createTextEncoder({ layers: 1, hidden: 8, heads: 2, intermediate: 16, maxLength: 8, vocabSize: 10, dropout: 0 }, params, 'text_encoder.model');
  const file = path.join(dir, 'wrong.safetensors');
  fs.writeFileSync(file, encodeSafetensors({
    'bert.embeddings.word_embeddings.weight': { shape: [12, 8], data: new Float32Array(96) },
    'bert.encoder.layer.0.attention.self.query.weight': { shape: [4, 8], data: new Float32Array(32) },
  }));
  assert.throws(() => loadPretrainedText(params, file), (e: Error) => {
    assert.ok(isUserError(e));
    assert.match(e.message, /word_embeddings\.weight: file \[12, 8\] vs model \[10, 8\]/);
    assert.match(e.message, /query\.weight: file \[8, 4\] vs model \[8, 8\]/);
    return true;
  });
  const none = path.join(dir, 'none.safetensors');
  fs.writeFileSync(none, encodeSafetensors({ 'classifier.weight': { shape: [2, 2], data: new Float32Array(4) } }));
  assert.throws(() => loadPretrainedText(params, none), /no tensor matched/);
  params.dispose();
});
