import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateDataset, generateStudy, SYNTH_INFO_FILE } from '../../../../src/core/data/synth/generate';
import { FINDING_LABEL, SYNTH_LABELS } from '../../../../src/core/data/synth/vocabulary';
import { isUserError } from '../../../../src/core/errors';
import type { StudyRecord } from '../../../../src/core/data/manifest-types';

const SIZE = 64;
const studies = Array.from({ length: 60 }, (_, i) => generateStudy(11, i, { size: SIZE }));

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-synth-'));
}

test('generateStudy is a function of (seed, index): identical on repeat, different across seeds', () => {
  const a = generateStudy(5, 3, { size: SIZE });
  const b = generateStudy(5, 3, { size: SIZE });
  assert.deepEqual(a.record, b.record);
  assert.deepEqual(a.image, b.image);
  const c = generateStudy(6, 3, { size: SIZE });
  assert.notDeepEqual(a.image, c.image);
  assert.equal(a.image.length, SIZE * SIZE);
});

test('labels match the findings; No Finding exactly for normal studies', () => {
  for (const { record } of studies) {
    const findings = (record.meta as { findings: { finding: keyof typeof FINDING_LABEL }[] }).findings;
    assert.deepEqual(Object.keys(record.labels!), [...SYNTH_LABELS]);
    for (const [name, label] of Object.entries(FINDING_LABEL)) {
      assert.equal(record.labels![label], findings.some((f) => f.finding === name) ? 1 : 0, `${record.id} ${label}`);
    }
    assert.equal(record.labels!['No Finding'], findings.length === 0 ? 1 : 0);
  }
});

test('normal studies have no boxes and no mask; abnormal ones a box per positive label', () => {
  let normal = 0;
  for (const { record, mask } of studies) {
    const positives = Object.entries(record.labels!).filter(([k, v]) => v === 1 && k !== 'No Finding').map(([k]) => k);
    if (positives.length === 0) {
      normal++;
      assert.deepEqual(record.boxes, []);
      assert.equal(record.mask, undefined);
      assert.equal(mask, undefined);
    } else {
      assert.ok(mask, record.id);
      assert.equal(record.mask, `masks/${record.id}.png`);
      assert.deepEqual([...new Set(record.boxes!.map((b) => b[4]))].sort(), positives.sort());
    }
  }
  assert.ok(normal > 5 && normal < 35, `normal ${normal}/60`);
});

test('boxes lie inside the image and cover mask pixels; every mask pixel is in some box', () => {
  for (const { record, mask } of studies) {
    if (!mask) continue;
    const inBox = new Uint8Array(SIZE * SIZE);
    for (const [x, y, w, h] of record.boxes!) {
      assert.ok(x >= 0 && y >= 0 && w >= 1 && h >= 1 && x + w <= SIZE && y + h <= SIZE, `${record.id} box ${[x, y, w, h]}`);
      let hits = 0;
      for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) { inBox[j * SIZE + i] = 1; if (mask[j * SIZE + i]) hits++; }
      assert.ok(hits > 0, `${record.id} box without mask pixels`);
    }
    for (let k = 0; k < mask.length; k++) {
      assert.ok(mask[k] === 0 || mask[k] === 255);
      if (mask[k]) assert.equal(inBox[k], 1, `${record.id} mask pixel ${k} outside all boxes`);
    }
  }
});

test('cardiomegaly means a cardiothoracic ratio above 0.5, normal hearts below', () => {
  for (const { record } of studies) {
    const ctr = (record.meta as { ctr: number }).ctr;
    if (record.labels!.Cardiomegaly === 1) assert.ok(ctr > 0.5, `${record.id} ctr ${ctr}`);
    else assert.ok(ctr < 0.5, `${record.id} ctr ${ctr}`);
  }
});

