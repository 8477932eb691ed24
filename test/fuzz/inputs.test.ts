// Fuzz tier (issue 14): a generated corpus of bad inputs (damaged PNG/JPEG/DICOM, manifest rows,
// paths and symlinks, reports, configs, ONNX models, explain's --image/--report) through
// `reclf info`, `reclf train` and `reclf explain`. Every case must end in its documented outcome:
// accepted, or a clear error naming the record and field (or the file) on one line; never an
// internal error or a stack trace; never past the memory bound. The commands run batched in a
// child process whose resident memory a watchdog polls (harness.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { buildCorpus, BUNDLED_MODEL, type Corpus, type PlacedRecord } from './cases';
import {
  assertNoCrash, assertRefused, finished, MEMORY_BOUND_MIB, runJobs, type FuzzJob, type JobRecord, type JobResult,
} from './harness';
import type { DatasetSummary } from '../../src/core/data/dataset-summary';
import type { InvalidRecord } from '../../src/core/data/manifest-types';
import { formatInvalid } from '../../src/core/data/manifest';
import { parseEngineEvent, type EngineEvent } from '../../src/protocol/events';

let corpus: Corpus;
let results: Map<string, JobResult>;
let peakMiB = 0;
let wallMs = 0;
const hasModel = fs.existsSync(BUNDLED_MODEL);

function jobs(c: Corpus): FuzzJob[] {
  const out: FuzzJob[] = [];
  for (const s of c.single) out.push({ key: `info:${s.placed.key}`, argv: ['info', s.dir, '--json'] });
  c.datasets.forEach((d, i) => {
    out.push({ key: `dataset-info:${i}`, argv: ['info', d.dir] });
    out.push({ key: `dataset-train:${i}`, argv: ['train', '--data', d.dir, '--config', c.tinyConfig, '--out', path.join(c.root, 'dataset-runs', String(i)), '--max-steps', '1', '--backend', 'wasm'] });
  });
  out.push({ key: 'info-all', argv: ['info', c.all.dir] });
  out.push({ key: 'info-decode-all', argv: ['info', c.all.dir, '--json', '--decode', '--max-invalid-share', '1'] });
  out.push({ key: 'train-all', argv: ['train', '--data', c.all.dir, '--config', c.all.trainConfig, '--out', path.join(c.root, 'run-all'), '--backend', 'wasm', '--method', 'convirt'] });
  c.configs.forEach((k, i) => out.push({ key: `config:${i}`, argv: ['train', '--data', c.configData, '--config', k.file, '--out', path.join(c.root, 'config-runs', String(i)), '--max-steps', '1', '--backend', 'wasm'] }));
  if (hasModel) {
    c.imageFiles.forEach(({ file }, i) => out.push({ key: `explain-image:${i}`, argv: ['explain', '--model', BUNDLED_MODEL, '--image', file, '--report', c.goodReport, '--json'] }));
    c.explainInputs.forEach((k, i) => out.push({ key: `explain-input:${i}`, argv: ['explain', '--model', BUNDLED_MODEL, ...k.argv, '--json'] }));
    c.models.forEach((m, i) => out.push({ key: `model:${i}`, argv: ['explain', '--model', m.model, '--image', c.goodImage, '--report', c.goodReport, '--json'] }));
  }
  return out;
}

before(async () => {
  corpus = await buildCorpus();
  const run = await runJobs(jobs(corpus));
  results = run.results;
  peakMiB = run.peakMiB;
  wallMs = run.wallMs;
});

after(() => {
  if (corpus) fs.rmSync(corpus.root, { recursive: true, force: true });
});

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * What a case's record must look like in an InvalidRecord list: by its header (info), by a full
 * decode (train), or both (info --decode reads the header first, then decodes).
 */
