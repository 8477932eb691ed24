// The ONNX contract check: a file built with our graph builder that lacks an output, or has a
// mis-shaped input, is refused with an error naming each offending input/output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataType, GraphBuilder } from '../../../src/core/export/graph-builder';
import { readModelMetadata } from '../../../src/core/export/onnx-decode';
import { ContractSession, contractViolations } from '../../../src/core/runtime/onnx-session';
import { isUserError } from '../../../src/core/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-contract-'));

/** A model with every contract input and every output but `skip`, computed by trivial ops. */
function almostContract(skip: string, pixelChannels = 1): Uint8Array {
  const g = new GraphBuilder('broken');
  const px = g.input('pixel_values', DataType.FLOAT, ['batch', pixelChannels, 8, 8]);
  g.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  g.input('attention_mask', DataType.INT64, ['batch', 'sequence']);
  const flat = g.op('ReduceMean', [px], { axes: { kind: 'ints', value: [2, 3] }, keepdims: { kind: 'int', value: 0 } }); // [B, C]
  const outs: [string, number][] = [
    ['image_embedding', 2], ['text_embedding', 2], ['region_features', 3], ['word_features', 3],
    ['attention', 3], ['relation', 3], ['importance', 2], ['local_score', 1],
  ];
  for (const [name, rank] of outs) {
    if (name === skip) continue;
    const v = rank === 1 ? g.op('ReduceMean', [flat], { axes: { kind: 'ints', value: [1] }, keepdims: { kind: 'int', value: 0 } }) : rank === 2 ? g.op('Identity', [flat]) : g.op('Unsqueeze', [flat, g.constI([2])]);
    g.output(v, name, DataType.FLOAT, rank === 1 ? ['batch'] : rank === 2 ? ['batch', pixelChannels] : ['batch', pixelChannels, 1]);
  }
  return g.build({ method: 'test', note: 'héllo' });
}

test('metadata_props round-trip through the encoder and the top-level reader', () => {
  const meta = readModelMetadata(almostContract('none'));
  assert.deepEqual(meta, { method: 'test', note: 'héllo' });
});

test('a model with every contract input/output opens (word_ids is optional)', async () => {
  const file = path.join(tmp, 'ok.onnx');
  fs.writeFileSync(file, almostContract('none'));
  const s = await ContractSession.open(file, { device: 'cpu' });
  assert.equal(s.hasWordIds, false);
  assert.equal(s.metadata.method, 'test');
  const out = await s.run({ batch: 2, pixels: new Float32Array(128).fill(0.5), imageSize: 8, seqLen: 3, inputIds: [1, 2, 3, 1, 2, 3], attentionMask: [1, 1, 1, 1, 1, 0], wordIds: [] });
  assert.deepEqual(out.local_score.dims, [2]);
  assert.ok(Math.abs(out.local_score.data[0] - 0.5) < 1e-6);
  await s.close();
});

test('a model missing local_score is refused with a message naming it', async () => {
  const file = path.join(tmp, 'missing.onnx');
  fs.writeFileSync(file, almostContract('local_score'));
  await assert.rejects(ContractSession.open(file, { device: 'cpu' }), (e: Error) => {
    assert.ok(isUserError(e), 'a user error, printed without a stack');
    assert.match(e.message, /missing output 'local_score'/);
    assert.match(e.message, /missing\.onnx/);
    assert.doesNotMatch(e.message, /image_embedding/);
    return true;
  });
});

test('an RGB pixel_values input is reported as mis-shaped', async () => {
  const file = path.join(tmp, 'rgb.onnx');
  fs.writeFileSync(file, almostContract('none', 3));
  await assert.rejects(ContractSession.open(file, { device: 'cpu' }), /input 'pixel_values' dim 1 is 3, expected 1/);
});

test('contractViolations lists every problem, one per line', () => {
  const v = contractViolations(
    [{ name: 'pixel_values', type: 'float32', shape: ['b', 1, 8] }, { name: 'input_ids', type: 'int32', shape: ['b', 't'] }],
    [{ name: 'attention', type: 'float32', shape: ['b', 'n', 'm'] }],
  );
  assert.ok(v.some((l) => /pixel_values' has shape \[b, 1, 8\] \(rank 3\), expected rank 4/.test(l)));
  assert.ok(v.some((l) => /input 'input_ids' is int32, expected int64/.test(l)));
  assert.ok(v.some((l) => /missing input 'attention_mask'/.test(l)));
  assert.ok(!v.some((l) => /word_ids/.test(l)));
  assert.equal(v.filter((l) => l.startsWith('missing output')).length, 7);
});

test('a file that is not ONNX is a user error naming the file', async () => {
  const file = path.join(tmp, 'junk.onnx');
  fs.writeFileSync(file, 'this is not a model');
  await assert.rejects(ContractSession.open(file, { device: 'cpu' }), (e: Error) => isUserError(e) && e.message.includes('junk.onnx'));
});
