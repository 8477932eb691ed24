import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { importSiim } from '../../../../src/core/data/importers/siim';
import { copyFixture, makeImage } from './fixture-helpers';

const NEG = '1.2.276.0.7230010.3.1.4.8323329.5597.1517875188.959090';
const POS = '1.2.276.0.7230010.3.1.4.8323329.4904.1517875185.355709';
const BAD = '1.2.276.0.7230010.3.1.4.8323329.10231.1517875222.737143';
const NOIMG = '1.2.276.0.7230010.3.1.4.8323329.1314.1517875167.222290';

test('SIIM: leading-space header, " -1" negatives, relative column-major RLE unioned over rows, bad RLE and missing image skipped', async () => {
  const root = copyFixture('siim');
  await makeImage(path.join(root, 'dicom-images-train', 'a', `${NEG}.dcm`));
  await makeImage(path.join(root, 'pngs', `${POS}.png`));
  await makeImage(path.join(root, 'pngs', `${BAD}.png`));
  const res = importSiim({ root, csv: 'train-rle.csv' });
  const [neg, pos] = res.studies;
  assert.equal(res.studies.length, 2);
  assert.deepEqual(neg, {
    id: NEG, image: `images/dicom-images-train/a/${NEG}.dcm`, report: 'No pneumothorax.', view: 'FRONTAL', split: neg.split,
    labels: { Pneumothorax: 0 }, mask: `masks/${NEG}.png`, meta: { source: 'siim-acr', report_source: 'labels' },
  });
  // Row 1 "5 3 10 2": pixels 5-7 then 18-19 of column 0 -> x 0, y 5..19. Row 2 "2000 4": pixels 2000-2003 -> x 1, y 976..979.
  assert.deepEqual(pos.boxes, [[0, 5, 1, 15, 'Pneumothorax'], [1, 976, 1, 4, 'Pneumothorax']]);
  assert.deepEqual(pos.labels, { Pneumothorax: 1 });
  assert.equal(pos.report, 'Pneumothorax.');
  assert.equal(pos.image, `images/pngs/${POS}.png`);
  const m = res.masks.find((k) => k.to === `masks/${POS}.png`);
  assert.ok(m);
  const px = m.render();
  const on: [number, number][] = [];
  px.forEach((v, i) => { if (v) on.push([i % 1024, Math.floor(i / 1024)]); });
  const want: [number, number][] = [];
  for (const y of [5, 6, 7]) want.push([0, y]);
  for (const y of [18, 19]) want.push([0, y]);
  for (const y of [976, 977, 978, 979]) want.push([1, y]);
  want.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  assert.deepEqual(on, want);
  assert.equal(res.masks.find((k) => k.to === `masks/${NEG}.png`)?.render().some((v) => v !== 0), false);
  assert.equal(res.skipped, 2);
  assert.deepEqual(res.warnings.map((w) => w.record), ['train-rle.csv:5', 'train-rle.csv:6']);
  assert.match(res.warnings[0].message, /image .*737143: bad EncodedPixels: RLE has an odd number of values/);
  assert.match(res.warnings[1].message, new RegExp(`no image ${NOIMG.replace(/\./g, '\\.')}\\.dcm or .*\\.png`));
  assert.deepEqual(importSiim({ root, csv: 'train-rle.csv', seed: 0 }).studies.map((s) => s.split), res.studies.map((s) => s.split));
});