function expected(p: PlacedRecord, by: 'header' | 'decode' | 'header+decode'): 'ok' | { field?: string; reason: RegExp } {
  if (!p.image) return p.expect;
  if (by === 'header+decode') by = p.image.expect.header === 'ok' ? 'decode' : 'header';
  const e = p.image.expect[by];
  if (e === 'ok') return 'ok';
  // info names the image by its manifest path; a full decode by the file's real path.
  return { field: 'image', reason: by === 'header' ? new RegExp(`^${escape(p.image.rel)}: .*${e.source}`) : new RegExp(`${escape(p.image.rel)}: .*${e.source}`) };
}

function assertInvalidRecord(p: PlacedRecord, got: InvalidRecord | undefined, want: { field?: string; reason: RegExp }, where: string): void {
  const label = `${where} ${p.key} (${p.name})`;
  assert.ok(got, `${label}: not refused (expected ${want.field ?? 'the line'}: ${want.reason})`);
  assert.equal(got.line, p.line, `${label}: line`);
  assert.equal(got.id, p.id, `${label}: id`);
  assert.equal(got.field, want.field, `${label}: field (${got.reason})`);
  assert.match(got.reason, want.reason, label);
  assert.ok(!formatInvalid(got).includes('\n'), `${label}: the reason spans lines: ${JSON.stringify(got.reason)}`);
}

function summaryOf(key: string): { r: ReturnType<typeof finished>; s: DatasetSummary } {
  const r = finished(results, key);
  assertNoCrash(key, r);
  return { r, s: JSON.parse(r.stdout) as DatasetSummary };
}

test('reclf info, one case per dataset: each bad row, path, report and image is refused on its own line naming line, id and field; controls pass', () => {
  let refused = 0;
  for (const { placed: p } of corpus.single) {
    const key = `info:${p.key}`;
    const { r, s } = summaryOf(key);
    assert.doesNotMatch(r.stdout + r.stderr, /Outsideword|Sourceword/, `${key}: text from outside the dataset`);
    const want = expected(p, 'header');
    if (want === 'ok') {
      assert.equal(r.code, 0, `${key} (${p.name}): ${r.stderr}`);
      assert.deepEqual(s.invalid, [], `${key} (${p.name}) was refused`);
      continue;
    }
    refused++;
    // One bad record of two is over the 20% threshold: exit 2, the record on its own stderr line.
    assert.equal(r.code, 2, `${key} (${p.name}): exit ${r.code}: ${r.stderr}`);
    assert.equal(s.invalid.length, 1, `${key} (${p.name}): ${JSON.stringify(s.invalid)}`);
    assertInvalidRecord(p, s.invalid[0], want, 'info');
    const lines = r.stderr.trimEnd().split('\n');
    assert.deepEqual(lines.filter((l) => l.startsWith('invalid: ')), [`invalid: ${formatInvalid(s.invalid[0])}`], key);
    assert.match(lines.at(-1)!, /^reclf info: .*manifest\.jsonl: 1 of 2 records are invalid/, key);
    assert.equal(lines.length, 2, `${key}: ${r.stderr}`);
  }
  assert.ok(refused >= 150, `only ${refused} refused cases`);
});

test('reclf info and train on datasets broken as a whole (folder, manifest.jsonl, reclf-dataset.json): one line, exit 2', () => {
  corpus.datasets.forEach((d, i) => {
    assertRefused(`dataset-info:${i} (${d.name})`, finished(results, `dataset-info:${i}`), 'info', d.expect);
    assertRefused(`dataset-train:${i} (${d.name})`, finished(results, `dataset-train:${i}`), 'train', d.expect);
  });
});

test('reclf info --decode on every case in one dataset: one pass lists exactly the refused records', () => {
  const { r, s } = summaryOf('info-decode-all');
  assert.equal(r.code, 0, r.stderr);
  const byLine = new Map(s.invalid.map((i) => [i.line, i]));
  for (const p of corpus.all.placed) {
    const want = expected(p, 'header+decode');
    if (want === 'ok') assert.equal(byLine.get(p.line), undefined, `${p.key} (${p.name}) refused: ${byLine.get(p.line)?.reason}`);
    else assertInvalidRecord(p, byLine.get(p.line), want, 'info --decode');
  }
  const refused = corpus.all.placed.filter((p) => expected(p, 'header+decode') !== 'ok').length;
  assert.equal(s.invalid.length, refused, 'only the cases are refused, not the padding rows');
  // Nothing from outside the dataset was read into the summary.
  assert.doesNotMatch(r.stdout, /Outsideword|Sourceword/);
});

