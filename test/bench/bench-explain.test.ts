import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  benchExplain, EXPLAIN_TARGET_MS, formatExplainReport, iuXrayInput, latencyStats, syntheticExplainInput,
} from '../../src/bench/bench-explain';
import { decodeImageFile } from '../../src/core/data/image-io';
import { isUserError } from '../../src/core/errors';

const repoRoot = path.resolve(__dirname, '..', '..');
const MODEL = path.join(repoRoot, 'models', 'reclf-default.onnx');
const REAL = path.resolve(repoRoot, '..', 'shared', 'data', 'real-cxr');
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-bench-explain-test-'));

test('latencyStats: median, p90 (nearest rank), min and max', () => {
  assert.deepEqual(latencyStats([5, 1, 4, 2, 3]), { median: 3, p90: 5, min: 1, max: 5 });
  assert.deepEqual(latencyStats([10, 20, 30, 40]), { median: 25, p90: 40, min: 10, max: 40 });
  const ten = latencyStats([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(ten.p90, 9);
  assert.throws(() => latencyStats([]));
});

test('syntheticExplainInput writes a decodable PNG of the requested size and its report', async () => {
  const dir = tmp();
  try {
    const input = syntheticExplainInput(dir, 96, 3);
    assert.equal(input.name, 'synthetic');
    const img = await decodeImageFile(input.imagePath);
    assert.equal(img.width, 96);
    assert.equal(img.height, 96);
    assert.ok(input.report.split(/\s+/).length >= 3, input.report);
    // Deterministic per seed.
    assert.equal(syntheticExplainInput(dir, 96, 3).report, input.report);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('iuXrayInput picks the first frontal study; a missing image is a DataError naming the CSV', () => {
  const dir = tmp();
  try {
    fs.mkdirSync(path.join(dir, 'iu-xray', 'images'), { recursive: true });
    const csv = path.join(dir, 'iu-xray', 'pairs.csv');
    fs.writeFileSync(csv, 'study_id,image,view,report\nA,images/a-lat.png,lateral,lateral text.\nA,images/a-pa.png,frontal,no acute process.\n');
    assert.throws(() => iuXrayInput(dir), (e: Error) => isUserError(e) && /pairs\.csv/.test(e.message) && /a-pa\.png/.test(e.message));
    fs.writeFileSync(path.join(dir, 'iu-xray', 'images', 'a-pa.png'), 'x');
    const got = iuXrayInput(dir);
    assert.deepEqual(got, { name: 'iu-xray', imagePath: path.join(dir, 'iu-xray', 'images', 'a-pa.png'), report: 'no acute process.' });
    assert.equal(iuXrayInput(path.join(dir, 'nowhere')), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('benchExplain times cold and warm explanations of the bundled model with a stage breakdown', { skip: !fs.existsSync(MODEL) && 'bundled model absent' }, async () => {
  const dir = tmp();
  try {
    const inputs = [syntheticExplainInput(dir, 256, 0)];
    const iu = fs.existsSync(REAL) ? iuXrayInput(REAL) : undefined;
    if (iu) inputs.push(iu);
    const r = await benchExplain(MODEL, inputs, { repeats: 2, warmup: 1, device: 'cpu' });
    assert.equal(r.executionProvider, 'cpu');
    assert.equal(r.targetMs, EXPLAIN_TARGET_MS);
    assert.deepEqual(r.cases.map((c) => c.name), inputs.map((i) => i.name));
    for (const c of r.cases) {
      assert.deepEqual(c.grid, [8, 8]);
      assert.ok(c.words > 0 && c.words <= 48, `${c.words} words`);
      assert.equal(c.reportChars, inputs.find((i) => i.name === c.name)!.report.length);
      assert.ok(c.cold.openMs > 0 && c.cold.firstMs > 0);
      assert.ok(Math.abs(c.cold.totalMs - c.cold.openMs - c.cold.firstMs) < 1e-9);
      assert.ok(c.warm.min <= c.warm.median && c.warm.median <= c.warm.p90 && c.warm.p90 <= c.warm.max);
      for (const v of Object.values(c.stages)) assert.ok(Number.isFinite(v) && v >= 0);
      assert.ok(c.stages.ort > 0 && c.stages.decode > 0, JSON.stringify(c.stages));
      assert.equal(c.meetsTarget, c.warm.median <= EXPLAIN_TARGET_MS);
    }
    const text = formatExplainReport(r);
    for (const c of r.cases) assert.match(text, new RegExp(`^${c.name}\\s`, 'm'));
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
