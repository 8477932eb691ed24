import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertUsable, formatInvalid, readDataset, validateStudyRecord } from '../../../src/core/data/manifest';
import { DataError, ConfigError } from '../../../src/core/errors';
import type { InvalidRecord } from '../../../src/core/data/manifest-types';

/** A dataset folder in a fresh temp dir: manifest lines (objects or raw text) plus files. */
function makeDataset(lines: Array<object | string | Buffer>, files: Record<string, string | Buffer> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-manifest-'));
  for (const [rel, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
  }
  const parts = lines.map((l) => (Buffer.isBuffer(l) ? l : Buffer.from(typeof l === 'string' ? l : JSON.stringify(l))));
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')])));
  return dir;
}

const good = (id: string, extra: object = {}): object => ({ id, image: `img/${id}.png`, split: 'train', report: `report of ${id}`, ...extra });
const goodImages = (...ids: string[]): Record<string, string> => Object.fromEntries(ids.map((id) => [`img/${id}.png`, 'png bytes']));

test('validateStudyRecord accepts a full record and names the offending field otherwise', () => {
  const full = {
    id: 's1', image: 'a.png', report: 'No effusion.', view: 'PA', split: 'valid', labels: { Edema: -1, Cardiomegaly: 1, 'Pleural Effusion': 0 },
    boxes: [[1, 2, 3, 4, 'nodule']], mask: 'm.png', words: [{ text: 'effusion', role: 'finding', finding: 'pleural effusion', start: 3, end: 11, negated: true }],
    meta: { source: 'test' },
  };
  assert.deepEqual(validateStudyRecord(full), { ok: true, record: full });
  assert.equal(validateStudyRecord({ id: 'a', image: 'a.png', split: 'test', report_file: 'r.txt' }).ok, true);

  const cases: Array<[unknown, string, RegExp]> = [
    [{ image: 'a.png', split: 'train', report: 'r' }, 'id', /is required/],
    [{ id: 'a', split: 'train', report: 'r' }, 'image', /is required/],
    [{ id: 'a', image: 'a.png', report: 'r' }, 'split', /is required/],
    [{ id: 'a', image: 'a.png', split: 'train' }, 'report', /one of report or report_file/],
    [{ id: 'a', image: 'a.png', split: 'validate', report: 'r' }, 'split', /one of "train", "valid", "test", got "validate"/],
    [{ id: 'a', image: 'a.png', split: 'train', report: 'r', labels: { Edema: 2 } }, 'labels.Edema', /one of 1, 0, -1/],
    [{ id: 'a', image: 'a.png', split: 'train', report: 'r', labels: { Edema: '1' } }, 'labels.Edema', /one of 1, 0, -1, got "1"/],
    [{ id: 'a', image: 'a.png', split: 'train', report: 'r', boxes: [[1, 2, 3, 4]] }, 'boxes[0]', /exactly 5 items/],
    [{ id: 'a', image: 'a.png', split: 'train', report: 'r', boxes: [[1, 2, 3, 4, 'x', 6]] }, 'boxes[0]', /exactly 5 items/],
    [{ id: 'a', image: 'a.png', split: 'train', report: 'r', boxes: [[1, 2, 0, 4, 'x']] }, 'boxes[0][2]', /> 0/],
    [{ id: 'a', image: 'a.png', split: 'train', report: 'r', boxes: [[1, 2, 3, 4, 5]] }, 'boxes[0][4]', /must be string/],
    [{ id: 'a', image: 'a.png', split: 'train', report: 'r', words: [{ text: 'x', role: 'verb' }] }, 'words[0].role', /got "verb"/],
    [{ id: 'a', image: 'a.png', split: 'train', report: 'r', words: [{ role: 'finding' }] }, 'words[0].text', /is required/],
    [{ id: 7, image: 'a.png', split: 'train', report: 'r' }, 'id', /must be string, got number 7/],
    [{ id: '', image: 'a.png', split: 'train', report: 'r' }, 'id', /must not be empty/],
    [['a'], '(record)', /must be a JSON object, got an array/],
    [null, '(record)', /must be a JSON object, got null/],
  ];
  for (const [obj, field, reason] of cases) {
    const r = validateStudyRecord(obj);
    assert.equal(r.ok, false, JSON.stringify(obj));
    if (!r.ok) {
      assert.equal(r.field, field, JSON.stringify(obj));
      assert.match(r.reason, reason, JSON.stringify(obj));
    }
  }
});

test('readDataset loads valid studies: report_file text, absolute paths, line numbers, blank lines and CRLF', () => {
  const dir = makeDataset(
    [
      good('a', { labels: { Edema: 1 } }),
      '',
      JSON.stringify({ id: 'b', image: 'img/b.png', split: 'test', report_file: 'reports/b.txt', mask: 'masks/b.png' }) + '\r',
      '   ',
    ],
    { ...goodImages('a', 'b'), 'reports/b.txt': '\uFEFFFindings: clear lungs.\n', 'masks/b.png': 'mask' },
  );
  const ds = readDataset(dir);
  assert.equal(ds.dir, path.resolve(dir));
  assert.equal(ds.manifest, path.join(path.resolve(dir), 'manifest.jsonl'));
  assert.equal(ds.totalLines, 2);
  assert.deepEqual(ds.invalid, []);
  assert.equal(ds.studies.length, 2);
  const [a, b] = ds.studies;
  assert.equal(a.report, 'report of a');
  assert.equal(a.line, 1);
  assert.equal(a.imagePath, path.join(ds.dir, 'img', 'a.png'));
  assert.equal(a.maskPath, undefined);
  assert.deepEqual(a.labels, { Edema: 1 });
  assert.equal(b.line, 3);
  assert.equal(b.report, 'Findings: clear lungs.\n', 'UTF-8 BOM stripped, text kept verbatim');
  assert.equal(b.maskPath, path.join(ds.dir, 'masks', 'b.png'));
  assert.equal(b.split, 'test');
});

test('readDataset skips, counts and reports every kind of bad record', () => {
  const latin1 = Buffer.from([0x66, 0xe9, 0x76, 0x72, 0x69, 0x65, 0x72]); // "février" in Latin-1
  const lines: Array<object | string | Buffer> = [
    '{"id": "broken", ',                                                       // 1 not JSON
    good('badsplit', { split: 'validate' }),                                   // 2 schema
    good('ok1'),                                                               // 3
    good('ok1'),                                                               // 4 duplicate
    good('esc', { image: '../outside.png' }),                                  // 5 escapes
    good('abs', { image: '/etc/passwd' }),                                     // 6 absolute
    good('noimg', { image: 'img/missing.png' }),                               // 7 missing image
    { id: 'norf', image: 'img/ok2.png', split: 'train', report_file: 'reports/none.txt' },   // 8
    { id: 'rfesc', image: 'img/ok2.png', split: 'train', report_file: '../../r.txt' },       // 9
    { id: 'latin', image: 'img/ok2.png', split: 'train', report_file: 'reports/latin.txt' }, // 10
    good('empty', { image: 'img/ok2.png', report: '  \n\t ' }),                                      // 11
    { id: 'blankrf', image: 'img/ok2.png', split: 'train', report_file: 'reports/blank.txt' }, // 12
    good('maskesc', { image: 'img/ok2.png', mask: '../m.png' }),               // 13
    good('nomask', { image: 'img/ok2.png', mask: 'masks/none.png' }),          // 14
    Buffer.concat([Buffer.from('{"id":"bytes","image":"img/ok2.png","split":"train","report":"'), latin1, Buffer.from('"}')]), // 15
    '42',                                                                      // 16
    good('ok2'),                                                               // 17
    good('dirimg', { image: 'img' }),                                          // 18 a folder, not a file
  ];
  const dir = makeDataset(lines, {
    ...goodImages('ok1', 'ok2'),
    'reports/latin.txt': latin1,
    'reports/blank.txt': ' \n\n ',
  });
  const warned: InvalidRecord[] = [];
  const ds = readDataset(dir, { maxInvalidShare: 1, onWarning: (r) => warned.push(r) });
  assert.equal(ds.totalLines, 18);
  assert.deepEqual(ds.studies.map((s) => s.id), ['ok1', 'ok2']);
  assert.deepEqual(warned, ds.invalid, 'onWarning sees every invalid record, in order');
  const got = ds.invalid.map((r) => [r.line, r.id, r.field]);
  assert.deepEqual(got, [
    [1, undefined, undefined],
    [2, 'badsplit', 'split'],
    [4, 'ok1', 'id'],
    [5, 'esc', 'image'],
    [6, 'abs', 'image'],
    [7, 'noimg', 'image'],
    [8, 'norf', 'report_file'],
    [9, 'rfesc', 'report_file'],
    [10, 'latin', 'report_file'],
    [11, 'empty', 'report'],
    [12, 'blankrf', 'report_file'],
    [13, 'maskesc', 'mask'],
    [14, 'nomask', 'mask'],
    [15, undefined, undefined],
    [16, undefined, '(record)'],
    [18, 'dirimg', 'image'],
  ]);
  const reason = (line: number): string => ds.invalid.find((r) => r.line === line)!.reason;
  assert.match(reason(1), /not valid JSON/);
  assert.match(reason(4), /duplicate id \(first used on line 3\)/);
  assert.match(reason(5), /escapes the dataset folder: \.\.\/outside\.png/);
  assert.match(reason(6), /escapes the dataset folder/);
  assert.match(reason(7), /file not found: img\/missing\.png/);
  assert.match(reason(8), /file not found: reports\/none\.txt/);
  assert.match(reason(9), /escapes the dataset folder/);
  assert.match(reason(10), /reports\/latin\.txt is not valid UTF-8/);
  assert.match(reason(11), /report text is empty/);
  assert.match(reason(12), /reports\/blank\.txt is empty/);
  assert.match(reason(14), /file not found: masks\/none\.png/);
  assert.match(reason(15), /not valid UTF-8/);
  assert.match(reason(16), /must be a JSON object/);
  assert.match(reason(18), /img is a folder, not a regular file/);
  assert.equal(formatInvalid(ds.invalid[2]), 'line 4 (ok1): id: duplicate id (first used on line 3)');
  assert.equal(formatInvalid(ds.invalid[0]).startsWith('line 1: not valid JSON'), true);
});

test('readDataset throws a DataError naming the manifest and the counts above the invalid share', () => {
  const dir = makeDataset([good('a'), good('b'), good('c'), good('d', { split: 'nope' })], goodImages('a', 'b', 'c', 'd'));
  assert.throws(() => readDataset(dir), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.match(e.message, /manifest\.jsonl: 1 of 4 records are invalid \(25%, more than the allowed 20%\)/);
    assert.match(e.message, /line 4 \(d\): split: must be one of/);
    assert.equal(e.file, path.join(path.resolve(dir), 'manifest.jsonl'));
    return true;
  });
  assert.equal(readDataset(dir, { maxInvalidShare: 0.25 }).studies.length, 3, 'exactly at the share is still usable');
  assert.throws(() => readDataset(dir, { maxInvalidShare: 1.5 }), ConfigError);
});

