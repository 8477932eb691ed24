// Containment by real path (issue 14, item 1): a file a manifest names must stay in the dataset
// folder once every symlink is followed; images may also resolve into the folders reclf import
// declared in reclf-dataset.json. Symlinks, dangling links, folder links and FIFOs in temp dirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { readDataset, readLinkRoots } from '../../../src/core/data/manifest';
import { DATASET_META_FILE, writeDatasetMeta } from '../../../src/core/data/manifest-write';
import { linkRootsFor, writeImport } from '../../../src/core/data/importers/write';
import { emptyResult } from '../../../src/core/data/importers/common';
import { realFileUnder, isUnder } from '../../../src/core/data/input-guard';
import { DataError } from '../../../src/core/errors';

function tmp(prefix: string): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

function write(root: string, rel: string, data: string | Buffer): string {
  const full = path.join(root, rel);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, data);
  return full;
}

function link(target: string, at: string): void {
  fs.mkdirSync(path.dirname(at), { recursive: true });
  fs.symlinkSync(target, at);
}

function manifest(dir: string, records: object[]): void {
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

const rec = (id: string, extra: object = {}): object => ({ id, image: `img/${id}.png`, split: 'train', report: `report of ${id}`, ...extra });

/** A dataset of `good` valid studies plus the given records, and an outside folder with a secret report. */
function setup(good: number): { dir: string; outside: string; records: object[] } {
  const dir = tmp('reclf-contain-');
  const outside = tmp('reclf-outside-');
  write(outside, 'secret.png', 'png bytes from outside');
  write(outside, 'secret.txt', 'Outsideword confidential findings.');
  fs.mkdirSync(path.join(outside, 'folder'));
  write(outside, 'folder/x.png', 'png');
  write(outside, 'folder/r.txt', 'Outsideword in a linked folder.');
  const records: object[] = [];
  for (let i = 0; i < good; i++) {
    write(dir, `img/g${i}.png`, 'png');
    records.push(rec(`g${i}`));
  }
  return { dir, outside, records };
}

test('symlinks that lead out of the dataset are refused for image, report_file and mask, naming line, id and field', () => {
  const { dir, outside, records } = setup(20);
  link(path.join(outside, 'secret.png'), path.join(dir, 'img/out.png'));
  link(path.join(outside, 'secret.txt'), path.join(dir, 'reports/out.txt'));
  link(path.join(outside, 'secret.png'), path.join(dir, 'masks/out.png'));
  link(path.join(outside, 'folder'), path.join(dir, 'linked'));            // a folder link
  link('../../' + path.basename(outside) + '/secret.txt', path.join(dir, 'reports/rel.txt')); // relative target
  write(dir, 'img/ok.png', 'png');
  const bad = [
    rec('imglink', { image: 'img/out.png' }),
    { id: 'rflink', image: 'img/ok.png', split: 'train', report_file: 'reports/out.txt' },
    rec('masklink', { image: 'img/ok.png', mask: 'masks/out.png' }),
    rec('dirimg', { image: 'linked/x.png' }),
    { id: 'dirrf', image: 'img/ok.png', split: 'train', report_file: 'linked/r.txt' },
    { id: 'relrf', image: 'img/ok.png', split: 'train', report_file: 'reports/rel.txt' },
  ];
  manifest(dir, [...records, ...bad]);
  const ds = readDataset(dir, { maxInvalidShare: 0.5 });
  assert.equal(ds.studies.length, 20);
  const byId = new Map(ds.invalid.map((r) => [r.id, r]));
  const expect: [string, number, string][] = [
    ['imglink', 21, 'image'], ['rflink', 22, 'report_file'], ['masklink', 23, 'mask'],
    ['dirimg', 24, 'image'], ['dirrf', 25, 'report_file'], ['relrf', 26, 'report_file'],
  ];
  for (const [id, line, field] of expect) {
    const r = byId.get(id);
    assert.ok(r, `${id} refused`);
    assert.equal(r.line, line);
    assert.equal(r.field, field);
    assert.match(r.reason, new RegExp(`resolves to ${outside.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*outside the dataset folder`), r.reason);
  }
  // Nothing from outside was read: no study carries the outside report's words.
  assert.ok(!ds.studies.some((s) => s.report.includes('Outsideword')));
  // `../` and absolute paths are still refused by their text.
  manifest(dir, [...records, rec('dots', { image: '../x.png' }), rec('abs', { image: path.join(outside, 'secret.png') })]);
  const ds2 = readDataset(dir, { maxInvalidShare: 0.5 });
  assert.deepEqual(ds2.invalid.map((r) => r.reason), ['path escapes the dataset folder: ../x.png', `path escapes the dataset folder: ${path.join(outside, 'secret.png')}`]);
});

test('links that stay inside the dataset are followed; studies carry the real path; a linked dataset folder works', () => {
  const { dir, records } = setup(3);
  write(dir, 'store/a.png', 'png');
  write(dir, 'store/a.txt', 'Findings: clear lungs.');
  link(path.join(dir, 'store/a.png'), path.join(dir, 'img/la.png'));
  link('../store/a.txt', path.join(dir, 'reports/la.txt'));
  link(path.join(dir, 'store'), path.join(dir, 'alias'));
  manifest(dir, [...records, { id: 'la', image: 'img/la.png', split: 'train', report_file: 'reports/la.txt' }, rec('al', { image: 'alias/a.png' })]);
  const ds = readDataset(dir);
  assert.deepEqual(ds.invalid, []);
  const la = ds.studies.find((s) => s.id === 'la');
  assert.equal(la?.imagePath, path.join(dir, 'store/a.png'));
  assert.equal(la?.report, 'Findings: clear lungs.');
  assert.equal(ds.studies.find((s) => s.id === 'al')?.imagePath, path.join(dir, 'store/a.png'));
  // The dataset folder itself reached through a symlink: its contents are inside.
  const alias = path.join(tmp('reclf-alias-'), 'ds');
  fs.symlinkSync(dir, alias);
  assert.equal(readDataset(alias).studies.length, 5);
});

test('manifest.jsonl itself: a link to a manifest outside the dataset is refused naming it, a link inside is read', () => {
  const { dir, outside, records } = setup(3);
  // A manifest outside whose rows would all be accepted (their images are in the dataset).
  const secret = write(outside, 'manifest.jsonl', records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  link(secret, path.join(dir, 'manifest.jsonl'));
  const file = path.join(dir, 'manifest.jsonl');
  assert.throws(() => readDataset(dir), (e: Error) => e instanceof DataError
    && e.message === `${file}: manifest.jsonl resolves to ${secret}, outside the dataset folder (symlinks may not lead out of it)`);
  // Through a linked folder too.
  fs.rmSync(file);
  link(outside, path.join(dir, 'meta'));
  link('meta/manifest.jsonl', file);
  assert.throws(() => readDataset(dir), /manifest\.jsonl resolves to .*, outside the dataset folder/);
  // A link that stays inside (a versioned manifest, say) is followed.
  fs.rmSync(file);
  write(dir, 'versions/v2.jsonl', records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  link('versions/v2.jsonl', file);
  const ds = readDataset(dir);
  assert.equal(ds.studies.length, 3);
  assert.equal(ds.manifest, file);
});

test('dangling links, link loops and FIFOs are refused without blocking', () => {
  const { dir, records } = setup(20);
  link(path.join(dir, 'nowhere.png'), path.join(dir, 'img/dangling.png'));
  link(path.join(dir, 'img/loop-b.png'), path.join(dir, 'img/loop-a.png'));
  link(path.join(dir, 'img/loop-a.png'), path.join(dir, 'img/loop-b.png'));
  const bad = [rec('dangling'), rec('loop-a')];
  const fifo = spawnSync('mkfifo', [path.join(dir, 'img/fifo.png')]).status === 0;
  if (fifo) bad.push(rec('fifo'));
  manifest(dir, [...records, ...bad]);
  const ds = readDataset(dir, { maxInvalidShare: 0.5 });
  const reason = (id: string): string => ds.invalid.find((r) => r.id === id)?.reason ?? '';
  assert.match(reason('dangling'), /file not found: img\/dangling\.png \(a broken link to .*nowhere\.png\)/);
  assert.match(reason('loop-a'), /too many levels of symbolic links/);
  if (fifo) assert.match(reason('fifo'), /img\/fifo\.png is a FIFO \(named pipe\), not a regular file/);
});

test('reclf-dataset.json: images may resolve into a declared link root, report files and masks may not', () => {
  const { dir, outside, records } = setup(20);
  link(path.join(outside, 'secret.png'), path.join(dir, 'img/src.png'));
  link(path.join(outside, 'secret.txt'), path.join(dir, 'reports/src.txt'));
  const other = tmp('reclf-other-');
  write(other, 'o.png', 'png');
  link(path.join(other, 'o.png'), path.join(dir, 'img/other.png'));
  manifest(dir, [
    ...records, rec('src'),
    { id: 'srcrf', image: 'img/g0.png', split: 'train', report_file: 'reports/src.txt' },
    rec('other'),
  ]);
  // Without the file the outside link is refused, with a hint on how to declare it.
  const before = readDataset(dir, { maxInvalidShare: 0.5 });
  assert.match(before.invalid.find((r) => r.id === 'src')?.reason ?? '', /re-run the import or add the folder there/);
  writeDatasetMeta(dir, [outside], 'test');
  const ds = readDataset(dir, { maxInvalidShare: 0.5 });
  assert.deepEqual(ds.linkRoots, [outside]);
  assert.equal(ds.studies.find((s) => s.id === 'src')?.imagePath, path.join(outside, 'secret.png'));
  const reason = (id: string): string => ds.invalid.find((r) => r.id === id)?.reason ?? '';
  assert.match(reason('srcrf'), /outside the dataset folder \(a report_file must be inside the dataset folder\)/);
  assert.match(reason('other'), /outside the dataset folder and the link roots in reclf-dataset\.json/);
  assert.deepEqual(ds.invalid.map((r) => r.id).sort(), ['other', 'srcrf']);
});

test('reclf-dataset.json is validated: the file-system root, relative paths and bad JSON are refused with the field named', () => {
  const dir = tmp('reclf-meta-');
  const put = (v: unknown): void => { fs.writeFileSync(path.join(dir, DATASET_META_FILE), typeof v === 'string' ? v : JSON.stringify(v)); };
  assert.deepEqual(readLinkRoots(dir), []);
  put({ format: 'reclf-dataset', version: 1, linkRoots: ['/'] });
  assert.throws(() => readLinkRoots(dir), (e: Error) => e instanceof DataError && e.field === 'linkRoots[0]' && /file-system root/.test(e.message));
  put({ linkRoots: ['rel/dir'] });
  assert.throws(() => readLinkRoots(dir), /linkRoots\[0\] must be an absolute folder path, got "rel\/dir"/);
  put({ linkRoots: 'x' });
  assert.throws(() => readLinkRoots(dir), /linkRoots must be a list/);
  put({ format: 'other' });
  assert.throws(() => readLinkRoots(dir), /format must be "reclf-dataset"/);
  put('{oops');
  assert.throws(() => readLinkRoots(dir), /reclf-dataset\.json: not valid JSON/);
  // A root that no longer exists is left out (its images then read as missing files).
  put({ linkRoots: [path.join(dir, 'gone')] });
  assert.deepEqual(readLinkRoots(dir), []);
  // The sidecar itself may not be a link to a file outside.
  const outside = tmp('reclf-meta-out-');
  write(outside, 'm.json', JSON.stringify({ linkRoots: ['/'] }));
  fs.rmSync(path.join(dir, DATASET_META_FILE));
  fs.symlinkSync(path.join(outside, 'm.json'), path.join(dir, DATASET_META_FILE));
  assert.throws(() => readLinkRoots(dir), /outside the dataset folder/);
});

test('writeImport declares the tightest root of its image links, and the imported dataset reads back', async () => {
  const src = tmp('reclf-import-src-');
  const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).png().toBuffer();
  const res = emptyResult();
  for (const [i, rel] of ['files/p10/a.png', 'files/p11/b.png'].entries()) {
    write(src, rel, png);
    res.files.push({ from: path.join(src, rel), to: `images/${path.basename(rel)}` });
    res.studies.push({ id: `s${i}`, image: `images/${path.basename(rel)}`, split: 'train', report: 'Clear lungs.' });
  }
  const out = path.join(tmp('reclf-import-out-'), 'ds');
  await writeImport(res, out, 'link');
  const meta = JSON.parse(fs.readFileSync(path.join(out, DATASET_META_FILE), 'utf8'));
  assert.deepEqual(meta, { format: 'reclf-dataset', version: 1, linkRoots: [path.join(src, 'files')], createdBy: 'reclf import' });
  const ds = readDataset(out);
  assert.equal(ds.studies.length, 2);
  assert.deepEqual(ds.invalid, []);
  // Copy mode declares nothing.
  const copied = path.join(tmp('reclf-import-copy-'), 'ds');
  await writeImport(res, copied, 'copy');
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(copied, DATASET_META_FILE), 'utf8')).linkRoots, []);
  assert.equal(readDataset(copied).studies.length, 2);
});