test('reclf info on every case (default threshold): every problem on its own line, then exit 2 with the verdict', () => {
  const r = finished(results, 'info-all');
  assertNoCrash('info-all', r);
  assert.equal(r.code, 2);
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines.at(-1)!, /^reclf info: .*manifest\.jsonl: \d+ of \d+ records are invalid \(\d+(\.\d)?%, more than the allowed 20%\)/);
  const invalidLines = lines.slice(0, -1);
  assert.ok(invalidLines.every((l) => l.startsWith('invalid: line ')), r.stderr);
  for (const p of corpus.all.placed) {
    const mine = invalidLines.filter((l) => l.startsWith(`invalid: line ${p.line}:`) || l.startsWith(`invalid: line ${p.line} (`));
    assert.equal(mine.length, expected(p, 'header') === 'ok' ? 0 : 1, `${p.key} (${p.name}): ${mine.join(' | ')}`);
  }
});

test('reclf train over every case: bad records and undecodable images are skipped with a warning naming them, the rest trains', () => {
  const r = finished(results, 'train-all');
  assertNoCrash('train-all', r);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.split('\n').map((l) => parseEngineEvent(l)).filter((e): e is EngineEvent => e !== undefined);
  const last = events.at(-1);
  assert.ok(last?.type === 'run_finished' && last.status === 'ok', JSON.stringify(last));
  const warnings = events.filter((e): e is Extract<EngineEvent, { type: 'warning' }> => e.type === 'warning');
  for (const w of warnings) assert.ok(!w.message.includes('\n'), `a warning spans lines: ${w.message}`);
  for (const p of corpus.all.placed) {
    const label = `train ${p.key} (${p.name})`;
    const manifestWarning = warnings.filter((w) => w.message.startsWith(`skipped manifest line ${p.line} (`) || w.message.startsWith(`skipped manifest line ${p.line}:`));
    const decodeWarning = p.id === undefined ? [] : warnings.filter((w) => w.record === p.id && w.message.startsWith(`skipped ${p.id}: `));
    if (p.expect !== 'ok') {
      assert.equal(manifestWarning.length, 1, `${label}: ${manifestWarning.map((w) => w.message).join(' | ')}`);
      const w = manifestWarning[0];
      assert.equal(w.record, p.id, label);
      const prefix = `skipped manifest line ${p.line}${p.expect.field ? ` (${p.expect.field})` : ''}: `;
      assert.ok(w.message.startsWith(prefix), `${label}: ${w.message}`);
      assert.match(w.message.slice(prefix.length), p.expect.reason, label);
      continue;
    }
    assert.deepEqual(manifestWarning, [], label);
    const decode = p.image?.expect.decode ?? 'ok';
    if (decode === 'ok') {
      assert.deepEqual(decodeWarning.map((w) => w.message), [], label);
    } else {
      assert.equal(decodeWarning.length, 1, `${label}: not reported as skipped`);
      assert.match(decodeWarning[0].message, new RegExp(`${escape(p.image!.rel)}: .*${decode.source}`), label);
    }
  }
  // The outside report words never reached the run's vocabulary.
  assert.doesNotMatch(fs.readFileSync(path.join(corpus.root, 'run-all', 'vocab.txt'), 'utf8'), /outsideword|sourceword/i);
});

test('reclf explain --image on every image case: decoded and explained, or refused on one line naming the file', { skip: !hasModel && 'bundled model absent' }, () => {
  corpus.imageFiles.forEach(({ c, file }, i) => {
    const key = `explain-image:${i} (${c.name})`;
    const r = finished(results, `explain-image:${i}`);
    if (c.expect.decode === 'ok') {
      assertNoCrash(key, r);
      assert.equal(r.code, 0, `${key}: ${r.stderr}`);
      assert.ok(JSON.parse(r.stdout).words.length > 3, key);
    } else {
      assertRefused(key, r, 'explain', new RegExp(`${escape(file)}: .*${c.expect.decode.source}`));
    }
  });
});