test('assertUsable lists the first reasons and how many more', () => {
  const invalid = Array.from({ length: 7 }, (_, i): InvalidRecord => ({ line: i + 1, id: `s${i}`, field: 'image', reason: 'file not found' }));
  assert.throws(() => assertUsable('m.jsonl', invalid, 8, 0.2), /m\.jsonl: 7 of 8 records are invalid \(87\.5%.*line 5 \(s4\): image: file not found; … and 2 more$/);
  assert.doesNotThrow(() => assertUsable('m.jsonl', invalid.slice(0, 1), 8, 0.2));
});

test('readDataset: missing folder, missing manifest and empty manifest are DataErrors', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-manifest-'));
  assert.throws(() => readDataset(path.join(base, 'nope')), (e: unknown) => e instanceof DataError && /dataset folder not found/.test(e.message));
  assert.throws(() => readDataset(base), (e: unknown) => e instanceof DataError && /manifest\.jsonl not found in dataset folder/.test(e.message));
  fs.writeFileSync(path.join(base, 'manifest.jsonl'), '\n\n');
  assert.throws(() => readDataset(base), (e: unknown) => e instanceof DataError && /no records/.test(e.message));
});

test('readDataset reads manifests larger than one read chunk without splitting lines', () => {
  const n = 3000;
  const long = 'word '.repeat(40).trim();
  const lines = Array.from({ length: n }, (_, i) => good(`s${i}`, { image: 'img/x.png', report: `${long} ${i}` }));
  const dir = makeDataset(lines, { 'img/x.png': 'x' });
  const ds = readDataset(dir);
  assert.ok(fs.statSync(ds.manifest).size > 1 << 17, 'spans several 64 KiB chunks');
  assert.equal(ds.studies.length, n);
  assert.equal(ds.studies[n - 1].report, `${long} ${n - 1}`);
  assert.equal(ds.studies[1234].line, 1235);
});

