import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldPath, valueAt } from '../../src/core/json-pointer';

test('JSON pointers become dotted field names with [index] for array items, ~0/~1 unescaped', () => {
  assert.equal(fieldPath(''), '');
  assert.equal(fieldPath('/model/image/widths/0'), 'model.image.widths[0]');
  assert.equal(fieldPath('/boxes/0/2'), 'boxes[0][2]');
  assert.equal(fieldPath('/labels/Pleural Effusion'), 'labels.Pleural Effusion');
  assert.equal(fieldPath('/a~1b/c~0d'), 'a/b.c~d');
});

test('valueAt follows a pointer and is undefined past a missing or scalar step', () => {
  const doc = { model: { image: { widths: [16, 32] } }, 'a/b': { 'c~d': 3 } };
  assert.equal(valueAt(doc, '/model/image/widths/1'), 32);
  assert.equal(valueAt(doc, '/a~1b/c~0d'), 3);
  assert.equal(valueAt(doc, ''), doc);
  assert.equal(valueAt(doc, '/model/missing/x'), undefined);
  assert.equal(valueAt(doc, '/model/image/widths/0/deeper'), undefined);
});
