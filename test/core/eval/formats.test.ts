// Evaluation on datasets imported from the public formats (CheXpert CSV + JPEG, SIIM RLE + DICOM,
// RSNA box CSV + DICOM), not only on the synthetic benchmark: each dataset is written in its
// real on-disk format, imported with the real importer, and evaluated with a tiny trained run.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { resolveRunConfig } from '../../../src/core/train/run-config';
import { runTraining } from '../../../src/core/train/trainer';
import { initBackend } from '../../../src/core/runtime/backend';
import { evaluateRun, type TaskName } from '../../../src/core/eval/tasks';
import { readEvalResult } from '../../../src/core/eval/results';
import { importChexpert } from '../../../src/core/data/importers/chexpert';
import { importSiim } from '../../../src/core/data/importers/siim';
import { importRsna } from '../../../src/core/data/importers/rsna';
import { mergeImports } from '../../../src/core/data/importers/common';
import { writeImport } from '../../../src/core/data/importers/write';
import { encodeSiimRle } from '../../../src/core/data/rle';
import { buildDicom } from '../data/dicom-writer';
import { tinyConfig, tinySynth } from '../../helpers/tiny';

let runDir: string;
let backend: string;

before(async () => {
  backend = (await initBackend(process.env.RECLF_TEST_BACKEND ?? 'wasm')).name;
  const data = await tinySynth(32, 9, 32);
  runDir = path.join(data, 'run');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 2 } }), 'reclf');
  await runTraining({ runDir, dataDir: data, config, resume: false, cancel: { requested: false }, backend, device: 'test', listener: { emit: () => {}, log: () => {} } });
});

const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `reclf-fmt-${name}-`));

/** A 64x64 16-bit MONOCHROME2 DICOM, brighter inside the rectangle (the "finding"). */
function dicomWithRegion(rect: [number, number, number, number] | undefined, noise: number): Uint8Array {
  const pixels: number[] = [];
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const inside = rect && x >= rect[0] && x < rect[0] + rect[2] && y >= rect[1] && y < rect[1] + rect[3];
      pixels.push(800 + ((x * 7 + y * 13 + noise * 31) % 97) + (inside ? 2000 : 0));
    }
  }
  return buildDicom({ rows: 64, cols: 64, pixels });
}

function rectFor(i: number): [number, number, number, number] {
  return [8 + (i % 5) * 6, 10 + (i % 3) * 8, 14, 12];
}

async function evaluate(data: string, tasks: TaskName[]): Promise<Record<string, Record<string, number | null>>> {
  const summary = await evaluateRun({
    runDir, dataDir: data, split: 'test', score: 'both', pooling: 'max', maxPrompts: 2, seeds: [0], tasks, backend, createdBy: 'test',
    linear: { epochs: 2, fractions: [1] }, segmentation: { epochs: 1, fractions: [1], batchSize: 4, channels: 4 },
  });
  assert.deepEqual(summary.skipped, []);
  for (const r of summary.results) {
    // Written and schema-valid (readEvalResult validates), data hash of this dataset.
    const back = readEvalResult(path.join(runDir, 'eval', `${r.task}.json`));
    assert.equal(back.data_hash, r.data_hash);
    for (const v of Object.values(r.metrics)) assert.ok(v === null || Number.isFinite(v));
  }
  return Object.fromEntries(summary.results.map((r) => [r.task, r.metrics]));
}

test('CheXpert format (train.csv + valid.csv, JPEG): zero-shot with GLoRIA prompts, linear probe, retrieval', async () => {
  const root = tmp('chexpert');
  const header = 'Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices';
  const rows = (part: string, n: number, offset: number): string[] => Array.from({ length: n }, (_, k) => {
    const i = k + offset;
    const obs = Array<string>(14).fill('');
    obs[[2, 5, 6, 8, 10][i % 5]] = '1.0'; // Cardiomegaly, Edema, Consolidation, Atelectasis, Pleural Effusion
    if (i % 7 === 0) obs[2] = '-1.0'; // an uncertain label, as in the real CSVs
    return `CheXpert-v1.0-small/${part}/patient${String(i).padStart(5, '0')}/study1/view1_frontal.jpg,Female,60,Frontal,AP,${obs.join(',')}`;
  });
  const parts = [['train', 30, 0], ['valid', 15, 100]] as const;
  for (const [part, n, offset] of parts) {
    fs.writeFileSync(path.join(root, `${part}.csv`), [header, ...rows(part, n, offset)].join('\n') + '\n');
    for (let i = offset; i < offset + n; i++) {
      const file = path.join(root, 'CheXpert-v1.0-small', part, `patient${String(i).padStart(5, '0')}`, 'study1', 'view1_frontal.jpg');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const px = Buffer.alloc(32 * 32, 40 + 30 * (i % 5));
      await sharp(px, { raw: { width: 32, height: 32, channels: 1 } }).jpeg().toFile(file);
    }
  }
  // As `reclf import chexpert --csv train.csv,valid.csv`: train.csv -> train/valid, valid.csv -> test.
  const imported = mergeImports(['train.csv', 'valid.csv'].map((csv) => importChexpert({ root, csv })));
  assert.equal(imported.studies.length, 45);
  assert.equal(imported.studies.filter((s) => s.split === 'test').length, 15);
  assert.throws(() => mergeImports([importChexpert({ root, csv: 'valid.csv' }), importChexpert({ root, csv: 'valid.csv' })]), /more than one/);
  const data = tmp('chexpert-ds');
  await writeImport(imported, data, 'copy');
  const m = await evaluate(data, ['zeroshot', 'linear', 'retrieval']);
  assert.ok(m.zeroshot.auroc === null || (m.zeroshot.auroc >= 0 && m.zeroshot.auroc <= 1));
  assert.ok((m.retrieval['i2t_R@10'] ?? 0) >= (m.retrieval['i2t_R@1'] ?? 0));
  assert.ok('auroc@100%' in m.linear);
});