test('readDataset refuses reports of only zero-width characters or random bytes, naming line, id and field', () => {
  const random = Buffer.alloc(2048);
  let x = 7;
  for (let i = 0; i < random.length; i++) { x = (x * 1103515245 + 12345) >>> 0; random[i] = x >>> 24; }
  const dir = makeDataset(
    [
      ...Array.from({ length: 8 }, (_, i) => good(`ok${i}`)),
      good('zw', { image: 'img/ok0.png', report: '\u200b\u200b\u200d' }),
      { id: 'rand', image: 'img/ok0.png', split: 'train', report_file: 'r/rand.txt' },
      { id: 'zwf', image: 'img/ok0.png', split: 'train', report_file: 'r/zw.txt' },
    ],
    { ...goodImages(...Array.from({ length: 8 }, (_, i) => `ok${i}`)), 'r/rand.txt': random, 'r/zw.txt': Buffer.from('\u200b \u200b', 'utf8') },
  );
  const ds = readDataset(dir, { maxInvalidShare: 0.5 });
  assert.deepEqual(ds.invalid.map((r) => [r.line, r.id, r.field]), [[9, 'zw', 'report'], [10, 'rand', 'report_file'], [11, 'zwf', 'report_file']]);
  assert.match(ds.invalid[0].reason, /^report text has no words/);
  assert.equal(ds.invalid[1].reason, 'r/rand.txt is not valid UTF-8 text');
  assert.match(ds.invalid[2].reason, /^r\/zw\.txt has no words/);
});
