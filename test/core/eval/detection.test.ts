import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { decodeRaw, encodeBox, scaleAnchors, targetPlanes, TARGET_CH, YOLOV3_ANCHORS_416, type ScaleSpec } from '../../../src/core/eval/yolo';
import { toImageBox, toInputBox } from '../../../src/core/eval/detection';
import { padPlacement } from '../../../src/core/data/image-io';
import { resolveRunConfig } from '../../../src/core/train/run-config';
import { runTraining } from '../../../src/core/train/trainer';
import { initBackend } from '../../../src/core/runtime/backend';
import { evaluateRun, notApplicable, TASK_NAMES } from '../../../src/core/eval/tasks';
import { readEvalResult, validateEvalResult, type EvalResult } from '../../../src/core/eval/results';
import { importRsna } from '../../../src/core/data/importers/rsna';
import { writeImport } from '../../../src/core/data/importers/write';
import { readDataset } from '../../../src/core/data/manifest';
import { HEADLINE } from '../../../src/core/eval/ablate';
import { tinyConfig, tinySynth } from '../../helpers/tiny';

const SIZE = 128;
const scales: ScaleSpec[] = scaleAnchors(SIZE).map((anchors, k) => ({ gridH: 16 >> k, gridW: 16 >> k, anchors }));
const logit = (p: number): number => Math.log(p / (1 - p));

test('anchors: YOLOv3 anchors scale by size / 416, finest scale first', () => {
  assert.deepEqual(scaleAnchors(416), YOLOV3_ANCHORS_416.map((s) => s.map(([w, h]) => [w, h])));
  const a = scaleAnchors(208);
  assert.deepEqual(a[0][0], [5, 6.5]);
  assert.deepEqual(a[2][2], [186.5, 163]);
  assert.equal(a.length, 3);
  assert.ok(a.every((s) => s.length === 3));
});

test('YOLO targets: a box encoded and decoded back equals itself, on the scale its shape picks', () => {
  const boxes: [number, number, number, number][] = [[10.3, 20.7, 4, 5], [40.2, 33.1, 20, 14], [5.5, 7.25, 100, 90], [70, 80, 17, 31]];
  for (const box of boxes) {
    const t = encodeBox(box, scales, SIZE);
    assert.ok(t.tx > 0 && t.tx < 1 && t.ty > 0 && t.ty < 1, `in-cell offsets ${t.tx}, ${t.ty}`);
    const back = decodeRaw([logit(t.tx), logit(t.ty), t.tw, t.th], scales[t.scale], t.anchor, t.gx, t.gy, SIZE);
    back.forEach((v, i) => assert.ok(Math.abs(v - box[i]) < 1e-9, `${box} -> ${back}`));
  }
  // Hand-worked: a 100x90 box best matches the largest anchor set's [115.0, 100.3] (IoU ~0.78).
  const big = encodeBox([5.5, 7.25, 100, 90], scales, SIZE);
  assert.equal(big.scale, 2);
  assert.equal(big.anchor, 2);
  // Centre (55.5, 52.25) at stride 32 on a 4x4 grid: cell (1, 1).
  assert.deepEqual([big.gx, big.gy], [1, 1]);
  assert.equal(encodeBox([10, 10, 3, 4], scales, SIZE).scale, 0);
});

test('target planes: one positive slot per box, negatives cleared where a prior overlaps a box', () => {
  const box: [number, number, number, number] = [40, 40, 20, 14];
  const t = encodeBox(box, scales, SIZE);
  const planes = targetPlanes([box], scales, SIZE);
  assert.equal(planes.length, 3);
  const s = scales[t.scale];
  const at = ((t.gy * s.gridW + t.gx) * 3 + t.anchor) * TARGET_CH;
  assert.equal(planes[t.scale][at], 1);
  assert.equal(planes[t.scale][at + 1], 0);
  let pos = 0;
  for (const p of planes) for (let i = 0; i < p.length; i += TARGET_CH) pos += p[i];
  assert.equal(pos, 1);
  const empty = targetPlanes([], scales, SIZE);
  assert.ok(empty.every((p) => p.every((v, i) => v === (i % TARGET_CH === 1 ? 1 : 0))));
});

test('boxes go through the same resize-and-pad as the image and come back', () => {
  const p = padPlacement(200, 100, 64); // 64 x 32 inside the canvas, 16 px top padding
  assert.deepEqual(toInputBox([100, 50, 20, 10], 200, 100, p), [32, 32, 6.4, 3.2]);
  const back = toImageBox(toInputBox([100, 50, 20, 10], 200, 100, p), 200, 100, p);
  back.forEach((v, i) => assert.ok(Math.abs(v - [100, 50, 20, 10][i]) < 1e-9));
});

let backend: string;
before(async () => {
  backend = (await initBackend(process.env.RECLF_TEST_BACKEND ?? 'wasm')).name;
});

