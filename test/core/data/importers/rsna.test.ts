import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { importRsna } from '../../../../src/core/data/importers/rsna';
import { copyFixture, makeImage } from './fixture-helpers';

test('RSNA: several boxes per patient, Target 0 without boxes, inconsistent rows and missing images skipped', async () => {
  const root = copyFixture('rsna');
  const imgs = path.join(root, 'stage_2_train_images');
  await makeImage(path.join(imgs, '0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm'));
  await makeImage(path.join(imgs, '00436515-870c-4b36-a041-de91049b9ab4.png'));
  await makeImage(path.join(imgs, '00704310-78a8-4b38-8475-49f4573b2dbb.dcm'));
  await makeImage(path.join(imgs, '00aecb01-a116-45a2-956c-08d2fa55433f.dcm'));
  const res = importRsna({ root, csv: 'stage_2_train_labels.csv' });
  assert.equal(res.studies.length, 2);
  const [neg, pos] = res.studies;
  assert.deepEqual(neg, {
    id: '0004cfab-14fd-4e49-80ba-63a80b6bddd6', image: 'images/stage_2_train_images/0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm',
    report: 'No pneumonia.', view: 'FRONTAL', split: neg.split, labels: { Pneumonia: 0 }, meta: { source: 'rsna-pneumonia', report_source: 'labels' },
  });
  assert.deepEqual(pos.boxes, [[264, 152, 213, 379, 'Pneumonia'], [562, 152, 256, 453, 'Pneumonia']]);
  assert.deepEqual(pos.labels, { Pneumonia: 1 });
  assert.equal(pos.report, 'Pneumonia.');
  assert.equal(res.skipped, 3);
  assert.deepEqual(res.warnings.map((w) => w.message), [
    "patient 00704310-78a8-4b38-8475-49f4573b2dbb: Target 1 row needs numeric x, y, width, height (got '', '', '', '') (stage_2_train_labels.csv:5)",
    'patient 00aecb01-a116-45a2-956c-08d2fa55433f: Target 0 row has a box (x, y, width, height must be blank) (stage_2_train_labels.csv:6)',
    `no image 0100515c-5204-4f31-98e0-f35e4b00004a.dcm or 0100515c-5204-4f31-98e0-f35e4b00004a.png under ${root}`,
  ]);
});
