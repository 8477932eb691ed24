// Engine end-to-end for export + explain: a tiny trained run is exported through `reclf export`,
// then `reclf explain --json` gives a payload that validates; a real IU X-ray pair when present.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, UsageError } from '../../src/engine/args';
import type { Command } from '../../src/engine/command';
import { exportCommand } from '../../src/engine/commands/export';
import { explainCommand } from '../../src/engine/commands/explain';
import { distributionCommand } from '../../src/engine/commands/distribution';
import { createEventSink } from '../../src/engine/events';
import { resolveRunConfig } from '../../src/core/train/run-config';
import { runTraining } from '../../src/core/train/trainer';
import { initBackend } from '../../src/core/runtime/backend';
import { decodeExplanation, validateExplanation, type ExplanationPayloadJson } from '../../src/protocol/explain';
import { repoRoot, tinyConfig, tinySynth } from '../helpers/tiny';
import { STATISTIC_LENGTH } from '../../src/core/explain/image-distribution';

async function run(cmd: Command, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const write = process.stdout.write.bind(process.stdout);
  // The test runner reports to its parent over this same stdout as binary frames: pass those on.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk !== 'string') return write(chunk, ...rest);
    stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  const errStream = { write: (chunk: string) => { stderr += chunk; return true; } } as unknown as NodeJS.WritableStream;
  try {
    const code = await cmd.run({ args: parseArgs(cmd.spec, argv), events: createEventSink({ stderr: errStream }), tty: false });
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = write;
  }
}

let data: string;
let runDir: string;
before(async () => {
  data = await tinySynth(16, 4, 64);
  runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-explain-run-'));
  const backend = await initBackend('cpu');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 2, epochs: 1, batchSize: 8 } }), 'reclf');
  const r = await runTraining({
    runDir, dataDir: data, config, resume: false, cancel: { requested: false }, backend: backend.name, device: backend.device,
    listener: { emit: () => {}, log: () => {} },
  });
  assert.equal(r.status, 'ok');
});

function firstStudy(): { image: string; report: string } {
  const line = JSON.parse(fs.readFileSync(path.join(data, 'manifest.jsonl'), 'utf8').split('\n')[0]);
  const report = line.report ?? fs.readFileSync(path.join(data, line.report_file), 'utf8');
  return { image: path.join(data, line.image), report };
}

function checkPayload(stdout: string, report: string): ReturnType<typeof decodeExplanation> {
  const p = decodeExplanation(JSON.parse(stdout) as ExplanationPayloadJson);
  assert.deepEqual(validateExplanation(p), []);
  assert.equal(p.report, report);
  assert.ok(p.words.length > 3);
  for (const w of p.words) assert.equal(p.report.slice(w.start, w.end).toLowerCase(), w.text.toLowerCase());
  const m = p.grid[0] * p.grid[1];
  for (let i = 0; i < p.words.length; i++) {
    const s = p.attention.slice(i * m, (i + 1) * m).reduce((a, v) => a + v, 0);
    assert.ok(Math.abs(s - 1) < 1e-3, `attention row ${i} sums to ${s}`);
    assert.ok(p.wordScore[i] >= -1 - 1e-5 && p.wordScore[i] <= 1 + 1e-5);
  }
  const imp = p.importance.reduce((a, v) => a + v, 0);
  assert.ok(Math.abs(imp - 1) < 1e-3, `importance sums to ${imp}`);
  assert.deepEqual(Array.from(p.image.png.slice(1, 4)), [0x50, 0x4e, 0x47]); // "PNG"
  assert.ok(Number.isFinite(p.scores.global) && Number.isFinite(p.scores.local));
  return p;
}

test('export writes a contract model + vocab and reports it as JSON', async () => {
  const out = path.join(runDir, 'model.onnx');
  const r = await run(exportCommand, ['--run', runDir, '--out', out, '--json']);
  assert.equal(r.code, 0);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.model, out);
  assert.equal(summary.metadata.method, 'reclf');
  assert.deepEqual(summary.metadata.grid, [2, 2]);
  assert.ok(fs.statSync(out).size === summary.bytes);
  assert.ok(fs.readFileSync(path.join(runDir, 'model.vocab.txt'), 'utf8').startsWith('[PAD]'));
});

test('explain --model with a report file prints a payload that validates', async () => {
  const s = firstStudy();
  const reportFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-rep-')), 'report.txt');
  fs.writeFileSync(reportFile, s.report);
  await run(exportCommand, ['--run', runDir]);
  const r = await run(explainCommand, ['--model', path.join(runDir, 'model.onnx'), '--image', s.image, '--report', reportFile, '--payload']);
  assert.equal(r.code, 0, r.stderr);
  const p = checkPayload(r.stdout, s.report);
  // --json: the same explanation as plain arrays, one row per word.
  const plain = await run(explainCommand, ['--model', path.join(runDir, 'model.onnx'), '--image', s.image, '--report', reportFile, '--json']);
  assert.equal(plain.code, 0, plain.stderr);
  const j = JSON.parse(plain.stdout);
  const M = p.grid[0] * p.grid[1];
  assert.equal(j.attention.length, p.words.length);
  assert.ok(j.attention.every((row: number[]) => Array.isArray(row) && row.length === M));
  assert.deepEqual(j.attention[0], Array.from(p.attention.subarray(0, M)));
  assert.equal(j.relation.length, p.words.length);
  assert.deepEqual(j.importance, Array.from(p.importance));
  assert.equal(typeof j.image.png_base64, 'string');
  assert.equal(p.model.source, 'onnx');
  assert.equal(p.reportPath, reportFile);
  assert.equal(p.image.width, 32);
});

