// The contract check for MLIP's optional entity_ids input and the metadata that declares it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contractViolations, declaredInputViolations, type ValueInfo } from '../../../src/core/runtime/onnx-session';

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
