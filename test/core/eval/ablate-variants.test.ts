// Named variants of a design study (`reclf ablate --variants FILE`): partial configs merged over
// the shared config, checked before anything trains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseNamedVariants, variantConfig } from '../../../src/core/eval/ablate';
import { resolveRunConfig } from '../../../src/core/train/run-config';
import { isUserError } from '../../../src/core/errors';

const FILE = 'study.json';

test('a named variant merges its groups over the shared config; budget and seed are the ablation\'s', () => {
  const named = parseNamedVariants({
    'centered-g20': { method: { name: 'reclf', context: 'centered', gamma1: 20 }, model: { image: { imageSize: 96 } } },
    'gloria-pool': { method: { name: 'gloria' } },
  }, FILE);
  const base = { model: { projDim: 64, image: { name: 'cnn-small', imageSize: 128 } }, train: { lr: 1e-3, maxSteps: 9 } };
  const raw = variantConfig('centered-g20', 2, 300, base, named);
  const cfg = resolveRunConfig(raw);
  assert.equal(cfg.method.name, 'reclf');
  assert.equal(cfg.method.context, 'centered');
  assert.equal(cfg.method.gamma1, 20);
  assert.equal(cfg.model.image.imageSize, 96, 'the variant overrides one field of a group');
  assert.equal(cfg.model.projDim, 64, 'and keeps the shared config\'s others');
  assert.equal(cfg.train.lr, 1e-3);
  assert.equal(cfg.train.maxSteps, 300);
  assert.equal(cfg.train.seed, 2);
  // Built-in variants still work beside named ones.
  assert.equal(resolveRunConfig(variantConfig('reclf-no-srm', 0, 10, base, named)).method.srm, false);
  assert.throws(() => variantConfig('nope', 0, 10, base, named), (e: unknown) => isUserError(e) && /unknown variant 'nope'.*centered-g20/.test((e as Error).message));
});

test('a variants file with a bad name, group, or missing method is refused naming the file and the variant', () => {
  const bad: [unknown, RegExp][] = [
    [[1, 2], /study\.json: expected an object/],
    [{}, /study\.json: no variants/],
    [{ '../up': { method: { name: 'reclf' } } }, /variant name '\.\.\/up'/],
    [{ ['v'.repeat(65)]: { method: { name: 'reclf' } } }, /variant name 'v{65}' must be 1 to 64/],
    [{ a: 3 }, /study\.json: a: expected an object of config groups/],
    [{ a: { method: { name: 'reclf' }, optimizer: {} } }, /study\.json: a\.optimizer: not a config group/],
    [{ a: { model: { projDim: 64 } } }, /study\.json: a\.method\.name: every variant names its method/],
  ];
  for (const [raw, re] of bad) assert.throws(() => parseNamedVariants(raw, FILE), (e: unknown) => isUserError(e) && re.test((e as Error).message), String(re));
  // Values are the schema's business: an invalid one fails when the variant resolves.
  const named = parseNamedVariants({ tiny: { method: { name: 'reclf' }, model: { projDim: 7 } } }, FILE);
  assert.throws(() => resolveRunConfig(variantConfig('tiny', 0, 10, {}, named)), (e: unknown) => isUserError(e) && /projDim/.test((e as Error).message));
});

test('every variant of the shipped design study resolves to a valid run config', () => {
  const file = path.resolve(__dirname, '..', '..', '..', 'configs', 'explanation-study.variants.json');
  const named = parseNamedVariants(JSON.parse(fs.readFileSync(file, 'utf8')), file);
  assert.ok(Object.keys(named).length >= 10);
  for (const name of Object.keys(named)) resolveRunConfig(variantConfig(name, 0, 10, {}, named));
});