test('split shares follow --split within tolerance on n=200 and do not depend on size', () => {
  const counts = { train: 0, valid: 0, test: 0 };
  for (let i = 0; i < 200; i++) {
    const s = generateStudy(21, i, { size: 32, split: [0.6, 0.25, 0.15] });
    counts[s.record.split]++;
    if (i < 5) assert.equal(generateStudy(21, i, { size: 48, split: [0.6, 0.25, 0.15] }).record.split, s.record.split);
  }
  assert.ok(Math.abs(counts.train / 200 - 0.6) < 0.03, JSON.stringify(counts));
  assert.ok(Math.abs(counts.valid / 200 - 0.25) < 0.03, JSON.stringify(counts));
  assert.ok(Math.abs(counts.test / 200 - 0.15) < 0.03, JSON.stringify(counts));
});

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

test('generateDataset: two runs with one seed give byte-identical folders; another seed differs', async () => {
  const [a, b, c] = [tmp(), tmp(), tmp()];
  const progress: number[] = [];
  const sa = await generateDataset({ out: a, n: 12, seed: 9, size: SIZE, onProgress: (p) => progress.push(p.done) });
  await generateDataset({ out: b, n: 12, seed: 9, size: SIZE });
  await generateDataset({ out: c, n: 12, seed: 10, size: SIZE });
  assert.deepEqual(progress, Array.from({ length: 12 }, (_, i) => i + 1));
  const files = listFiles(a);
  assert.deepEqual(files, listFiles(b));
  assert.ok(files.includes('manifest.jsonl') && files.includes(SYNTH_INFO_FILE));
  assert.equal(files.filter((f) => f.startsWith('images')).length, 12);
  assert.equal(files.filter((f) => f.startsWith('masks')).length, sa.with_mask);
  for (const f of files) assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), f);
  assert.ok(!fs.readFileSync(path.join(a, 'manifest.jsonl')).equals(fs.readFileSync(path.join(c, 'manifest.jsonl'))));
  const info = JSON.parse(fs.readFileSync(path.join(a, SYNTH_INFO_FILE), 'utf8'));
  assert.equal(info.seed, 9);
  assert.equal(info.n, 12);
  assert.equal(info.size, SIZE);
  assert.ok(info.version && info.vocabulary.findings.length === 7);
  const records: StudyRecord[] = fs.readFileSync(path.join(a, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(records.length, 12);
  for (const r of records) {
    assert.ok(fs.existsSync(path.join(a, r.image)));
    if (r.mask) assert.ok(fs.existsSync(path.join(a, r.mask)));
    assert.equal(r.view, 'PA');
  }
  // Rerunning into the same folder with a smaller n leaves no stale images behind.
  await generateDataset({ out: a, n: 4, seed: 9, size: SIZE });
  assert.equal(listFiles(a).filter((f) => f.startsWith('images')).length, 4);
  for (const d of [a, b, c]) fs.rmSync(d, { recursive: true, force: true });
});

test('generateDataset refuses bad options and foreign folders with a user error', async () => {
  const d = tmp();
  fs.writeFileSync(path.join(d, 'precious.txt'), 'x');
  await assert.rejects(generateDataset({ out: d, n: 2, seed: 1 }), (e) => isUserError(e) && /not empty/.test((e as Error).message));
  await assert.rejects(generateDataset({ out: path.join(d, 'x'), n: 0, seed: 1 }), (e) => isUserError(e) && /--n/.test((e as Error).message));
  await assert.rejects(generateDataset({ out: path.join(d, 'x'), n: 2, seed: 1, split: [0.5, 0.1, 0.1] }), (e) => isUserError(e) && /--split/.test((e as Error).message));
  await assert.rejects(generateDataset({ out: path.join(d, 'x'), n: 2, seed: 1, size: 8 }), (e) => isUserError(e) && /--size/.test((e as Error).message));
  assert.equal(fs.readFileSync(path.join(d, 'precious.txt'), 'utf8'), 'x');
  fs.rmSync(d, { recursive: true, force: true });
});
