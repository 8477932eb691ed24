import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { decodeExplanation, validateExplanation } from '../../src/protocol/explain';
import { parseCsv } from '../../src/core/data/csv';
import { repoRoot } from '../helpers/tiny';

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
