import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { importMimicCxr } from '../../../../src/core/data/importers/mimic-cxr';
import { copyFixture, makeImage } from './fixture-helpers';

const D1 = '02aa804e-bde0afdd-112c0b34-7bc16630-4e384014';
const D4 = '68b5c4b1-227d0485-9cc38c3f-7b84ab51-4b472714';

async function fixture(): Promise<string> {
  const root = copyFixture('mimic-cxr');
  // Every listed image exists except 8959e402 (missing-image trap); 096052b7 has no report.
  await makeImage(path.join(root, 'files/p10/p10000032/s50414267', `${D1}.jpg`));
  await makeImage(path.join(root, 'files/p10/p10000032/s50414267/174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962.jpg'));
  await makeImage(path.join(root, 'files/p10/p10000032/s53189527/2a2277a9-b0ded155-c0de8eb9-c124d10e-82c5caab.jpg'));
  await makeImage(path.join(root, 'files/p10/p10000764/s57375967', `${D4}.jpg`));
  await makeImage(path.join(root, 'files/p10/p10000898/s50771383/096052b7-d256dc40-453a102b-fa7d01c6-1b22c6b4.jpg'));
  return root;
}

test('MIMIC-CXR: frontal only, split validate->valid, impression+findings cleaned, short reports dropped, blank labels omitted', async () => {
  const root = await fixture();
  const res = importMimicCxr({ root });
  assert.deepEqual(res.studies, [
    {
      id: D1,
      image: `images/files/p10/p10000032/s50414267/${D1}.jpg`,
      report: 'no acute cardiopulmonary process there is no focal consolidation pleural effusion or pneumothorax bilateral ' +
        'nodular opacities that most likely represent nipple shadows the cardiomediastinal silhouette is normal',
      view: 'PA',
      split: 'train',
      labels: { 'No Finding': 1 },
      meta: { source: 'mimic-cxr', subject_id: '10000032', study_id: '50414267', dicom_id: D1 },
    },
    {
      id: D4,
      image: `images/files/p10/p10000764/s57375967/${D4}.jpg`,
      report: 'pa and lateral views of the chest right lower lobe opacity e g pneumonia measuring 1 5 cm',
      view: 'PA',
      split: 'valid',
      labels: { Consolidation: 1, 'Pleural Effusion': 0, Pneumonia: -1 },
      meta: { source: 'mimic-cxr', subject_id: '10000764', study_id: '57375967', dicom_id: D4 },
    },
  ]);
  assert.deepEqual(res.filtered, { 'not frontal': 1, 'report < 3 tokens': 1 });
  assert.equal(res.skipped, 2);
  assert.deepEqual(res.warnings.map((w) => [w.record, w.message]), [
    ['mimic-cxr-2.0.0-metadata.csv:6', 'missing report files/p10/p10000898/s50771383.txt'],
    ['mimic-cxr-2.0.0-metadata.csv:7', 'missing image files/p10/p10000764/s57375967/8959e402-2175d68d-edba5a6c-baab51c3-9359f700.jpg'],
  ]);
  assert.deepEqual(res.files.map((f) => f.from), [
    path.join(root, 'files/p10/p10000032/s50414267', `${D1}.jpg`), path.join(root, 'files/p10/p10000764/s57375967', `${D4}.jpg`),
  ]);
});

test('MIMIC-CXR: --no-clean keeps the extracted text; gzipped metadata; no split file -> seeded by subject', async () => {
  const root = await fixture();
  const zlib = await import('node:zlib');
  const meta = path.join(root, 'mimic-cxr-2.0.0-metadata.csv');
  fs.writeFileSync(`${meta}.gz`, zlib.gzipSync(fs.readFileSync(meta)));
  fs.rmSync(meta);
  fs.rmSync(path.join(root, 'mimic-cxr-2.0.0-split.csv'));
  const a = importMimicCxr({ root, clean: false, seed: 7 });
  assert.equal(a.studies[0].report, 'No acute cardiopulmonary process.\n\nThere is no focal consolidation, pleural effusion or ' +
    'pneumothorax. Bilateral nodular opacities that most likely represent nipple shadows. The cardiomediastinal silhouette is normal.');
  assert.match(a.warnings[0].message, /no mimic-cxr-2.0.0-split.csv/);
  const b = importMimicCxr({ root, clean: false, seed: 7 });
  assert.deepEqual(a.studies.map((s) => s.split), b.studies.map((s) => s.split));
  for (const s of a.studies) assert.ok(['train', 'valid', 'test'].includes(s.split));
});

test('MIMIC-CXR: a folder without the metadata file is a DataError', () => {
  assert.throws(() => importMimicCxr({ root: path.join(copyFixture('mimic-cxr'), 'files') }), /no mimic-cxr-2.0.0-metadata.csv/);
});
