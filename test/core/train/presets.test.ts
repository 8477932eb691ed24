import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_PRESETS, checkPresetMethod, PRESET_NAMES, presetConfig, withPreset } from '../../../src/core/train/presets';
import { resolveRunConfig } from '../../../src/core/train/run-config';
import { METHOD_NAMES } from '../../../src/core/align/registry';
import { repoRoot } from '../../helpers/tiny';
import { PRESETS, presetsFor } from '../../../src/protocol/presets';

test("a preset's method is the one the protocol's list names, so the extension offers it for that method only", () => {
  for (const name of PRESET_NAMES) {
    assert.equal((presetConfig(name).method as { name?: string } | undefined)?.name, PRESETS[name].method, name);
  }
  assert.deepEqual(presetsFor('reclf'), ['grounding', 'paper']);
  assert.deepEqual(presetsFor('gloria'), ['paper']);
});

test('every preset resolves to a valid run config for each method it can train', () => {
  for (const name of PRESET_NAMES) {
    const own = (presetConfig(name).method as { name?: string } | undefined)?.name;
    for (const method of own ? [own] : METHOD_NAMES) {
      assert.doesNotThrow(() => resolveRunConfig(presetConfig(name), method), `${name} / ${method}`);
    }
  }
  assert.deepEqual(resolveRunConfig(presetConfig('default')), resolveRunConfig({}));
});

test("the grounding preset is the design study's positions-srm-query-cosine-swap-tokens-offsets-nopos variant, as the README's seeds table measured it", () => {
  const variants = JSON.parse(fs.readFileSync(path.join(repoRoot, 'configs', 'explanation-study.variants.json'), 'utf8'));
  assert.deepEqual(resolveRunConfig(presetConfig('grounding')), resolveRunConfig(variants['positions-srm-query-cosine-swap-tokens-offsets-nopos']));
});

test('a user config refines a preset without changing the preset', () => {
  const raw = withPreset('grounding', { method: { gamma1: 6 }, model: { projDim: 64 } });
  const c = resolveRunConfig(raw);
  assert.equal(c.method.gamma1, 6);
  assert.equal(c.method.attention, 'cosine', 'what the user did not set stays the preset\'s');
  assert.equal(c.model.projDim, 64);
  assert.equal(c.model.image.localStage, 2);
  assert.equal(CONFIG_PRESETS.grounding.method.gamma1, 10);
  assert.equal((presetConfig('grounding').method as { gamma1: number }).gamma1, 10);
});

test('a method-specific preset refuses another method; the others take any', () => {
  assert.throws(() => checkPresetMethod('grounding', 'mgca'), /grounding is a reclf setting; it cannot train method 'mgca'/);
  assert.doesNotThrow(() => checkPresetMethod('grounding', 'reclf'));
  assert.doesNotThrow(() => checkPresetMethod('grounding', undefined));
  assert.doesNotThrow(() => checkPresetMethod('paper', 'mgca'));
  assert.throws(() => presetConfig('fast'), /unknown preset 'fast' \(choose default, grounding, paper\)/);
});
