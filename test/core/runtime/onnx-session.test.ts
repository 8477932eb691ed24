// The contract check for MLIP's optional entity_ids input and the metadata that declares it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ContractSession, contractViolations, declaredInputViolations, metadataShapeViolations, METADATA_MAXIMA, type ValueInfo,
} from '../../../src/core/runtime/onnx-session';
import { decodeModel } from '../../../src/core/export/onnx-decode';
import { encodeModel } from '../../../src/core/export/onnx-proto';
import { DataError } from '../../../src/core/errors';

const INPUTS: ValueInfo[] = [
  { name: 'pixel_values', type: 'float32', shape: ['batch', 1, 32, 32] },
  { name: 'input_ids', type: 'int64', shape: ['batch', 'sequence'] },
  { name: 'attention_mask', type: 'int64', shape: ['batch', 'sequence'] },
];
const OUTPUTS: ValueInfo[] = [
  ['image_embedding', 2], ['text_embedding', 2], ['region_features', 3], ['word_features', 3],
  ['attention', 3], ['relation', 3], ['importance', 2], ['local_score', 1],
].map(([name, rank]) => ({ name: name as string, type: 'float32', shape: Array.from({ length: rank as number }, () => 'd') }));

test('entity_ids is optional, and must be int64 of rank 2 when present', () => {
  assert.deepEqual(contractViolations(INPUTS, OUTPUTS), []);
  assert.deepEqual(contractViolations([...INPUTS, { name: 'entity_ids', type: 'int64', shape: ['batch', 6] }], OUTPUTS), []);
  assert.deepEqual(contractViolations([...INPUTS, { name: 'entity_ids', type: 'float32', shape: ['batch', 6] }], OUTPUTS), ["input 'entity_ids' is float32, expected int64"]);
  assert.match(contractViolations([...INPUTS, { name: 'entity_ids', type: 'int64', shape: [6] }], OUTPUTS)[0], /entity_ids.*\(rank 1\), expected rank 2/);
});

test('metadata extra_inputs must name inputs the graph has', () => {
  assert.deepEqual(declaredInputViolations({}, ['pixel_values']), []);
  assert.deepEqual(declaredInputViolations({ extra_inputs: '["entity_ids"]' }, ['pixel_values', 'entity_ids']), []);
  assert.deepEqual(declaredInputViolations({ extra_inputs: '["entity_ids"]' }, ['pixel_values']), ["metadata 'extra_inputs' lists 'entity_ids' but the graph has no such input"]);
  assert.match(declaredInputViolations({ extra_inputs: 'entity_ids' }, ['entity_ids'])[0], /must be a JSON list/);
});

test('metadata that sizes the inputs must agree with the graph and stay within the config schema maxima', () => {
  const inputs: ValueInfo[] = [
    { name: 'pixel_values', type: 'float32', shape: ['batch', 1, 128, 128] },
    { name: 'input_ids', type: 'int64', shape: ['batch', 64] },
    { name: 'attention_mask', type: 'int64', shape: ['batch', 'sequence'] },
    { name: 'entity_ids', type: 'int64', shape: ['batch', 48] },
  ];
  const outputs: ValueInfo[] = [{ name: 'attention', type: 'float32', shape: ['batch', 48, 64] }];
  const ok = { image_size: '128', max_length: '64', max_words: '48', grid: '[8,8]' };
  assert.deepEqual(metadataShapeViolations(ok, inputs, outputs), []);
  assert.deepEqual(metadataShapeViolations({}, inputs, outputs), [], 'absent keys are left to their readers');
  assert.deepEqual(metadataShapeViolations({ ...ok, image_size: '256' }, inputs, outputs), [
    { field: 'image_size', message: "ONNX metadata 'image_size' is 256 but the graph's input 'pixel_values' has shape [batch, 1, 128, 128]" },
  ]);
  assert.deepEqual(metadataShapeViolations({ ...ok, max_length: '1e8' }, inputs, outputs), [
    { field: 'max_length', message: `ONNX metadata 'max_length' is 100000000, more than ${METADATA_MAXIMA.max_length.max} (the largest model.text.maxLength the config schema allows)` },
  ]);
  assert.equal(METADATA_MAXIMA.max_length.max, 512);
  assert.equal(METADATA_MAXIMA.image_size.max, 2048);
  assert.match(metadataShapeViolations({ ...ok, max_length: '32' }, inputs, outputs)[0].message, /'max_length' is 32 but the graph's input 'input_ids' has shape \[batch, 64\]/);
  assert.match(metadataShapeViolations({ ...ok, max_words: '12' }, inputs, outputs)[0].message, /'max_words' is 12 but .*'entity_ids'/);
  assert.match(metadataShapeViolations({ ...ok, grid: '[4,4]' }, inputs, outputs)[0].message, /'grid' is 4x4 \(16 regions\) but the graph's output 'attention' has shape \[batch, 48, 64\]/);
  assert.match(metadataShapeViolations({ ...ok, image_size: '"big"' }, inputs, outputs)[0].message, /'image_size' must be a positive integer/);
  // Symbolic dims are only bounded.
  assert.deepEqual(metadataShapeViolations({ max_length: '300' }, [{ name: 'input_ids', type: 'int64', shape: ['b', 's'] }]), []);
});

const bundled = path.join(__dirname, '..', '..', '..', 'models', 'reclf-default.onnx');

test('ContractSession.open refuses a model whose metadata disagrees with its graph, naming the file and field', { skip: !fs.existsSync(bundled) && 'bundled model absent' }, async () => {
  const model = decodeModel(fs.readFileSync(bundled));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-onnx-meta-'));
  const variant = (name: string, meta: Record<string, string>): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, encodeModel({ ...model, metadata: { ...model.metadata, ...meta } }));
    return file;
  };
  const s = await ContractSession.open(variant('same.onnx', {}), { device: 'cpu' });
  await s.close();
  const cases: [string, Record<string, string>, string, RegExp][] = [
    ['size.onnx', { image_size: '256' }, 'image_size', /'image_size' is 256 but the graph's input 'pixel_values' has shape \[batch, 1, 128, 128\]/],
    ['len.onnx', { max_length: '1e8' }, 'max_length', /'max_length' is 100000000, more than 512/],
    ['grid.onnx', { grid: '[4,4]' }, 'grid', /'grid' is 4x4/],
  ];
  for (const [name, meta, field, re] of cases) {
    const file = variant(name, meta);
    await assert.rejects(ContractSession.open(file, { device: 'cpu' }), (e: Error) => {
      assert.ok(e instanceof DataError, String(e));
      assert.equal(e.field, field);
      assert.ok(e.message.startsWith(`${file}: ONNX metadata '${field}'`), e.message);
      assert.match(e.message, re);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  }
});
