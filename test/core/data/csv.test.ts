import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { parseCsv, readCsvTable, requireColumns, toTable } from '../../../src/core/data/csv';
import { DataError } from '../../../src/core/errors';

test('quoted fields keep commas, escaped quotes and newlines; line numbers are physical', () => {
  const p = parseCsv('a,b,c\n1,"x, y","say ""hi"""\n2,"line1\nline2",z\n3,,\n');
  assert.deepEqual(p.rows, [['a', 'b', 'c'], ['1', 'x, y', 'say "hi"'], ['2', 'line1\nline2', 'z'], ['3', '', '']]);
  assert.deepEqual(p.lines, [1, 2, 3, 5]);
});

test('BOM, CRLF, lone CR and blank lines; no trailing newline', () => {
  const p = parseCsv('\ufeffid,v\r\n1,a\r\n\r\n2,"b\r\nc"\r3,d');
  assert.deepEqual(p.rows, [['id', 'v'], ['1', 'a'], ['2', 'b\r\nc'], ['3', 'd']]);
  assert.deepEqual(p.lines, [1, 2, 4, 6]);
});

test('a quoted empty field on its own line is a record; an unterminated quote is a DataError naming the line', () => {
  assert.deepEqual(parseCsv('h\n""\n').rows, [['h'], ['']]);
  assert.throws(() => parseCsv('a,b\n1,"oops\n2,3\n', 'f.csv'), (e: unknown) => e instanceof DataError && /f\.csv.*line 2/.test(e.message));
});

test('header names are trimmed (SIIM " EncodedPixels"); short rows read as blank and report their width', () => {
  const t = toTable(parseCsv('ImageId, EncodedPixels\nabc, -1\nshort\n'), 't.csv');
  assert.deepEqual(t.header, ['ImageId', 'EncodedPixels']);
  assert.deepEqual(t.records[0], { line: 2, values: { ImageId: 'abc', EncodedPixels: ' -1' }, width: 2 });
  assert.deepEqual(t.records[1], { line: 3, values: { ImageId: 'short', EncodedPixels: '' }, width: 1 });
  assert.throws(() => requireColumns(t, ['ImageId', 'Target']), (e: unknown) => e instanceof DataError && /t\.csv: missing column 'Target'/.test(e.message));
});

test('readCsvTable reads .gz files and rejects missing or empty files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-csv-'));
  const gz = path.join(dir, 'm.csv.gz');
  fs.writeFileSync(gz, zlib.gzipSync('dicom_id,ViewPosition\nd1,PA\n'));
  assert.deepEqual(readCsvTable(gz).records[0].values, { dicom_id: 'd1', ViewPosition: 'PA' });
  fs.writeFileSync(path.join(dir, 'empty.csv'), '');
  assert.throws(() => readCsvTable(path.join(dir, 'empty.csv')), /empty CSV/);
  assert.throws(() => readCsvTable(path.join(dir, 'nope.csv')), DataError);
});
