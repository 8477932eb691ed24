import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/core/errors';
import { Rng } from '../../../src/core/rng';
import type { GreyImage } from '../../../src/core/data/image-io';
import {
  DEFAULT_AUGMENT, applyAugment, augment, drawAugmentParams, resolveAugmentConfig, type AugmentConfig, type AugmentParams,
} from '../../../src/core/data/augment';

function ramp(w: number, h: number): GreyImage {
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = ((x * 7 + y * 13) % 17) / 16;
  return { width: w, height: h, data };
}

const identity: AugmentParams = {
  crop: { x: 0, y: 0, w: 8, h: 8 }, angle: 0, zoom: 1, shift: { x: 0, y: 0 }, brightness: 1, contrast: 1,
};

test('same image and seed give identical output; different seeds differ', () => {
  const img = ramp(32, 32);
  const cfg = resolveAugmentConfig();
  const a = augment(img, new Rng(42), cfg);
  const b = augment(img, new Rng(42), cfg);
  assert.deepEqual(a.data, b.data);
  const c = augment(img, new Rng(43), cfg);
  assert.notDeepEqual(a.data, c.data);
  assert.equal(a.width, 32);
  assert.equal(a.height, 32);
  for (const v of a.data) assert.ok(v >= 0 && v <= 1);
});

test('disabled augmentation returns the input untouched', () => {
  const img = ramp(8, 8);
  assert.equal(augment(img, new Rng(1), resolveAugmentConfig({ enabled: false })), img);
});

test('a zero-strength config is the identity', () => {
  const img = ramp(9, 7);
  const cfg: AugmentConfig = {
    enabled: true, cropScale: [1, 1], cropRatio: [1, 1], rotation: 0, translate: 0, scale: [1, 1], brightness: 0, contrast: 0,
  };
  const out = augment(img, new Rng(5), cfg);
  for (let i = 0; i < img.data.length; i++) assert.ok(Math.abs(out.data[i] - img.data[i]) < 1e-6, `pixel ${i}`);
});

test('integer shift moves pixels and fills with black', () => {
  const img = ramp(8, 8);
  const out = applyAugment(img, { ...identity, shift: { x: 2, y: 1 } });
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const expected = x >= 2 && y >= 1 ? img.data[(y - 1) * 8 + (x - 2)] : 0;
      assert.ok(Math.abs(out.data[y * 8 + x] - expected) < 1e-6, `(${x},${y})`);
    }
  }
});

test('180 degree rotation reverses the image', () => {
  const img = ramp(8, 8);
  const out = applyAugment(img, { ...identity, angle: Math.PI });
  for (let i = 0; i < 64; i++) assert.ok(Math.abs(out.data[i] - img.data[63 - i]) < 1e-5, `pixel ${i}`);
});

test('crop of the top-left quarter is enlarged 2x', () => {
  // Output x centre -> source x = (x + 0.5) / 2 - 0.5, e.g. x=3 -> 1.25.
  const img = ramp(8, 8);
  const out = applyAugment(img, { ...identity, crop: { x: 0, y: 0, w: 4, h: 4 } });
  const at = (x: number, y: number): number => img.data[y * 8 + x];
  const expected = 0.75 * (0.75 * at(1, 1) + 0.25 * at(2, 1)) + 0.25 * (0.75 * at(1, 2) + 0.25 * at(2, 2));
  assert.ok(Math.abs(out.data[3 * 8 + 3] - expected) < 1e-6);
});

test('brightness scales and contrast stretches about the mean, clamped to [0,1]', () => {
  const flat: GreyImage = { width: 2, height: 1, data: Float32Array.from([0.4, 0.4]) };
  const bright = applyAugment(flat, { ...identity, crop: { x: 0, y: 0, w: 2, h: 1 }, brightness: 1.5 });
  assert.ok(Math.abs(bright.data[0] - 0.6) < 1e-6);
  const two: GreyImage = { width: 2, height: 1, data: Float32Array.from([0.25, 0.75]) };
  const contrast = applyAugment(two, { ...identity, crop: { x: 0, y: 0, w: 2, h: 1 }, contrast: 3 });
  assert.deepEqual(Array.from(contrast.data), [0, 1]);
});

test('drawn parameters stay inside the configured ranges', () => {
  const cfg = resolveAugmentConfig();
  for (let s = 0; s < 200; s++) {
    const p = drawAugmentParams(100, 80, new Rng(s), cfg);
    const area = (p.crop.w * p.crop.h) / (100 * 80);
    assert.ok(area >= cfg.cropScale[0] * 0.8 - 1e-9 && area <= 1 + 1e-9, `area ${area}`);
    assert.ok(p.crop.x >= 0 && p.crop.x + p.crop.w <= 100 + 1e-9);
    assert.ok(p.crop.y >= 0 && p.crop.y + p.crop.h <= 80 + 1e-9);
    assert.ok(Math.abs(p.angle) <= (cfg.rotation * Math.PI) / 180);
    assert.ok(p.zoom >= cfg.scale[0] && p.zoom <= cfg.scale[1]);
    assert.ok(Math.abs(p.shift.x) <= cfg.translate * 100 && Math.abs(p.shift.y) <= cfg.translate * 80);
    assert.ok(Math.abs(p.brightness - 1) <= cfg.brightness && Math.abs(p.contrast - 1) <= cfg.contrast);
  }
});

test('resolveAugmentConfig fills defaults and names bad fields', () => {
  const cfg = resolveAugmentConfig({ rotation: 5 });
  assert.equal(cfg.rotation, 5);
  assert.deepEqual(cfg.scale, DEFAULT_AUGMENT.scale);
  assert.throws(() => resolveAugmentConfig({ rotation: -1 }), (e: unknown) => e instanceof ConfigError && /augment\.rotation/.test(e.message));
  assert.throws(() => resolveAugmentConfig({ cropScale: [0.9, 0.5] }), (e: unknown) => e instanceof ConfigError && e.field === 'augment.cropScale');
  assert.throws(() => resolveAugmentConfig({ scale: [0, 1] }), ConfigError);
});
