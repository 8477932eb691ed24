import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { importCsv } from '../../../../src/core/data/importers/csv';
import { copyFixture, makeImage, realDir } from './fixture-helpers';

test('generic CSV: BOM + CRLF + quoted multi-line text, split column, labels, bad rows warned once each', async () => {
  const root = copyFixture('csv');
  for (const f of ['a', 'b', 'c', 'd', 'e']) await makeImage(path.join(root, 'img', `${f}.png`));
  const res = importCsv({
    file: path.join(root, 'pairs.csv'), imageCol: 'image', textCol: 'findings', idCol: 'study', splitCol: 'split',
    labelCols: ['Edema', 'Pneumonia'],
  });
  assert.deepEqual(res.studies, [
    { id: 's1', image: 'images/img/a.png', report: 'Mild edema, "bilateral".\r\nNo effusion.', split: 'train', labels: { Edema: 1 }, meta: { source: 'csv', row: 2 } },
    { id: 's2', image: 'images/img/b.png', report: 'Clear lungs. Normal heart.', split: 'valid', labels: { Edema: 0, Pneumonia: -1 }, meta: { source: 'csv', row: 4 } },
    { id: 's6', image: 'images/img/e.png', report: 'No acute disease.', split: 'test', labels: { Pneumonia: 1 }, meta: { source: 'csv', row: 8 } },
  ]);
  assert.equal(res.skipped, 3);
  assert.deepEqual(res.warnings, [
    { record: 'pairs.csv:5', message: 'empty findings' },
    { record: 'pairs.csv:6', message: 'missing image img/missing.png' },
    { record: 'pairs.csv:7', message: "split is 'holdout' (expected train, valid/validate or test)" },
    { record: 'pairs.csv:8', message: "label 'Edema' has invalid value 'yes?' (expected 1, 0, -1 or blank); omitted" },
  ]);
  const cleaned = importCsv({ file: path.join(root, 'pairs.csv'), imageCol: 'image', textCol: 'findings', clean: true, minTokens: 3 });
  assert.deepEqual(cleaned.studies.map((s) => [s.id, s.report]), [
    ['img/a', 'mild edema bilateral no effusion'], ['img/b', 'clear lungs normal heart'], ['img/e', 'no acute disease'],
  ]);
  assert.throws(() => importCsv({ file: path.join(root, 'pairs.csv'), imageCol: 'path', textCol: 'findings' }), /pairs\.csv: missing column 'path'/);
});

test('generic CSV without a split column: seeded 80/10/10 by id, stable across runs and row order', async () => {
  const root = copyFixture('csv');
  const lines = ['image,text'];
  for (let i = 0; i < 200; i++) { lines.push(`i${i}.png,Report number ${i} here.`); await makeImage(path.join(root, `i${i}.png`)); }
  fs.writeFileSync(path.join(root, 'many.csv'), lines.join('\n'));
  fs.writeFileSync(path.join(root, 'rev.csv'), [lines[0], ...lines.slice(1).reverse()].join('\n'));
  const a = importCsv({ file: path.join(root, 'many.csv'), imageCol: 'image', textCol: 'text', seed: 5 });
  const b = importCsv({ file: path.join(root, 'rev.csv'), imageCol: 'image', textCol: 'text', seed: 5 });
  const split = (r: typeof a): Record<string, string> => Object.fromEntries(r.studies.map((s) => [s.id, s.split]));
  assert.deepEqual(split(a), split(b));
  const counts = { train: 0, valid: 0, test: 0 };
  for (const s of a.studies) counts[s.split]++;
  assert.ok(counts.train > 130 && counts.valid > 5 && counts.test > 5, JSON.stringify(counts));
  const c = importCsv({ file: path.join(root, 'many.csv'), imageCol: 'image', textCol: 'text', seed: 6 });
  assert.notDeepEqual(split(a), split(c));
});

test('real COVID metadata.csv (quoted commas, UTF-8): PA/L views, clinical notes as report',
  { skip: !fs.existsSync(path.join(realDir, 'covid-early', 'metadata.csv')) && 'real-cxr fixtures absent' }, () => {
    const file = path.join(realDir, 'covid-early', 'metadata.csv');
    const res = importCsv({ file, imageCol: 'image', textCol: 'clinical_notes', viewCol: 'view' });
    assert.equal(res.studies.length + res.skipped, 29);
    assert.ok(res.studies.length >= 20);
    const s = res.studies.find((r) => r.id === 'images/covid-19-pneumonia-2');
    assert.ok(s);
    assert.equal(s.view, 'PA');
    assert.match(s.report ?? '', /^Productive cough with a sore throat for 1 week, no fever.*right lower zone\.$/);
    for (const w of res.warnings) assert.match(w.message, /^empty clinical_notes$/);
  });
