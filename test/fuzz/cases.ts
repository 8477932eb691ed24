// The fuzz corpus: writes every case (images, manifest rows, paths and symlinks, reports,
// configs, models, explain inputs) under one temp folder and says which `reclf` command lines
// exercise it and what each must do. Datasets come two ways: one folder per case (a good row and
// the case's row, for one `reclf info` per case) and one folder holding every case (one
// `reclf info --decode` and one `reclf train` over all of them, as a user's messy dataset would).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { imageCases, type ImageCase } from './gen/images';
import {
  datasetTools, expectedId, GOOD_IMAGE, GOOD_MASK, GOOD_REPORT, recordCases, type MadeRecord, type RecordCase, type RecordExpect,
} from './gen/records';
import { configCases, type ConfigCase } from './gen/configs';
import { modelCases, type ModelCase } from './gen/models';
import { DATASET_META_FILE, writeDatasetMeta } from '../../src/core/data/manifest-write';
import { generateDataset } from '../../src/core/data/synth/generate';
import { repoRoot, tinyConfig } from '../helpers/tiny';

export const BUNDLED_MODEL = path.join(repoRoot, 'models', 'reclf-default.onnx');
/** Batch size of the corpus training run: the train split is padded to a multiple of it so one epoch loads every image. */
export const CORPUS_BATCH = 8;

/** A record case as written into a dataset: its line number there and what it must do. */
export interface PlacedRecord {
  key: string;
  name: string;
  category: RecordCase['category'] | 'image';
  line: number;
  id: string | undefined;
  /** For manifest-level checks (readDataset): what info without images and train's reader say. */
  expect: RecordExpect;
  /** For image cases: the header and decode outcomes, and the image's path in the dataset. */
  image?: ImageCase & { rel: string };
}

export interface ExplainInputCase {
  name: string;
  argv: string[];
  expect: 'ok' | RegExp;
}

/** A dataset folder broken as a whole (its manifest, its reclf-dataset.json, the folder itself). */
export interface DatasetCase {
  name: string;
  dir: string;
  /** The one-line refusal (after `reclf info: ` / `reclf train: `). */
  expect: RegExp;
}

export interface Corpus {
  root: string;
  datasets: DatasetCase[];
  /** A config the dataset cases train with. */
  tinyConfig: string;
  /** One dataset folder per record and image case (line 1 is a good row, line 2 the case). */
  single: { placed: PlacedRecord; dir: string }[];
  /** Every case in one dataset. */
  all: { dir: string; placed: PlacedRecord[]; trainConfig: string };
  configs: ConfigCase[];
  /** The dataset the config cases train on. */
  configData: string;
  models: ModelCase[];
  explainInputs: ExplainInputCase[];
  /** A good image and report for explain. */
  goodImage: string;
  goodReport: string;
  /** The image cases' files, for explain. */
  imageFiles: { c: ImageCase; file: string }[];
}

interface Shared {
  outside: string;
  linkRoot: string;
  goodPng: Buffer;
}

function realTmp(prefix: string): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

/** A dataset with the files every case may point at, its link root declared, and line 1 a good row. */
function baseDataset(dir: string, s: Shared): string[] {
  fs.mkdirSync(path.join(dir, 'img'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'rep'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'masks'), { recursive: true });
  fs.writeFileSync(path.join(dir, GOOD_IMAGE), s.goodPng);
  fs.writeFileSync(path.join(dir, GOOD_MASK), s.goodPng);
  fs.writeFileSync(path.join(dir, 'rep', 'good.txt'), GOOD_REPORT);
  writeDatasetMeta(dir, [s.linkRoot], 'reclf fuzz tier');
  if (!fs.existsSync(path.join(dir, DATASET_META_FILE))) throw new Error('reclf-dataset.json not written');
  return [JSON.stringify({ id: 'good', image: GOOD_IMAGE, split: 'train', report: GOOD_REPORT })];
}

function lineBytes(line: MadeRecord['line']): Buffer {
  if (Buffer.isBuffer(line)) return line;
  return Buffer.from(typeof line === 'string' ? line : JSON.stringify(line), 'utf8');
}

function writeManifest(dir: string, lines: (string | Buffer)[]): void {
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), Buffer.concat(lines.flatMap((l) => [Buffer.isBuffer(l) ? l : Buffer.from(l), Buffer.from('\n')])));
}

function imageRecord(tag: string, rel: string): string {
  return JSON.stringify({ id: tag, image: rel, split: 'train', report: GOOD_REPORT });
}