test('reclf explain: devices, FIFOs, folders and unusable reports as --image / --report are refused at once', { skip: !hasModel && 'bundled model absent' }, () => {
  corpus.explainInputs.forEach((c, i) => {
    const key = `explain-input:${i} (${c.name})`;
    const r = finished(results, `explain-input:${i}`);
    if (c.expect === 'ok') {
      assertNoCrash(key, r);
      assert.equal(r.code, 0, `${key}: ${r.stderr}`);
    } else {
      assertRefused(key, r, 'explain', c.expect);
    }
  });
});

test('reclf train --config: values outside the schema, bad vocabularies and non-config files are refused naming file and field', () => {
  corpus.configs.forEach((c, i) => {
    const key = `config:${i} (${c.name})`;
    const r = finished(results, `config:${i}`);
    if (c.expect === 'ok') {
      assertNoCrash(key, r);
      assert.equal(r.code, 0, `${key}: ${r.stderr}`);
      assert.match(r.stdout, /"type":"run_finished","status":"ok"/, key);
    } else {
      assertRefused(key, r, 'train', c.expect);
    }
  });
});

test('reclf explain --model: metadata against the graph, tokenizer metadata, misshaped outputs and non-models', { skip: !hasModel && 'bundled model absent' }, () => {
  corpus.models.forEach((m, i) => {
    const key = `model:${i} (${m.name})`;
    const r = finished(results, `model:${i}`);
    if (m.expect === 'ok') {
      assertNoCrash(key, r);
      assert.equal(r.code, 0, `${key}: ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { attention: number[][]; importance: number[] };
      assert.ok(out.importance.every(Number.isFinite) && out.attention.flat().every(Number.isFinite), `${key}: non-finite values`);
    } else {
      assertRefused(key, r, 'explain', m.expect);
    }
  });
});

test('the tier: at least 200 bad inputs, every job within the memory bound', (t) => {
  const count = new Map<string, { bad: number; ok: number }>();
  const tally = (cat: string, ok: boolean): void => {
    const c = count.get(cat) ?? { bad: 0, ok: 0 };
    if (ok) c.ok++;
    else c.bad++;
    count.set(cat, c);
  };
  for (const p of corpus.all.placed) tally(p.category, p.image ? p.image.expect.decode === 'ok' && p.image.expect.header === 'ok' : p.expect === 'ok');
  for (const c of corpus.configs) tally('config', c.expect === 'ok');
  for (const m of corpus.models) tally('model', m.expect === 'ok');
  for (const e of corpus.explainInputs) tally('explain input', e.expect === 'ok');
  for (const _ of corpus.datasets) tally('dataset', false);
  const bad = [...count.values()].reduce((n, c) => n + c.bad, 0);
  t.diagnostic(`${bad} bad inputs, ${[...count.values()].reduce((n, c) => n + c.ok, 0)} valid controls: ${[...count].map(([k, c]) => `${k} ${c.bad}+${c.ok}`).join(', ')}`);
  t.diagnostic(`${results.size} command runs in ${(wallMs / 1000).toFixed(1)} s, peak RSS ${peakMiB.toFixed(0)} MiB (bound ${MEMORY_BOUND_MIB} MiB)`);
  const slowest = [...results.values()].filter((r): r is JobRecord => 'ms' in r).sort((a, b) => b.ms - a.ms).slice(0, 8);
  t.diagnostic(`slowest: ${slowest.map((r) => `${r.key} ${r.ms} ms`).join(', ')}`);
  assert.ok(bad >= 200, `only ${bad} bad inputs`);
  for (const r of results.values()) assert.ok(!('died' in r), `${r.key}: ${'died' in r ? r.died : ''}`);
  assert.ok(peakMiB < MEMORY_BOUND_MIB, `peak RSS ${peakMiB} MiB`);
});
