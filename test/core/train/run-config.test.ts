import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { resolveRunConfig, DEFAULT_TRAIN, DEFAULT_TEXT } from '../../../src/core/train/run-config';
import { METHOD_NAMES } from '../../../src/core/align/registry';

const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'schemas', 'reclf-config.schema.json'), 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
const validate = ajv.compile(schema);

test('the published schema accepts every resolved default config and names the same fields', () => {
  for (const name of METHOD_NAMES) {
    const cfg = resolveRunConfig({}, name);
    assert.ok(validate(JSON.parse(JSON.stringify(cfg))), `${name}: ${JSON.stringify(validate.errors)}`);
    const methodProps = Object.keys(schema.properties.method.properties);
    for (const k of Object.keys(cfg.method)) assert.ok(methodProps.includes(k), `schema lacks method.${k} (${name})`);
    assert.deepEqual(schema.properties.method.properties.name.enum.slice().sort(), [...METHOD_NAMES].sort());
  }
  assert.deepEqual(Object.keys(schema.properties.train.properties).sort(), Object.keys(DEFAULT_TRAIN).sort());
  assert.deepEqual(Object.keys(schema.properties.text.properties).sort(), Object.keys(DEFAULT_TEXT).sort());
  const cfg = resolveRunConfig({});
  assert.deepEqual(Object.keys(schema.properties.data.properties).sort(), Object.keys(cfg.data).sort());
  assert.deepEqual(Object.keys(schema.properties.data.properties.augment.properties).sort(), Object.keys(cfg.data.augment).sort());
  for (const k of Object.keys(cfg.model)) assert.ok(k in schema.properties.model.properties, `schema lacks model.${k}`);
  for (const k of Object.keys(cfg.model.image)) assert.ok(k in schema.properties.model.properties.image.properties, `schema lacks model.image.${k}`);
  for (const k of Object.keys(cfg.model.text)) assert.ok(k in schema.properties.model.properties.text.properties, `schema lacks model.text.${k}`);
});

test('invalid configs fail before training with the field named', () => {
  const cases: [unknown, RegExp][] = [
    [{ train: { lr: -1 } }, /^train\.lr: must be > 0/],
    [{ train: { batchSize: 1.5 } }, /^train\.batchSize: expected an integer/],
    [{ train: { epochz: 3 } }, /^train\.epochz: unknown field/],
    [{ method: { name: 'clip' } }, /^method\.name: unknown method 'clip'/],
    [{ model: { image: { name: 'resnet34' } } }, /model\.image\.name/],
    [{ data: { augment: { rotation: -5 } } }, /data\.augment\.rotation/],
    [{ data: { augment: { flip: true } } }, /^data\.augment\.flip: unknown field/],
    [{ text: { vocabSize: 'big' } }, /^text\.vocabSize: expected a number/],
    [[1, 2], /top level/],
  ];
  for (const [raw, re] of cases) {
    assert.throws(() => resolveRunConfig(raw), (e: Error) => re.test(e.message), `expected ${re} for ${JSON.stringify(raw)}`);
  }
  assert.equal(validate({ train: { lr: -1 } }), false);
});
