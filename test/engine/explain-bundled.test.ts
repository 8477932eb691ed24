import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { decodeExplanation, validateExplanation } from '../../src/protocol/explain';
import { parseCsv } from '../../src/core/data/csv';
import os from 'node:os';
import { repoRoot } from '../helpers/tiny';
import { loadExplainModel } from '../../src/core/explain/explain';
import { checkDistribution } from '../../src/core/explain/image-distribution';
import { decodeImageFile } from '../../src/core/data/image-io';
import { generateDataset } from '../../src/core/data/synth/generate';

const bundled = path.join(repoRoot, 'models', 'reclf-default.onnx');
const iu = path.resolve(repoRoot, '..', 'shared', 'data', 'real-cxr', 'iu-xray');
const skip = !fs.existsSync(bundled) ? 'bundled model not built (npm run build:model)'
  : !fs.existsSync(path.join(iu, 'pairs.csv')) ? 'real-cxr fixtures absent' : false;

test('reclf explain with no --model uses the bundled model on a real IU X-ray and its report', { skip }, () => {
  const table = parseCsv(fs.readFileSync(path.join(iu, 'pairs.csv'), 'utf8')).rows;
  const header = table[0].map((h) => h.trim());
  const row = table.slice(1).find((r) => r[header.indexOf('view')] === 'frontal') ?? table[1];
  const image = path.join(iu, 'images', path.basename(row[header.indexOf('image')]));
  const report = row[header.indexOf('report')];
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'reclf.js'), 'explain', '--image', image, '--report-text', report, '--payload'], {
    cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 26,
  });
  assert.equal(r.status, 0, r.stderr);
  const payload = decodeExplanation(JSON.parse(r.stdout));
  assert.deepEqual(validateExplanation(payload), []);
  assert.equal(payload.model.source, 'bundled');
  assert.equal(payload.distribution?.outside, true, 'a real radiograph shown to the synthetic-trained bundled model is flagged');
  assert.equal(payload.report, report);
  assert.ok(payload.words.length >= 5);
  for (const w of payload.words) assert.equal(report.slice(w.start, w.end).toLowerCase(), w.text.toLowerCase());
  const m = payload.grid[0] * payload.grid[1];
  for (let i = 0; i < payload.words.length; i++) {
    let s = 0;
    for (let j = 0; j < m; j++) s += payload.attention[i * m + j];
    assert.ok(Math.abs(s - 1) < 1e-3 || s === 0, `attention row ${i} sums to ${s}`);
  }
});

test('the bundled model flags every real X-ray as unlike its training images, and no fresh synthetic one', { skip }, async () => {
  const model = await loadExplainModel(bundled, {}, 'cpu');
  try {
    const dist = model.meta.distribution;
    assert.ok(dist, 'the bundled model is exported with --data');
    const realDirs = ['iu-xray', 'covid-early'].map((d) => path.join(iu, '..', d, 'images')).filter((d) => fs.existsSync(d));
    const real = realDirs.flatMap((d) => fs.readdirSync(d).map((f) => path.join(d, f)));
    assert.ok(real.length >= 4);
    for (const file of real) {
      const c = checkDistribution(dist, await decodeImageFile(file));
      assert.equal(c.outside, true, `${path.basename(file)}: distance ${c.distance.toFixed(2)}, threshold ${c.threshold.toFixed(2)}`);
    }
    // The generator with a seed the model never saw, at the size it trained on.
    const synth = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-ood-'));
    await generateDataset({ out: synth, n: 60, seed: 2026, size: model.meta.imageSize, split: [1, 0, 0] });
    const images = fs.readdirSync(path.join(synth, 'images'));
    assert.equal(images.length, 60);
    for (const f of images) {
      const c = checkDistribution(dist, await decodeImageFile(path.join(synth, 'images', f)));
      assert.equal(c.outside, false, `synthetic ${f}: distance ${c.distance.toFixed(2)}, threshold ${c.threshold.toFixed(2)}`);
    }
    fs.rmSync(synth, { recursive: true, force: true });
  } finally {
    await model.session.close();
  }
});