export async function buildCorpus(): Promise<Corpus> {
  const root = realTmp('reclf-fuzz-');
  const outside = path.join(root, 'outside');
  const linkRoot = path.join(root, 'source');
  fs.mkdirSync(path.join(outside, 'folder'), { recursive: true });
  fs.mkdirSync(linkRoot, { recursive: true });
  const goodPng = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#777' } }).png().toBuffer();
  fs.writeFileSync(path.join(outside, 'secret.png'), goodPng);
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'Outsideword confidential findings.');
  fs.writeFileSync(path.join(outside, 'folder', 'x.png'), goodPng);
  fs.writeFileSync(path.join(outside, 'folder', 'r.txt'), 'Outsideword in a linked folder.');
  fs.writeFileSync(path.join(linkRoot, 'source.png'), goodPng);
  fs.writeFileSync(path.join(linkRoot, 'source.txt'), 'Sourceword report.');
  const shared: Shared = { outside, linkRoot, goodPng };
  const images = await imageCases();

  // One dataset per case.
  const single: Corpus['single'] = [];
  recordCases.forEach((c, i) => {
    const tag = `r${String(i).padStart(3, '0')}`;
    const dir = path.join(root, 'single', tag);
    const lines: (string | Buffer)[] = baseDataset(dir, shared);
    const made = c.make(datasetTools(dir, tag, outside, linkRoot));
    lines.push(lineBytes(made.line));
    writeManifest(dir, lines);
    single.push({ dir, placed: { key: tag, name: c.name, category: c.category, line: 2, id: expectedId(made.line), expect: made.expect } });
  });
  images.forEach((c, i) => {
    const tag = `i${String(i).padStart(3, '0')}`;
    const dir = path.join(root, 'single', tag);
    const lines: (string | Buffer)[] = baseDataset(dir, shared);
    const rel = `images/${c.file}`;
    fs.mkdirSync(path.join(dir, 'images'));
    fs.writeFileSync(path.join(dir, rel), c.bytes);
    lines.push(imageRecord(tag, rel));
    writeManifest(dir, lines);
    single.push({ dir, placed: { key: tag, name: c.name, category: 'image', line: 2, id: tag, expect: 'ok', image: { ...c, rel } } });
  });

  // Every case in one dataset, the train split padded so one epoch of full batches loads every image.
  const allDir = path.join(root, 'all');
  const lines: (string | Buffer)[] = baseDataset(allDir, shared);
  const placed: PlacedRecord[] = [];
  recordCases.forEach((c, i) => {
    const tag = `r${String(i).padStart(3, '0')}`;
    const made = c.make(datasetTools(allDir, tag, outside, linkRoot));
    lines.push(lineBytes(made.line));
    placed.push({ key: tag, name: c.name, category: c.category, line: lines.length, id: expectedId(made.line), expect: made.expect });
  });
  fs.mkdirSync(path.join(allDir, 'images'));
  const imageFiles: Corpus['imageFiles'] = [];
  images.forEach((c, i) => {
    const tag = `i${String(i).padStart(3, '0')}`;
    const rel = `images/${c.file}`;
    fs.writeFileSync(path.join(allDir, rel), c.bytes);
    imageFiles.push({ c, file: path.join(allDir, rel) });
    lines.push(imageRecord(tag, rel));
    placed.push({ key: tag, name: c.name, category: 'image', line: lines.length, id: tag, expect: 'ok', image: { ...c, rel } });
  });
  const trainRows = 1 + placed.filter((p) => p.expect === 'ok').length;
  for (let k = 0; (trainRows + k) % CORPUS_BATCH !== 0; k++) lines.push(JSON.stringify({ id: `pad${k}`, image: GOOD_IMAGE, split: 'train', report: GOOD_REPORT }));
  for (let k = 0; k < CORPUS_BATCH; k++) lines.push(JSON.stringify({ id: `valid${k}`, image: GOOD_IMAGE, split: 'valid', report: GOOD_REPORT }));
  writeManifest(allDir, lines);
  const base = tinyConfig();
  const trainConfig = path.join(root, 'all.reclf.json');
  fs.writeFileSync(trainConfig, JSON.stringify({
    ...base,
    // Every bad record is skipped with a warning however many there are; decode on this thread.
    data: { ...(base.data as object), workers: 0, maxInvalidShare: 1 },
    train: { ...(base.train as object), batchSize: CORPUS_BATCH, epochs: 1, maxSteps: 0, checkpointEvery: 1000 },
  }));

  // Configs, models, explain inputs.
  const configData = path.join(root, 'config-data');
  await generateDataset({ out: configData, n: 24, seed: 5, size: 48, split: [0.75, 0.25, 0] });
  const configs = configCases(path.join(root, 'configs'), outside);
  const models = fs.existsSync(BUNDLED_MODEL) ? modelCases(path.join(root, 'models'), BUNDLED_MODEL) : [];
  const explainDir = path.join(root, 'explain');
  fs.mkdirSync(explainDir);
  const goodImage = path.join(explainDir, 'cxr.png');
  fs.writeFileSync(goodImage, goodPng);
  const goodReport = path.join(explainDir, 'report.txt');
  fs.writeFileSync(goodReport, GOOD_REPORT);
  const explainInputs = explainInputCases(explainDir, goodImage, goodReport);
  const datasets = datasetCases(path.join(root, 'datasets'), shared);
  const tiny = path.join(root, 'tiny.reclf.json');
  fs.writeFileSync(tiny, JSON.stringify(tinyConfig()));
  return { root, datasets, tinyConfig: tiny, single, all: { dir: allDir, placed, trainConfig }, configs, configData, models, explainInputs, goodImage, goodReport, imageFiles };
}