test('explain --run with inline text works and the text view lists every word', async () => {
  const s = firstStudy();
  const r = await run(explainCommand, ['--run', runDir, '--image', s.image, '--report-text', 'Small left pleural effusion. No pneumothorax.']);
  assert.equal(r.code, 0, r.stderr);
  for (const w of ['small', 'left', 'pleural', 'effusion', 'pneumothorax']) assert.match(r.stdout, new RegExp(`^${w}\\s`, 'mi'));
});

test('explain refuses ambiguous sources and a missing image names the file', async () => {
  await assert.rejects(run(explainCommand, ['--model', 'a.onnx', '--run', runDir, '--image', 'x.png', '--report-text', 'a']), UsageError);
  await assert.rejects(run(explainCommand, ['--run', runDir, '--image', '/nonexistent/x.png', '--report-text', 'no effusion']), /nonexistent\/x\.png/);
});

const iu = path.resolve(repoRoot, '..', 'shared', 'data', 'real-cxr', 'iu-xray');
test('explain a real IU X-ray image with its report', { skip: !fs.existsSync(path.join(iu, 'pairs.csv')) && 'real-cxr data absent' }, async () => {
  const line = fs.readFileSync(path.join(iu, 'pairs.csv'), 'utf8').split('\n').slice(1).find((l) => l.includes(',frontal,'));
  assert.ok(line, 'pairs.csv has a frontal image');
  const [, image, , ...rest] = line.split(',');
  const report = rest.join(',').replace(/^"|"$/g, '');
  const r = await run(explainCommand, ['--model', path.join(runDir, 'model.onnx'), '--image', path.join(iu, image), '--report-text', report, '--payload']);
  assert.equal(r.code, 0, r.stderr);
  const p = checkPayload(r.stdout, report);
  assert.equal(p.image.sourcePath, path.join(iu, image));
});

test('export --data describes the training images, and explain flags an image unlike them in one line', async () => {
  const out = path.join(runDir, 'described.onnx');
  const r = await run(exportCommand, ['--run', runDir, '--out', out, '--data', data, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const dist = JSON.parse(r.stdout).metadata.image_distribution;
  // Decoding the images reports its progress, ending on the whole count.
  const lines = r.stderr.split('\n').filter((l) => l.includes('export: describing'));
  const m = /images (\d+)\/(\d+) \(100%\), ETA 0:00$/.exec(lines.at(-1) ?? '');
  assert.ok(m && m[1] === m[2], `last progress line: ${lines.at(-1)}`);
  assert.match(dist.source, /^synthetic radiographs \(reclf synth\), \d+ train images$/);
  assert.equal(dist.mean.length, STATISTIC_LENGTH);
  assert.ok(dist.threshold > dist.held_out_max);
  const s = firstStudy();
  const inside = await run(explainCommand, ['--model', out, '--image', s.image, '--report-text', s.report, '--payload']);
  const pin = decodeExplanation(JSON.parse(inside.stdout) as ExplanationPayloadJson);
  assert.ok(pin.distribution, 'a described model reports where the image lies');
  assert.equal(pin.distribution.outside, false, `a study of the training data: ${pin.distribution.distance} vs ${pin.distribution.threshold}`);
  // A flat grey image is nothing like a radiograph.
  const flat = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-flat-')), 'flat.png');
  const { encodePng } = await import('../../src/core/data/image-io');
  fs.writeFileSync(flat, await encodePng({ width: 64, height: 64, data: new Float32Array(64 * 64).fill(0.5) }));
  const outside = await run(explainCommand, ['--model', out, '--image', flat, '--report-text', s.report]);
  assert.equal(outside.code, 0, outside.stderr);
  assert.match(outside.stdout.split('\n')[0], /^note: This image is unlike the images this model was trained on \(synthetic radiographs/);
  // reclf distribution: the same check over folders, as counts.
  const flatDir = path.dirname(flat);
  fs.writeFileSync(path.join(flatDir, 'broken.png'), 'not a png');
  const d = await run(distributionCommand, ['--model', out, data, flatDir, '--split', 'valid', '--json']);
  assert.equal(d.code, 0, d.stderr);
  const [valid, folder] = JSON.parse(d.stdout).paths;
  assert.ok(valid.images > 0);
  assert.equal(valid.flagged, 0, 'the threshold lies above every valid image');
  assert.equal(valid.distance.max <= dist.threshold, true);
  assert.deepEqual([folder.images, folder.flagged, folder.unreadable], [2, 1, 1]);
  assert.match(folder.rows.find((r: { error?: string }) => r.error).file, /broken\.png$/);
  const text = await run(distributionCommand, ['--model', out, flatDir]);
  assert.match(text.stdout, /^described\.onnx: trained on synthetic radiographs \(reclf synth\), \d+ train images; images farther than \d+\.\d\d are flagged\n/);
  assert.match(text.stdout, /: 2 images, distance min \d+\.\d\d \/ median \d+\.\d\d \/ max \d+\.\d\d, flagged 1, unreadable 1\n  unreadable .*broken\.png: /);
  await assert.rejects(run(distributionCommand, ['--model', path.join(runDir, 'model.onnx'), flatDir]),
    /model\.onnx: the model carries no summary of its training images \(export it with 'reclf export --data DATASET'\)/);
  // Without --data nothing is claimed either way.
  const plain = await run(explainCommand, ['--model', path.join(runDir, 'model.onnx'), '--image', flat, '--report-text', s.report, '--payload']);
  assert.equal(decodeExplanation(JSON.parse(plain.stdout) as ExplanationPayloadJson).distribution, undefined);
});
