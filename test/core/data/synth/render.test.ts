import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, mixSeed } from '../../../../src/core/rng';
import { sampleAnatomy } from '../../../../src/core/data/synth/anatomy';
import { anatomyAdjustments, buildLesions, type FindingSpec } from '../../../../src/core/data/synth/findings';
import { render, sampleAcquisition } from '../../../../src/core/data/synth/render';
import { FINDING_NAMES, FINDINGS } from '../../../../src/core/data/synth/vocabulary';

const SIZE = 96;

/** Renders one finding and the same study without it (same anatomy, acquisition, no noise). */
function pair(spec: FindingSpec, seed: number) {
  const rng = new Rng(seed);
  const anatomy = sampleAnatomy(rng, SIZE, anatomyAdjustments([spec], rng));
  const lesions = buildLesions([spec], anatomy, rng, 1 / SIZE);
  const acq = { ...sampleAcquisition(rng, SIZE), noise: 0, blur: 0 };
  const withIt = render(anatomy, lesions, acq, SIZE, new Rng(1));
  const without = render(anatomy, [], acq, SIZE, new Rng(1));
  return { withIt, without };
}

test('every finding at every location visibly changes the image inside its mask', () => {
  for (const name of FINDING_NAMES) {
    if (name === 'cardiomegaly') continue; // changes the anatomy itself; checked through the CTR
    for (const [k, location] of FINDINGS[name].locations.entries()) {
      const severity = name === 'pneumothorax' && location.endsWith('apical') ? 'moderate' : 'severe';
      const { withIt, without } = pair({ name, location, severity }, mixSeed(42, k, name.length));
      assert.ok(withIt.parts.length >= 1, `${name} @ ${location}`);
      for (const { mask } of withIt.parts) {
        let diff = 0;
        let n = 0;
        for (let i = 0; i < mask.length; i++) if (mask[i]) { diff += Math.abs(withIt.image[i] - without.image[i]); n++; }
        assert.ok(n > 0, `${name} @ ${location}: empty mask`);
        assert.ok(diff / n > 8, `${name} @ ${location}: mean change ${(diff / n).toFixed(1)} grey levels inside the mask`);
      }
    }
  }
});

test('bilateral findings get one part (box) per side, on opposite halves of the image', () => {
  const { withIt } = pair({ name: 'pleural effusion', location: 'bilateral basal', severity: 'severe' }, 7);
  assert.equal(withIt.parts.length, 2);
  const [a, b] = withIt.parts.map((p) => p.box[0] + p.box[2] / 2);
  assert.ok(a < SIZE / 2 && b > SIZE / 2, `centres ${a} ${b}`);
});

test('a right-sided finding is drawn on the image left (patient right)', () => {
  for (const location of ['right upper zone', 'right lower zone'] as const) {
    const { withIt } = pair({ name: 'consolidation', location, severity: 'severe' }, 3);
    const [x, y, w, h] = withIt.parts[0].box;
    assert.ok(x + w / 2 < SIZE / 2, `${location} box ${[x, y, w, h]}`);
  }
  const up = pair({ name: 'nodule', location: 'left upper zone', severity: 'severe' }, 5).withIt.parts[0].box;
  const low = pair({ name: 'nodule', location: 'left lower zone', severity: 'severe' }, 5).withIt.parts[0].box;
  assert.ok(up[0] > SIZE / 2 && low[0] > SIZE / 2);
  assert.ok(up[1] < low[1], `upper ${up} lower ${low}`);
});

test('without lesions the lungs are darker than the mediastinum and the body brighter than air', () => {
  const rng = new Rng(99);
  const anatomy = sampleAnatomy(rng, SIZE);
  const acq = { ...sampleAcquisition(rng, SIZE), noise: 0, blur: 0, angle: 0, shiftX: 0, shiftY: 0, scale: 1 };
  const { image } = render(anatomy, [], acq, SIZE, new Rng(1));
  const at = (x: number, y: number) => image[Math.floor(y * SIZE) * SIZE + Math.floor(x * SIZE)];
  const lung = (at(0.25, 0.4) + at(0.75, 0.4)) / 2;
  const mediastinum = at(0.5, 0.3);
  const air = at(0.01, 0.01);
  assert.ok(lung + 30 < mediastinum, `lung ${lung} mediastinum ${mediastinum}`);
  assert.ok(air + 30 < lung, `air ${air} lung ${lung}`);
});