function datasetCases(root: string, s: Shared): DatasetCase[] {
  const cases: DatasetCase[] = [];
  let n = 0;
  /** A dataset with a good manifest of 10 rows, then `spoil` applied to it. */
  const add = (name: string, expect: RegExp, spoil: (dir: string) => void): void => {
    const dir = path.join(root, `d${n++}`);
    const lines = baseDataset(dir, s);
    for (let k = 1; k < 10; k++) lines.push(JSON.stringify({ id: `g${k}`, image: GOOD_IMAGE, split: 'train', report: GOOD_REPORT }));
    writeManifest(dir, lines);
    spoil(dir);
    cases.push({ name, dir, expect });
  };
  const manifest = (dir: string): string => path.join(dir, 'manifest.jsonl');
  const meta = (dir: string): string => path.join(dir, DATASET_META_FILE);
  add('the dataset folder is missing', /dataset folder not found: /, (d) => fs.rmSync(d, { recursive: true }));
  add('the dataset is a file', /dataset folder not found: /, (d) => { fs.rmSync(d, { recursive: true }); fs.writeFileSync(d, 'x'); });
  add('no manifest.jsonl', /manifest\.jsonl not found in dataset folder/, (d) => fs.rmSync(manifest(d)));
  add('manifest.jsonl is a folder', /manifest\.jsonl not found in dataset folder/, (d) => { fs.rmSync(manifest(d)); fs.mkdirSync(manifest(d)); });
  add('manifest.jsonl links to /dev/zero', /manifest\.jsonl not found in dataset folder/, (d) => { fs.rmSync(manifest(d)); fs.symlinkSync('/dev/zero', manifest(d)); });
  add('manifest.jsonl is a FIFO', /manifest\.jsonl not found in dataset folder/, (d) => {
    fs.rmSync(manifest(d));
    if (spawnSync('mkfifo', [manifest(d)]).status !== 0) fs.mkdirSync(manifest(d));
  });
  add('manifest.jsonl links to a manifest outside the dataset', /manifest\.jsonl: manifest\.jsonl resolves to .*, outside the dataset folder/, (d) => {
    // Its rows are all good (images in the dataset): read, it would train on a manifest from elsewhere.
    const outsideManifest = path.join(s.outside, `manifest-${path.basename(d)}.jsonl`);
    fs.renameSync(manifest(d), outsideManifest);
    fs.symlinkSync(outsideManifest, manifest(d));
  });
  add('manifest.jsonl is empty', /manifest\.jsonl: no records \(the manifest is empty\)/, (d) => fs.writeFileSync(manifest(d), ''));
  add('manifest.jsonl has blank lines only', /manifest\.jsonl: no records/, (d) => fs.writeFileSync(manifest(d), '\n  \n\t\n'));
  add('manifest.jsonl is random bytes', /manifest\.jsonl: \d+ of \d+ records are invalid \(100%, more than the allowed 20%\): line 1: /, (d) => {
    const b = Buffer.alloc(8192);
    for (let i = 0, x = 3; i < b.length; i++) { x = (x * 1103515245 + 12345) >>> 0; b[i] = x >>> 24; }
    fs.writeFileSync(manifest(d), b);
  });
  add('manifest.jsonl is a CSV', /manifest\.jsonl: 3 of 3 records are invalid .*line 1: not valid JSON/, (d) => fs.writeFileSync(manifest(d), 'id,image,split\ns0,img/good.png,train\ns1,img/good.png,train\n'));
  add('reclf-dataset.json is not JSON', /reclf-dataset\.json: not valid JSON/, (d) => fs.writeFileSync(meta(d), '{oops'));
  add('reclf-dataset.json declares the file-system root', /reclf-dataset\.json: linkRoots\[0\] is the file-system root/, (d) => fs.writeFileSync(meta(d), JSON.stringify({ linkRoots: ['/'] })));
  add('reclf-dataset.json declares a relative root', /reclf-dataset\.json: linkRoots\[0\] must be an absolute folder path/, (d) => fs.writeFileSync(meta(d), JSON.stringify({ linkRoots: ['..'] })));
  add('reclf-dataset.json links out of the dataset', /reclf-dataset\.json: .*outside the dataset folder/, (d) => {
    fs.writeFileSync(path.join(s.outside, `meta-${path.basename(d)}.json`), JSON.stringify({ linkRoots: [s.outside] }));
    fs.rmSync(meta(d));
    fs.symlinkSync(path.join(s.outside, `meta-${path.basename(d)}.json`), meta(d));
  });
  add('reclf-dataset.json is /dev/zero', /reclf-dataset\.json: .*\/dev\/zero.*outside the dataset folder/, (d) => { fs.rmSync(meta(d)); fs.symlinkSync('/dev/zero', meta(d)); });
  return cases;
}

