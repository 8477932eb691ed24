// RSNA Pneumonia importer (METHODS.md sections 6 and 7): stage_2_train_labels.csv with one row per
// box (several per patient); Target 0 rows have blank boxes. No report text: a label sentence is
// stored. A patient with any bad row is skipped whole, so that no box of a mask goes missing.
import path from 'node:path';
import { readCsvTable, requireColumns } from '../csv';
import type { Box, StudyRecord } from '../manifest-types';
import {
  checkWidth, emptyResult, imageTarget, indexFilesByStem, resolveInput, seededSplit, skip, where, type ImportResult,
} from './common';

export const RSNA_LABEL = 'Pneumonia';

export interface RsnaImportOptions {
  root: string;
  /** stage_2_train_labels.csv, relative to root or absolute. */
  csv: string;
  seed?: number;
}

interface Patient {
  at: string;
  target: 0 | 1 | undefined;
  boxes: Box[];
  error?: string;
}

function parseRow(v: Record<string, string>): { target: 0 | 1; box?: Box } | string {
  const t = v.Target.trim();
  if (t !== '0' && t !== '1') return `Target is '${t}' (expected 0 or 1)`;
  const coords = ['x', 'y', 'width', 'height'].map((k) => v[k].trim());
  if (t === '0') {
    return coords.some((c) => c !== '') ? 'Target 0 row has a box (x, y, width, height must be blank)' : { target: 0 };
  }
  const nums = coords.map(Number);
  if (coords.some((c) => c === '') || nums.some((n) => !Number.isFinite(n))) {
    return `Target 1 row needs numeric x, y, width, height (got '${coords.join("', '")}')`;
  }
  if (nums[2] <= 0 || nums[3] <= 0) return `box width/height must be positive (got ${nums[2]} x ${nums[3]})`;
  return { target: 1, box: [nums[0], nums[1], nums[2], nums[3], RSNA_LABEL] };
}

export function importRsna(opts: RsnaImportOptions): ImportResult {
  const root = path.resolve(opts.root);
  const seed = opts.seed ?? 0;
  const res = emptyResult();
  const table = readCsvTable(resolveInput(root, opts.csv));
  requireColumns(table, ['patientId', 'x', 'y', 'width', 'height', 'Target']);

  const patients = new Map<string, Patient>();
  for (const rec of table.records) {
    const at = where(table, rec);
    if (!checkWidth(res, table, rec)) continue;
    const id = rec.values.patientId.trim();
    if (!id) { skip(res, 'empty patientId', at); continue; }
    let p = patients.get(id);
    if (!p) { p = { at, target: undefined, boxes: [] }; patients.set(id, p); }
    if (p.error) continue;
    const row = parseRow(rec.values);
    if (typeof row === 'string') { p.error = `${row} (${at})`; continue; }
    if (p.target !== undefined && p.target !== row.target) { p.error = `rows disagree on Target (${at})`; continue; }
    p.target = row.target;
    if (row.box) p.boxes.push(row.box);
  }

  const images = indexFilesByStem(root, ['.dcm', '.png']);
  for (const [id, p] of patients) {
    if (p.error) { skip(res, `patient ${id}: ${p.error}`, p.at); continue; }
    const image = images.get(id);
    if (!image) { skip(res, `no image ${id}.dcm or ${id}.png under ${root}`, p.at); continue; }
    const positive = p.target === 1;
    const to = imageTarget(root, image);
    const study: StudyRecord = {
      id,
      image: to,
      report: positive ? 'Pneumonia.' : 'No pneumonia.',
      view: 'FRONTAL',
      split: seededSplit(id, seed),
      labels: { [RSNA_LABEL]: positive ? 1 : 0 },
      meta: { source: 'rsna-pneumonia', report_source: 'labels' },
    };
    if (positive) study.boxes = p.boxes;
    res.studies.push(study);
    res.files.push({ from: image, to });
  }
  return res;
}
