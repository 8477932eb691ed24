// Generic CSV importer: one row per image with an image path (relative to the CSV's folder, or
// absolute) and report text; optional id, split, view and 1/0/-1 label columns.
import path from 'node:path';
import { ConfigError } from '../../errors';
import { readCsvTable, requireColumns } from '../csv';
import type { LabelValue, Split, StudyRecord } from '../manifest-types';
import { cleanReportMgca, countWords } from '../report-text';
import {
  checkWidth, emptyResult, filter, isFile, normaliseSplit, parseLabel, seededSplit, skip, warn, where, type ImportResult,
} from './common';

export interface CsvImportOptions {
  file: string;
  imageCol: string;
  textCol: string;
  labelCols?: string[];
  splitCol?: string;
  idCol?: string;
  viewCol?: string;
  /** Folder image paths are relative to (default: the CSV's folder). */
  root?: string;
  seed?: number;
  /** Store MGCA-cleaned text instead of the text as written. */
  clean?: boolean;
  /** Drop rows whose cleaned text has fewer tokens (0 keeps every non-empty text). */
  minTokens?: number;
}

/** Output path of an image: images/<path relative to root>, or images/<id><ext> for paths outside it. */
function target(root: string, image: string, id: string): string {
  const rel = path.relative(root, image);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return `images/${id.replace(/[^\w.-]+/g, '_')}${path.extname(image)}`;
  return ['images', ...rel.split(path.sep)].join('/');
}

export function importCsv(opts: CsvImportOptions): ImportResult {
  const file = path.resolve(opts.file);
  const root = path.resolve(opts.root ?? path.dirname(file));
  const seed = opts.seed ?? 0;
  const minTokens = opts.minTokens ?? 0;
  const labelCols = opts.labelCols ?? [];
  const res = emptyResult();
  const table = readCsvTable(file);
  const cols = [opts.imageCol, opts.textCol, ...labelCols];
  for (const c of [opts.splitCol, opts.idCol, opts.viewCol]) if (c) cols.push(c);
  requireColumns(table, cols);
  if (new Set(labelCols).size !== labelCols.length) throw new ConfigError('--label-cols lists a column twice', 'label-cols');

  const seen = new Set<string>();
  const targets = new Set<string>();
  for (const rec of table.records) {
    const at = where(table, rec);
    if (!checkWidth(res, table, rec)) continue;
    const v = rec.values;
    const imageRel = v[opts.imageCol].trim();
    if (!imageRel) { skip(res, `empty ${opts.imageCol}`, at); continue; }
    const id = opts.idCol ? v[opts.idCol].trim() : imageRel.replace(/\.[A-Za-z0-9]+$/, '');
    if (!id) { skip(res, `empty ${opts.idCol}`, at); continue; }
    if (seen.has(id)) { skip(res, `duplicate id '${id}'`, at); continue; }
    const raw = v[opts.textCol].trim();
    if (!raw) { skip(res, `empty ${opts.textCol}`, at); continue; }
    const cleaned = cleanReportMgca(raw);
    if (countWords(cleaned) < minTokens) { filter(res, `report < ${minTokens} tokens`); continue; }
    let split: Split;
    if (opts.splitCol) {
      const s = normaliseSplit(v[opts.splitCol]);
      if (!s) { skip(res, `${opts.splitCol} is '${v[opts.splitCol]}' (expected train, valid/validate or test)`, at); continue; }
      split = s;
    } else {
      split = seededSplit(id, seed);
    }
    const image = path.resolve(root, imageRel);
    if (!isFile(image)) { skip(res, `missing image ${imageRel}`, at); continue; }
    const to = target(root, image, id);
    if (targets.has(to)) { skip(res, `image ${imageRel} is already used by another row`, at); continue; }

    const labels: Record<string, LabelValue> = {};
    for (const c of labelCols) {
      const l = parseLabel(v[c]);
      if (l === undefined) warn(res, `label '${c}' has invalid value '${v[c]}' (expected 1, 0, -1 or blank); omitted`, at);
      else if (l !== null) labels[c] = l;
    }
    seen.add(id);
    targets.add(to);
    const study: StudyRecord = { id, image: to, report: opts.clean ? cleaned : raw, split };
    if (opts.viewCol && v[opts.viewCol].trim()) study.view = v[opts.viewCol].trim();
    if (Object.keys(labels).length) study.labels = labels;
    study.meta = { source: 'csv', row: rec.line };
    res.studies.push(study);
    res.files.push({ from: image, to });
  }
  return res;
}