/** `explain --image/--report/--report-text` given devices, FIFOs, folders and unusable text. */
function explainInputCases(dir: string, image: string, report: string): ExplainInputCase[] {
  const cases: ExplainInputCase[] = [];
  const add = (name: string, argv: string[], expect: ExplainInputCase['expect']): void => { cases.push({ name, argv, expect }); };
  const put = (name: string, data: string | Buffer): string => { const f = path.join(dir, name); fs.writeFileSync(f, data); return f; };
  const fifo = (name: string): string | undefined => {
    const f = path.join(dir, name);
    return spawnSync('mkfifo', [f]).status === 0 ? f : undefined;
  };
  const img = (file: string): string[] => ['--image', file, '--report', report];
  const rep = (file: string): string[] => ['--image', image, '--report', file];
  add('a good image and report (control)', img(image), 'ok');
  add('--report-text (control)', ['--image', image, '--report-text', GOOD_REPORT], 'ok');
  for (const dev of ['/dev/zero', '/dev/urandom', '/dev/null']) {
    if (fs.existsSync(dev)) add(`--image ${dev}`, img(dev), new RegExp(`--image: ${dev} is a character device, not a regular file`));
  }
  fs.symlinkSync('/dev/zero', path.join(dir, 'zero.png'));
  add('--image symlink to /dev/zero', img(path.join(dir, 'zero.png')), /--image: .*zero\.png is a character device, not a regular file/);
  add('--image a folder', img(dir), /--image: .* is a folder, not a regular file/);
  const imgFifo = fifo('pipe.png');
  if (imgFifo) add('--image a FIFO', img(imgFifo), /--image: .*pipe\.png is a FIFO \(named pipe\), not a regular file/);
  add('--image missing', img(path.join(dir, 'none.png')), /--image: file not found: .*none\.png/);
  add('--image a text file', img(report), /report\.txt: cannot decode image/);
  add('--image an empty file', img(put('empty.png', '')), /empty\.png: empty file/);
  for (const dev of ['/dev/zero', '/dev/urandom']) {
    if (fs.existsSync(dev)) add(`--report ${dev}`, rep(dev), new RegExp(`--report: ${dev} is a character device, not a regular file`));
  }
  add('--report a folder', rep(dir), /--report: .* is a folder, not a regular file/);
  const repFifo = fifo('pipe.txt');
  if (repFifo) add('--report a FIFO', rep(repFifo), /--report: .*pipe\.txt is a FIFO \(named pipe\), not a regular file/);
  add('--report missing', rep(path.join(dir, 'none.txt')), /--report: file not found: .*none\.txt/);
  const bytes = Buffer.alloc(4096);
  for (let i = 0, x = 7; i < bytes.length; i++) { x = (x * 1103515245 + 12345) >>> 0; bytes[i] = x >>> 24; }
  add('--report random bytes', rep(put('random.txt', bytes)), /random\.txt: the report is not valid UTF-8 text/);
  add('--report 10 MB', rep(put('big.txt', 'Effusion. '.repeat(1024 * 1024))), /--report: .*big\.txt is 10 MiB, more than the 1 MiB limit/);
  add('--report empty', rep(put('empty.txt', '')), /empty\.txt: the report is empty/);
  add('--report zero-width only', rep(put('zw.txt', '\u200b\u200c\u200d')), /zw\.txt: the report has no words/);
  add('--report a PNG', rep(image), /cxr\.png: the report (is not valid UTF-8 text|contains NUL characters|does not look like text)/);
  add('--report-text empty', ['--image', image, '--report-text', ''], /give exactly one of --report and --report-text|report: the report is empty/);
  add('--report-text zero-width only', ['--image', image, '--report-text', '\u200b\u200b'], /report: the report has no words/);
  add('--report-text 2 MB', ['--image', image, '--report-text', 'Effusion. '.repeat(200_000)], /the report is 1\.9 MiB, more than the 1 MiB limit/);
  return cases;
}