test('linkRootsFor: the common folder, or each folder when the only common one is the file-system root', () => {
  const a = tmp('reclf-roots-a-');
  const b = tmp('reclf-roots-b-');
  write(a, 'x/1.png', '1');
  write(a, 'x/y/2.png', '2');
  write(b, '3.png', '3');
  assert.deepEqual(linkRootsFor([path.join(a, 'x/1.png'), path.join(a, 'x/y/2.png')]), [path.join(a, 'x')]);
  assert.deepEqual(linkRootsFor([path.join(a, 'x/1.png'), path.join(b, '3.png')]), [path.dirname(a)], 'both under the temp folder');
  assert.deepEqual(linkRootsFor([path.join(a, 'missing.png')]), []);
  assert.ok(isUnder('/a/b', '/a') && isUnder('/a', '/a') && !isUnder('/ab', '/a') && !isUnder('/a', '/a/b'));
});

test('realFileUnder follows every link before deciding, and names the file it refuses', () => {
  const root = tmp('reclf-rfu-');
  const outside = tmp('reclf-rfu-out-');
  write(outside, 'f.txt', 'x');
  link(path.join(outside, 'f.txt'), path.join(root, 'a'));
  link(path.join(root, 'a'), path.join(root, 'b')); // a chain: b -> a -> outside
  const r = realFileUnder(path.join(root, 'b'), { roots: [root], rootName: 'the test root', shown: 'b' });
  assert.deepEqual(r, { ok: false, reason: `b resolves to ${path.join(outside, 'f.txt')}, outside the test root (symlinks may not lead out of it)` });
  write(root, 'big.bin', Buffer.alloc(2048));
  assert.deepEqual(realFileUnder(path.join(root, 'big.bin'), { roots: [root], rootName: 'r', maxBytes: 1024, limitName: 'x.max', shown: 'big.bin' }),
    { ok: false, reason: 'big.bin is 2 KiB, more than the 1 KiB limit (x.max)' });
  assert.deepEqual(realFileUnder(root, { roots: [root], rootName: 'r', shown: 'root' }), { ok: false, reason: 'root is a folder, not a regular file' });
});
