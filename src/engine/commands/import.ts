// `reclf import <dataset>`: one subcommand per public dataset format plus a generic CSV one.
// Importing never points outside OUT: images are symlinked (default) or copied into OUT/images/.
import type { CommandSpec, FlagSpec, ParsedFlags } from '../args';
import { bool, list, num, str, UsageError } from '../args';
import type { Command, CommandContext } from '../command';
import type { Split } from '../../core/data/manifest-types';
import { mergeImports, type ImportResult } from '../../core/data/importers/common';
import { writeImport, type PlaceMode } from '../../core/data/importers/write';
import { importMimicCxr } from '../../core/data/importers/mimic-cxr';
import { importChexpert } from '../../core/data/importers/chexpert';
import { importSiim } from '../../core/data/importers/siim';
import { importRsna } from '../../core/data/importers/rsna';
import { importCsv } from '../../core/data/importers/csv';

const PLACEMENT =
  'Images are placed under OUT/images/ because manifest paths may not leave the dataset folder: ' +
  'symlinked by default (--link; OUT then depends on the source staying where it is) or copied (--copy).';

const COMMON_FLAGS: Record<string, FlagSpec> = {
  out: { type: 'string', value: 'DIR', required: true, description: 'Output dataset folder (manifest.jsonl, images/)' },
  link: { type: 'boolean', description: 'Symlink images into OUT/images/ (the default)' },
  copy: { type: 'boolean', description: 'Copy images into OUT/images/ instead of symlinking' },
  seed: { type: 'number', value: 'N', default: 0, description: 'Seed for splits drawn by id hash' },
  json: { type: 'boolean', description: 'Print {written, skipped, filtered, out} as JSON on stdout' },
};

function placeMode(flags: ParsedFlags): PlaceMode {
  if (bool(flags, 'link') && bool(flags, 'copy')) throw new UsageError('choose one of --link and --copy');
  return bool(flags, 'copy') ? 'copy' : 'link';
}

function need(flags: ParsedFlags, key: string, flag: string): string {
  const v = str(flags, key);
  if (!v) throw new UsageError(`missing required option --${flag}`);
  return v;
}

async function finish(ctx: CommandContext, name: string, result: ImportResult): Promise<number> {
  const { flags } = ctx.args;
  const out = need(flags, 'out', 'out');
  const mode = placeMode(flags);
  for (const w of result.warnings) ctx.events.emit({ type: 'warning', message: w.message, ...(w.record ? { record: w.record } : {}) });
  await writeImport(result, out, mode);
  const filtered = Object.values(result.filtered).reduce((a, b) => a + b, 0);
  const reasons = Object.entries(result.filtered).map(([r, n]) => `${n} ${r}`).join(', ');
  ctx.events.log(
    `import ${name}: wrote ${result.studies.length} studies to ${out} (${mode === 'copy' ? 'copied' : 'linked'} images); ` +
    `${result.skipped} bad rows skipped` + (filtered ? `; filtered out: ${reasons}` : ''),
  );
  if (bool(flags, 'json')) {
    process.stdout.write(JSON.stringify({ written: result.studies.length, skipped: result.skipped, filtered, out }) + '\n');
  }
  return 0;
}

function spec(name: string, summary: string, usage: string, flags: Record<string, FlagSpec>, notes: string): CommandSpec {
  return { name, summary, usage, flags: { ...flags, ...COMMON_FLAGS }, positionals: `${notes}\n${PLACEMENT}` };
}

export const importMimicCxrCommand: Command = {
  spec: spec('import mimic-cxr', 'Import MIMIC-CXR-JPG (frontal images, official split, MGCA-cleaned reports)',
    'reclf import mimic-cxr --root DIR --out DIR [--reports DIR] [--no-clean]', {
      root: { type: 'string', value: 'DIR', required: true, description: 'MIMIC-CXR-JPG folder (mimic-cxr-2.0.0-*.csv[.gz], files/)' },
      reports: { type: 'string', value: 'DIR', description: 'Folder with files/pXX/pSUBJECT/sSTUDY.txt reports (default: --root)' },
      clean: { type: 'boolean', default: true, description: 'Store MGCA-cleaned text; --no-clean keeps impression + findings as written' },
      'min-tokens': { type: 'number', value: 'N', default: 3, description: 'Drop studies whose cleaned report has fewer tokens' },
    },
    'Keeps PA/AP views, maps split "validate" to valid, report = IMPRESSION + FINDINGS, labels from the CheXpert file (blank omitted).'),
  run: (ctx) => {
    const f = ctx.args.flags;
    return finish(ctx, 'mimic-cxr', importMimicCxr({
      root: need(f, 'root', 'root'), reportsRoot: str(f, 'reports'), seed: num(f, 'seed'), clean: f.clean !== false,
      minTokens: num(f, 'minTokens'),
    }));
  },
};