test('SIIM format (train-rle.csv with relative column-major RLE, DICOM): segmentation, grounding, zero-shot', async () => {
  const root = tmp('siim');
  const lines = ['ImageId, EncodedPixels'];
  for (let i = 0; i < 60; i++) {
    const id = `1.2.276.0.7230010.3.1.4.8323329.${1000 + i}.1517875188.959090`;
    const positive = i % 2 === 0;
    const rect = positive ? rectFor(i) : undefined;
    fs.writeFileSync(path.join(root, `${id}.dcm`), dicomWithRegion(rect, i));
    if (rect) {
      const mask = { width: 64, height: 64, data: new Uint8Array(64 * 64) };
      for (let y = rect[1]; y < rect[1] + rect[3]; y++) for (let x = rect[0]; x < rect[0] + rect[2]; x++) mask.data[y * 64 + x] = 1;
      lines.push(`${id}, ${encodeSiimRle(mask)}`);
    } else lines.push(`${id}, -1`);
  }
  fs.writeFileSync(path.join(root, 'train-rle.csv'), lines.join('\n') + '\n');
  const imported = importSiim({ root, csv: 'train-rle.csv', size: 64 });
  assert.equal(imported.studies.length, 60);
  const data = tmp('siim-ds');
  await writeImport(imported, data, 'copy');
  const m = await evaluate(data, ['zeroshot', 'retrieval', 'segmentation', 'grounding']);
  const dice = m.segmentation['dice@100%'];
  assert.ok(dice !== null && dice >= 0 && dice <= 1);
  assert.ok((m.grounding.words_scored ?? 0) > 0, 'the label sentence "Pneumothorax." is grounded in its mask');
});

test('RSNA format (stage_2_train_labels.csv, several boxes per patient, DICOM): segmentation from boxes, grounding', async () => {
  const root = tmp('rsna');
  const lines = ['patientId,x,y,width,height,Target'];
  for (let i = 0; i < 60; i++) {
    const id = `0004cfab-14fd-4e49-80ba-${String(i).padStart(12, '0')}`;
    const positive = i % 2 === 0;
    const rect = positive ? rectFor(i) : undefined;
    fs.writeFileSync(path.join(root, `${id}.dcm`), dicomWithRegion(rect, i));
    if (rect) {
      // Two rows for one patient: the box split in halves, as RSNA lists each opacity.
      lines.push(`${id},${rect[0]},${rect[1]},${rect[2] / 2},${rect[3]},1`);
      lines.push(`${id},${rect[0] + rect[2] / 2},${rect[1]},${rect[2] / 2},${rect[3]},1`);
    } else lines.push(`${id},,,,,0`);
  }
  fs.writeFileSync(path.join(root, 'stage_2_train_labels.csv'), lines.join('\n') + '\n');
  const imported = importRsna({ root, csv: 'stage_2_train_labels.csv' });
  assert.equal(imported.studies.length, 60);
  assert.ok(imported.studies.filter((s) => s.boxes?.length === 2).length === 30);
  const data = tmp('rsna-ds');
  await writeImport(imported, data, 'copy');
  const m = await evaluate(data, ['zeroshot', 'retrieval', 'segmentation', 'grounding']);
  const dice = m.segmentation['dice@100%'];
  assert.ok(dice !== null && dice >= 0 && dice <= 1);
  assert.ok((m.grounding.words_scored ?? 0) > 0);
});
