// MIMIC-CXR-JPG importer (METHODS.md sections 1 and 7): frontal images only, official split,
// report = impression + findings cleaned as MGCA, studies with < 3 tokens dropped, CheXpert labels.
import fs from 'node:fs';
import path from 'node:path';
import { DataError } from '../../errors';
import { readCsvTable, requireColumns, type CsvTable } from '../csv';
import type { LabelValue, Split, StudyRecord } from '../manifest-types';
import { cleanReportMgca, countWords, reportForTraining } from '../report-text';
import {
  checkWidth, emptyResult, filter, imageTarget, isFile, normaliseSplit, parseLabel, seededSplit, skip, warn, where,
  type ImportResult,
} from './common';

export const MIMIC_PREFIX = 'mimic-cxr-2.0.0';
export const FRONTAL_VIEWS = new Set(['PA', 'AP']);
export const CHEXPERT_OBSERVATIONS = [
  'No Finding', 'Enlarged Cardiomediastinum', 'Cardiomegaly', 'Lung Opacity', 'Lung Lesion', 'Edema',
  'Consolidation', 'Pneumonia', 'Atelectasis', 'Pneumothorax', 'Pleural Effusion', 'Pleural Other',
  'Fracture', 'Support Devices',
] as const;

export interface MimicImportOptions {
  root: string;
  /** Folder holding files/pXX/... report .txt files (defaults to root). */
  reportsRoot?: string;
  /** Seed for the split of studies absent from an official split file. */
  seed?: number;
  /** Store MGCA-cleaned text (default) or the extracted impression + findings as written. */
  clean?: boolean;
  /** Minimum number of cleaned tokens for a study to be kept (MGCA: 3). */
  minTokens?: number;
}

/** Finds `name` or `name.gz` in root. */
function findTable(root: string, name: string): string | undefined {
  for (const f of [name, `${name}.gz`]) if (isFile(path.join(root, f))) return path.join(root, f);
  return undefined;
}

function studyKey(subject: string, study: string): string {
  return `${subject}/${study}`;
}

function loadLabels(res: ImportResult, table: CsvTable): Map<string, Record<string, LabelValue>> {
  requireColumns(table, ['subject_id', 'study_id']);
  const out = new Map<string, Record<string, LabelValue>>();
  const obs = CHEXPERT_OBSERVATIONS.filter((o) => table.header.includes(o));
  for (const rec of table.records) {
    if (!checkWidth(res, table, rec)) continue;
    const labels: Record<string, LabelValue> = {};
    for (const o of obs) {
      const v = parseLabel(rec.values[o]);
      if (v === undefined) warn(res, `label '${o}' has invalid value '${rec.values[o]}' (expected 1, 0, -1 or blank); omitted`, where(table, rec));
      else if (v !== null) labels[o] = v;
    }
    out.set(studyKey(rec.values.subject_id.trim(), rec.values.study_id.trim()), labels);
  }
  return out;
}

function loadSplits(res: ImportResult, table: CsvTable): Map<string, Split> {
  requireColumns(table, ['dicom_id', 'split']);
  const out = new Map<string, Split>();
  for (const rec of table.records) {
    if (!checkWidth(res, table, rec)) continue;
    const s = normaliseSplit(rec.values.split);
    if (!s) skip(res, `split '${rec.values.split}' is not train/validate/test`, where(table, rec));
    else out.set(rec.values.dicom_id.trim(), s);
  }
  return out;
}

export function importMimicCxr(opts: MimicImportOptions): ImportResult {
  const root = path.resolve(opts.root);
  const reportsRoot = path.resolve(opts.reportsRoot ?? opts.root);
  const seed = opts.seed ?? 0;
  const clean = opts.clean ?? true;
  const minTokens = opts.minTokens ?? 3;
  const res = emptyResult();

  const metaFile = findTable(root, `${MIMIC_PREFIX}-metadata.csv`);
  if (!metaFile) throw new DataError(`${root}: no ${MIMIC_PREFIX}-metadata.csv(.gz) found (is --root the MIMIC-CXR-JPG folder?)`, root);
  const meta = readCsvTable(metaFile);
  requireColumns(meta, ['dicom_id', 'subject_id', 'study_id', 'ViewPosition']);

  const splitFile = findTable(root, `${MIMIC_PREFIX}-split.csv`);
  const splits = splitFile ? loadSplits(res, readCsvTable(splitFile)) : undefined;
  if (!splitFile) warn(res, `no ${MIMIC_PREFIX}-split.csv: studies split by seeded subject hash (seed ${seed})`);
  const labelFile = findTable(root, `${MIMIC_PREFIX}-chexpert.csv`);
  const labels = labelFile ? loadLabels(res, readCsvTable(labelFile)) : undefined;
  if (!labelFile) warn(res, `no ${MIMIC_PREFIX}-chexpert.csv: studies have no labels`);

  // Reports are per study; several images share one, so each is read and cleaned once.
  const reports = new Map<string, { text: string } | { error: string }>();
  const seen = new Set<string>();

  for (const rec of meta.records) {
    const at = where(meta, rec);
    if (!checkWidth(res, meta, rec)) continue;
    const dicom = rec.values.dicom_id.trim();
    const subject = rec.values.subject_id.trim();
    const study = rec.values.study_id.trim();
    const view = rec.values.ViewPosition.trim();
    if (!dicom || !/^\d{3,}$/.test(subject) || !/^\d+$/.test(study)) {
      skip(res, `bad ids (dicom_id '${dicom}', subject_id '${subject}', study_id '${study}')`, at);
      continue;
    }
    if (!FRONTAL_VIEWS.has(view.toUpperCase())) { filter(res, 'not frontal'); continue; }
    if (seen.has(dicom)) { skip(res, `duplicate dicom_id ${dicom}`, at); continue; }
    seen.add(dicom);

    const group = `p${subject.slice(0, 2)}`;
    const studyDir = path.join('files', group, `p${subject}`);
    const key = studyKey(subject, study);
    let rep = reports.get(key);
    if (!rep) {
      const file = path.join(reportsRoot, studyDir, `s${study}.txt`);
      try {
        const raw = fs.readFileSync(file, 'utf8');
        const body = reportForTraining(raw);
        const cleaned = cleanReportMgca(body);
        rep = countWords(cleaned) < minTokens ? { error: 'short' } : { text: clean ? cleaned : body };
      } catch {
        rep = { error: `missing report ${path.relative(reportsRoot, file)}` };
      }
      reports.set(key, rep);
    }
    if ('error' in rep) {
      if (rep.error === 'short') filter(res, `report < ${minTokens} tokens`);
      else skip(res, rep.error, at);
      continue;
    }

    const image = path.join(root, studyDir, `s${study}`, `${dicom}.jpg`);
    if (!isFile(image)) { skip(res, `missing image ${path.relative(root, image)}`, at); continue; }

    let split: Split;
    if (splits) {
      const s = splits.get(dicom);
      if (!s) { skip(res, `dicom_id ${dicom} is not in the split file`, at); continue; }
      split = s;
    } else {
      split = seededSplit(subject, seed);
    }

    const to = imageTarget(root, image);
    const record: StudyRecord = { id: dicom, image: to, report: rep.text, view, split };
    const lab = labels?.get(key);
    if (lab && Object.keys(lab).length) record.labels = lab;
    record.meta = { source: 'mimic-cxr', subject_id: subject, study_id: study, dicom_id: dicom };
    res.studies.push(record);
    res.files.push({ from: image, to });
  }
  return res;
}