async function trainTiny(data: string): Promise<string> {
  const runDir = path.join(data, 'run');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 2 } }), 'reclf');
  await runTraining({ runDir, dataDir: data, config, resume: false, cancel: { requested: false }, backend, device: 'test', listener: { emit: () => {}, log: () => {} } });
  return runDir;
}

function checkResult(r: EvalResult, runDir: string): void {
  assert.equal(r.task, 'detection');
  assert.deepEqual(validateEvalResult(r), { ok: true });
  assert.deepEqual(readEvalResult(path.join(runDir, 'eval', 'detection.json')).metrics, r.metrics);
  for (const k of ['mAP@50%', 'mAP@100%']) {
    const v = r.metrics[k];
    assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${k} = ${v}`);
  }
  assert.ok((r.metrics.train_images ?? 0) > 0 && (r.metrics.eval_images ?? 0) > 0);
  assert.ok(r.preview && r.preview.images.length > 0 && r.preview.fraction === 1);
  for (const im of r.preview.images) {
    assert.ok(fs.existsSync(im.path));
    assert.ok(im.truth.length > 0 && im.truth.every((b) => b.length === 4));
    assert.ok(im.predicted.every((d) => d.score >= 0.5 && d.box.length === 4));
  }
}

test('detection end to end on a tiny synthetic set: schema-valid result, mAP in [0, 1], fraction ids, preview', async () => {
  assert.ok(TASK_NAMES.includes('detection'));
  assert.ok(HEADLINE.includes('detection/mAP@100%'));
  const data = await tinySynth(60, 7, 64);
  const runDir = await trainTiny(data);
  const studies = readDataset(data).studies;
  assert.equal(notApplicable('detection', studies), undefined);
  assert.equal(notApplicable('detection', studies.map((s) => ({ ...s, boxes: [] }))), 'no boxes');
  const { results } = await evaluateRun({
    runDir, dataDir: data, split: 'valid', score: 'both', pooling: 'max', seeds: [0], tasks: ['detection'],
    detection: { epochs: 2, fractions: [0.5, 1], maxStudies: 40 }, backend, createdBy: 'test',
  });
  assert.equal(results.length, 1);
  checkResult(results[0], runDir);
  const ids = fs.readdirSync(path.join(runDir, 'eval', 'detection-fractions'));
  assert.equal(ids.length, 2);
  // The preview maps boxes back to the stored image: truths equal the manifest's boxes.
  const first = results[0].preview!.images[0];
  const truth = studies.find((s) => s.id === first.id)!.boxes!.map((b) => b.slice(0, 4) as number[]);
  first.truth.forEach((b, i) => b.forEach((v, j) => assert.ok(Math.abs(v - truth[i][j]) < 1e-6)));
});

test('detection on an RSNA-format import (CSV + non-square PNGs): imports, trains, evaluates', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-det-rsna-'));
  const imgs = path.join(root, 'stage_2_train_images');
  fs.mkdirSync(imgs);
  const rows = ['patientId,x,y,width,height,Target'];
  const W = 96, H = 80;
  for (let i = 0; i < 24; i++) {
    const id = `p${String(i).padStart(4, '0')}-rsna`;
    const px = Buffer.alloc(W * H, 40);
    if (i % 4 === 3) rows.push(`${id},,,,,0`);
    else {
      const [x, y, w, h] = [8 + (i * 7) % 40, 10 + (i * 5) % 30, 20 + (i % 3) * 6, 24];
      rows.push(`${id},${x},${y},${w},${h},1`);
      for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) px[yy * W + xx] = 220;
    }
    await sharp(px, { raw: { width: W, height: H, channels: 1 } }).png().toFile(path.join(imgs, `${id}.png`));
  }
  fs.writeFileSync(path.join(root, 'stage_2_train_labels.csv'), rows.join('\n') + '\n');
  const res = importRsna({ root, csv: 'stage_2_train_labels.csv' });
  assert.equal(res.studies.length, 24);
  const data = path.join(root, 'dataset');
  await writeImport(res, data);
  const runDir = await trainTiny(data);
  const studies = readDataset(data).studies;
  // Evaluate on a held-out split with boxes when the seeded split made one, else on train.
  const split = (['test', 'valid'] as const).find((sp) => studies.some((s) => s.split === sp && s.boxes?.length)) ?? 'train';
  const { results } = await evaluateRun({
    runDir, dataDir: data, split, score: 'both', pooling: 'max', seeds: [0], tasks: ['detection'],
    detection: { epochs: 2, fractions: [0.5, 1] }, backend, createdBy: 'test',
  });
  checkResult(results[0], runDir);
  const im = results[0].preview!.images[0];
  assert.deepEqual([im.width, im.height], [W, H]);
});