export const importChexpertCommand: Command = {
  spec: spec('import chexpert', 'Import CheXpert (labels only; optional seeded 5x200 zero-shot set)',
    'reclf import chexpert --root DIR --csv train.csv[,valid.csv] --out DIR [--five-by-two-hundred --seed S]', {
      root: { type: 'string', value: 'DIR', required: true, description: 'CheXpert folder (CSV paths resolved under it or its parent)' },
      csv: { type: 'list', value: 'FILES', required: true, description: 'train.csv and/or valid.csv, comma-separated (relative to --root or absolute); with split auto, train.csv gives train/valid and valid.csv the test split' },
      split: { type: 'string', value: 'NAME', default: 'auto', description: 'train|valid|test, or auto: valid.csv -> test, else 90/10 train/valid by patient' },
      'frontal-only': { type: 'boolean', description: 'Drop lateral views' },
      'five-by-two-hundred': { type: 'boolean', description: 'Write only the 5x200 set (frontal; that label 1, other 12 observations 0) + five_by_two_hundred.json' },
      'per-class': { type: 'number', value: 'N', default: 200, description: 'Images per class for --five-by-two-hundred' },
    },
    'CheXpert has no report text: each study gets a sentence made from its positive observations ("Cardiomegaly. Pleural Effusion.",\n' +
    '"No Finding." when none) with meta.report_source = "labels". Use such a dataset for zero-shot / linear-probe evaluation, not pretraining.'),
  run: (ctx) => {
    const f = ctx.args.flags;
    const split = str(f, 'split') ?? 'auto';
    if (!['auto', 'train', 'valid', 'test'].includes(split)) throw new UsageError(`--split must be auto, train, valid or test (got '${split}')`);
    const csvs = list(f, 'csv') ?? [];
    if (csvs.length === 0) throw new UsageError('missing required option --csv');
    if (csvs.length > 1 && bool(f, 'fiveByTwoHundred')) throw new UsageError('--five-by-two-hundred draws from one CSV: give a single --csv');
    return finish(ctx, 'chexpert', mergeImports(csvs.map((csv) => importChexpert({
      root: need(f, 'root', 'root'), csv, split: split as Split | 'auto', seed: num(f, 'seed'),
      frontalOnly: bool(f, 'frontalOnly'), fiveByTwoHundred: bool(f, 'fiveByTwoHundred'), perClass: num(f, 'perClass'),
    }))));
  },
};

export const importSiimCommand: Command = {
  spec: spec('import siim', 'Import SIIM-ACR pneumothorax (RLE masks -> PNG masks and boxes)',
    'reclf import siim --root DIR --csv train-rle.csv --out DIR', {
      root: { type: 'string', value: 'DIR', required: true, description: 'Folder searched recursively for <ImageId>.dcm / .png' },
      csv: { type: 'string', value: 'FILE', required: true, description: 'train-rle.csv (ImageId, EncodedPixels; relative to --root or absolute)' },
    },
    'Rows of one image are unioned into OUT/masks/<ImageId>.png (empty for " -1"); one box per RLE row; 80/10/10 split by id hash.\n' +
    'No report text: report is "Pneumothorax." / "No pneumothorax." with meta.report_source = "labels".'),
  run: (ctx) => {
    const f = ctx.args.flags;
    return finish(ctx, 'siim', importSiim({ root: need(f, 'root', 'root'), csv: need(f, 'csv', 'csv'), seed: num(f, 'seed') }));
  },
};

export const importRsnaCommand: Command = {
  spec: spec('import rsna', 'Import RSNA Pneumonia (boxes, binary label)',
    'reclf import rsna --root DIR --csv stage_2_train_labels.csv --out DIR', {
      root: { type: 'string', value: 'DIR', required: true, description: 'Folder searched recursively for <patientId>.dcm / .png' },
      csv: { type: 'string', value: 'FILE', required: true, description: 'stage_2_train_labels.csv (relative to --root or absolute)' },
    },
    'Several rows per patient = several boxes; labels {Pneumonia: Target}; 80/10/10 split by patientId hash.\n' +
    'No report text: report is "Pneumonia." / "No pneumonia." with meta.report_source = "labels".'),
  run: (ctx) => {
    const f = ctx.args.flags;
    return finish(ctx, 'rsna', importRsna({ root: need(f, 'root', 'root'), csv: need(f, 'csv', 'csv'), seed: num(f, 'seed') }));
  },
};

export const importCsvCommand: Command = {
  spec: spec('import csv', 'Import any CSV of image paths and report text',
    'reclf import csv --file F --image-col C --text-col C --out DIR [--label-cols a,b] [--split-col C] [--id-col C]', {
      file: { type: 'string', value: 'FILE', required: true, description: 'The CSV file' },
      'image-col': { type: 'string', value: 'COL', required: true, description: 'Column with image paths (relative to --root)' },
      'text-col': { type: 'string', value: 'COL', required: true, description: 'Column with report text' },
      'label-cols': { type: 'list', value: 'A,B', description: 'Label columns with 1 / 0 / -1 / blank values' },
      'split-col': { type: 'string', value: 'COL', description: 'Column with train / valid / test (default: 80/10/10 by id hash)' },
      'id-col': { type: 'string', value: 'COL', description: 'Column with study ids (default: the image path without extension)' },
      'view-col': { type: 'string', value: 'COL', description: 'Column with the view (PA, AP, LATERAL...)' },
      root: { type: 'string', value: 'DIR', description: 'Folder image paths are relative to (default: the CSV\'s folder)' },
      clean: { type: 'boolean', description: 'Store MGCA-cleaned text instead of the text as written' },
      'min-tokens': { type: 'number', value: 'N', default: 0, description: 'Drop rows whose cleaned text has fewer tokens' },
    },
    'Bad rows (missing image, empty text, bad split) are skipped with one warning each.'),
  run: (ctx) => {
    const f = ctx.args.flags;
    return finish(ctx, 'csv', importCsv({
      file: need(f, 'file', 'file'), imageCol: need(f, 'imageCol', 'image-col'), textCol: need(f, 'textCol', 'text-col'),
      labelCols: list(f, 'labelCols'), splitCol: str(f, 'splitCol'), idCol: str(f, 'idCol'), viewCol: str(f, 'viewCol'),
      root: str(f, 'root'), seed: num(f, 'seed'), clean: bool(f, 'clean'), minTokens: num(f, 'minTokens'),
    }));
  },
};

export const importCommands: Command[] = [
  importMimicCxrCommand, importChexpertCommand, importSiimCommand, importRsnaCommand, importCsvCommand,
];
