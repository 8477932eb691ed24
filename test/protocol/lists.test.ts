// One definition of each list (backends, methods), and everything that repeats one checked
// against it: the method registry, package.json's settings enums, the config schema and the
// CLI help of every engine command with a --backend / --method flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BACKEND_CHOICES, BACKEND_ORDER } from '../../src/protocol/backends';
import { DEFAULT_METHOD, isMethodName, METHOD_NAMES } from '../../src/protocol/methods';
import { METHOD_NAMES as REGISTRY_METHOD_NAMES } from '../../src/core/align/registry';
import { MLIP_VARIANTS } from '../../src/core/align/mlip/config';
import { commands as engineCommands } from '../../src/engine/commands/index';
import { formatHelp } from '../../src/engine/args';

const root = path.resolve(__dirname, '..', '..');
const readJson = (rel: string): Record<string, any> => JSON.parse(fs.readFileSync(path.join(root, rel), 'utf8'));

test('the method registry builds exactly the protocol\'s methods, MLIP ablations included', () => {
  assert.deepEqual([...REGISTRY_METHOD_NAMES], [...METHOD_NAMES]);
  for (const v of MLIP_VARIANTS) assert.ok(isMethodName(v), v);
  assert.ok(isMethodName(DEFAULT_METHOD));
  assert.equal(isMethodName('clip'), false);
  assert.equal(new Set(METHOD_NAMES).size, METHOD_NAMES.length);
});

test('BACKEND_CHOICES is auto followed by BACKEND_ORDER', () => {
  assert.deepEqual([...BACKEND_CHOICES], ['auto', ...BACKEND_ORDER]);
});

test('package.json settings enums equal the protocol lists', () => {
  const props = readJson('package.json').contributes.configuration.properties;
  assert.deepEqual(props['reclf.defaultBackend'].enum, [...BACKEND_CHOICES]);
  assert.equal(props['reclf.defaultBackend'].default, 'auto');
  assert.deepEqual(props['reclf.defaultMethod'].enum, [...METHOD_NAMES]);
  assert.equal(props['reclf.defaultMethod'].default, DEFAULT_METHOD);
});

test('the config schema\'s backend and method.name enums equal the protocol lists', () => {
  const schema = readJson('schemas/reclf-config.schema.json');
  assert.deepEqual(schema.properties.backend.enum, [...BACKEND_CHOICES]);
  assert.equal(schema.properties.backend.default, 'auto');
  assert.deepEqual(schema.properties.method.properties.name.enum, [...METHOD_NAMES]);
  assert.equal(schema.properties.method.properties.name.default, DEFAULT_METHOD);
});

test('CLI help: every --backend flag names every backend choice, --method every method', () => {
  const withBackend = engineCommands.filter((c) => c.spec.flags.backend);
  assert.ok(withBackend.some((c) => c.spec.name === 'train'), 'reclf train has --backend');
  assert.ok(withBackend.some((c) => c.spec.name === 'eval'), 'reclf eval has --backend');
  for (const c of withBackend) {
    const d = c.spec.flags.backend.description;
    // "only this backend" flags (bench) need not offer auto
    for (const b of BACKEND_ORDER) assert.ok(d.includes(b), `reclf ${c.spec.name} --backend help names ${b}: ${d}`);
  }
  for (const name of ['train', 'eval']) {
    const c = engineCommands.find((x) => x.spec.name === name)!;
    assert.ok(c.spec.flags.backend.description.includes(BACKEND_CHOICES.join(', ')), `reclf ${name} --backend lists ${BACKEND_CHOICES.join(', ')}`);
  }
  const train = engineCommands.find((c) => c.spec.name === 'train')!;
  assert.ok(train.spec.flags.method.description.includes(METHOD_NAMES.join(', ')), train.spec.flags.method.description);
  assert.match(formatHelp(train.spec), /mlip-no-category/);
  const info = engineCommands.find((c) => c.spec.name === 'info')!;
  for (const b of BACKEND_ORDER) assert.ok(info.spec.flags.backends.description.includes(b), `reclf info --backends help names ${b}`);
});
