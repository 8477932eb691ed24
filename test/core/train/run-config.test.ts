import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import {
  configHash, dataLimits, resolveRunConfig, validateConfigSchema, DEFAULT_DATA, DEFAULT_TRAIN, DEFAULT_TEXT,
} from '../../../src/core/train/run-config';
import { DEFAULT_INPUT_LIMITS } from '../../../src/core/data/input-guard';
import { ConfigError } from '../../../src/core/errors';
import { METHOD_NAMES } from '../../../src/core/align/registry';
import { METHOD_CONFIG_SPECS } from '../../../src/core/align/method-config';

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

test("the schema's method enums are the methods' own values, so a value the code accepts is never refused by the schema", () => {
  const props = schema.properties.method.properties;
  for (const [method, spec] of Object.entries(METHOD_CONFIG_SPECS)) {
    for (const [field, f] of Object.entries(spec)) {
      if (f.kind !== 'enum') continue;
      assert.ok(props[field]?.enum, `schema method.${field} (${method}) lists no values`);
      for (const v of f.values) assert.ok(props[field].enum.includes(v), `schema method.${field} lacks '${v}' (${method})`);
    }
  }
});

test('invalid configs fail before training with the field named', () => {
  const cases: [unknown, RegExp][] = [
    [{ train: { lr: -1 } }, /^train\.lr: must be > 0/],
    [{ train: { batchSize: 1.5 } }, /^train\.batchSize: expected an integer/],
    [{ train: { epochz: 3 } }, /^train\.epochz: unknown field/],
    [{ method: { name: 'clip' } }, /^method\.name: expected one of convirt, .*got "clip"/],
    [{ model: { image: { name: 'resnet34' } } }, /model\.image\.name/],
    [{ data: { augment: { rotation: -5 } } }, /data\.augment\.rotation/],
    [{ data: { augment: { flip: true } } }, /^data\.augment\.flip: unknown field/],
    [{ text: { vocabSize: 'big' } }, /^text\.vocabSize: expected an integer, got "big"/],
    [[1, 2], /top level/],
    [5, /top level/],
  ];
  for (const [raw, re] of cases) {
    assert.throws(() => resolveRunConfig(raw), (e: Error) => re.test(e.message), `expected ${re} for ${JSON.stringify(raw)}`);
  }
  assert.equal(validate({ train: { lr: -1 } }), false);
});

test('config values outside the published schema are refused by the schema itself, with the field named', () => {
  // The cases of issue 14: each used to be accepted silently or to crash with a RangeError.
  const cases: [unknown, RegExp][] = [
    [{ model: { projDim: 7 } }, /^model\.projDim: must be >= 8, got 7$/],
    [{ model: { headHidden: 7 } }, /^model\.headHidden: must be >= 8, got 7$/],
    [{ model: { text: { hidden: 7 } } }, /^model\.text\.hidden: must be >= 8, got 7$/],
    [{ model: { text: { intermediate: 7 } } }, /^model\.text\.intermediate: must be >= 8, got 7$/],
    [{ model: { text: { dropout: 0.95 } } }, /^model\.text\.dropout: must be <= 0\.9, got 0\.95$/],
    [{ train: 5 }, /^train: expected an object, got 5$/],
    [{ data: 'x' }, /^data: expected an object, got "x"$/],
    [{ model: { image: { imageSize: 100000 } } }, /^model\.image\.imageSize: must be <= 2048, got 100000$/],
    [{ model: { image: { imageSize: 8192 } } }, /^model\.image\.imageSize: must be <= 2048, got 8192$/],
    [{ model: { image: { widths: [16, 32, 100000, 64] } } }, /^model\.image\.widths\[2\]: must be <= 4096, got 100000$/],
    [{ model: { text: { maxLength: 100000 } } }, /^model\.text\.maxLength: must be <= 512, got 100000$/],
    [{ model: { image: { widths: [16, 32] } } }, /^model\.image\.widths: expected at least 4 items, got 2$/],
    [{ data: { maxImagePixels: 0 } }, /^data\.maxImagePixels: must be >= 1, got 0$/],
    [{ data: { maxReportBytes: 1.5 } }, /^data\.maxReportBytes: expected an integer, got 1\.5$/],
    [{ backend: 'tpu' }, /^backend: expected one of auto, .*got "tpu"$/],
    [{ bogus: 1 }, /^bogus: unknown field \(allowed: \$schema, backend, data, text, model, method, train, slurm\)$/],
  ];
  for (const [raw, re] of cases) {
    assert.throws(() => resolveRunConfig(raw), (e: Error) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'),
      `expected ${re} for ${JSON.stringify(raw)}`);
  }
  // One validator: whatever the schema refuses, resolveRunConfig refuses, and vice versa for these.
  for (const [raw] of cases) assert.equal(validate(raw), false, JSON.stringify(raw));
  // The file name leads when given (readConfigFile).
  assert.throws(() => validateConfigSchema({ model: { projDim: 7 } }, 'a.reclf.json'), { message: 'a.reclf.json: model.projDim: must be >= 8, got 7' });
  // --method wins over the file's method.name, as before.
  assert.equal(resolveRunConfig({ method: { name: 'convirt' } }, 'gloria').method.name, 'gloria');
});

test('every maximum the issue asks for is in the schema, and the schema defaults are the code defaults', () => {
  const model = schema.properties.model.properties;
  assert.equal(model.image.properties.imageSize.maximum, 2048);
  assert.equal(model.image.properties.widths.items.maximum, 4096);
  assert.equal(model.text.properties.maxLength.maximum, 512);
  for (const k of ['hidden', 'intermediate', 'layers', 'heads', 'vocabSize']) assert.ok(model.text.properties[k].maximum > 0, `model.text.${k}`);
  for (const k of ['projDim', 'headHidden', 'maxWords']) assert.ok(model[k].maximum > 0, `model.${k}`);
  for (const [k, v] of Object.entries(DEFAULT_TRAIN)) assert.equal(schema.properties.train.properties[k].default, v, `train.${k}`);
  for (const [k, v] of Object.entries(DEFAULT_TEXT)) assert.equal(schema.properties.text.properties[k].default, v, `text.${k}`);
  for (const [k, v] of Object.entries(DEFAULT_DATA)) assert.equal(schema.properties.data.properties[k].default, v, `data.${k}`);
  assert.deepEqual(DEFAULT_INPUT_LIMITS, { maxImagePixels: 20_000_000, maxImageBytes: 512 * 1024 * 1024, maxReportBytes: 1024 * 1024 });
});

test('input limits: configurable under data, passed on by dataLimits, and left out of the hash at their defaults', () => {
  const cfg = resolveRunConfig({ data: { maxImagePixels: 30_000_000 } });
  assert.deepEqual(dataLimits(cfg.data), { maxImagePixels: 30_000_000, maxImageBytes: 512 * 1024 * 1024, maxReportBytes: 1024 * 1024 });
  const base = resolveRunConfig({});
  const { maxImagePixels: _a, maxImageBytes: _b, maxReportBytes: _c, ...before } = base.data;
  // A run resolved before the limits existed hashes the same (it still resumes) ...
  assert.equal(configHash({ ...base, data: before }), configHash(base));
  // ... and a changed limit changes the hash.
  assert.notEqual(configHash(cfg), configHash(base));
});
