// CheXpert importer (METHODS.md sections 6 and 7), including the seeded 5x200 zero-shot set.
// CheXpert has no report text; the manifest's required `report` is a sentence built from the
// positive observations and marked meta.report_source = "labels" (evaluation use only).
import path from 'node:path';
import { ConfigError } from '../../errors';
import { Rng, mixSeed } from '../../rng';
import { readCsvTable, requireColumns } from '../csv';
import type { LabelValue, Split, StudyRecord } from '../manifest-types';
import {
  checkWidth, emptyResult, filter, isFile, labelSentence, normaliseSplit, parseLabel, seededSplit, skip,
  warn, where, type ImportResult,
} from './common';
import { CHEXPERT_OBSERVATIONS } from './mimic-cxr';

export const FIVE_CLASSES = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'] as const;
export const FIVE_BY_200_FILE = 'five_by_two_hundred.json';

export interface ChexpertImportOptions {
  root: string;
  /** The CSV (train.csv / valid.csv), relative to root or absolute. */
  csv: string;
  /** 'auto': valid.csv -> test (the official test set is hidden), otherwise seeded train/valid by patient. */
  split?: Split | 'auto';
  seed?: number;
  frontalOnly?: boolean;
  /** Select the 5x200 zero-shot set instead of importing every row. */
  fiveByTwoHundred?: boolean;
  /** Images per class for 5x200 (200 in the protocol). */
  perClass?: number;
}

export interface FiveByTwoHundred {
  seed: number;
  per_class: number;
  classes: Record<string, string[]>;
}

interface Row {
  id: string;
  image: string;
  view: string;
  frontal: boolean;
  patient: string;
  labels: Record<string, LabelValue>;
  meta: Record<string, unknown>;
}

/** Path in the CSV is usually "CheXpert-v1.0-small/train/...": try it under root and under root's parent. */
function locateImage(root: string, p: string): string | undefined {
  const parts = p.split(/[\\/]/).filter(Boolean);
  const candidates = [path.join(root, ...parts), path.join(root, ...parts.slice(1)), path.join(path.dirname(root), ...parts)];
  return candidates.find(isFile);
}

/** Image id: the CSV path without the dataset folder and extension ("train/patient00001/study1/view1_frontal"). */
function idFromPath(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  const rest = /^chexpert/i.test(parts[0] ?? '') && parts.length > 1 ? parts.slice(1) : parts;
  return rest.join('/').replace(/\.[A-Za-z0-9]+$/, '');
}

/**
 * The 5x200 rule (GLoRIA): for each class, frontal images with that label = 1 and the other 12
 * observations (all but "No Finding") = 0, blank counting as 0 as in GLoRIA's fillna(0); `perClass`
 * drawn per class with Rng(mixSeed(seed, classIndex)) from candidates sorted by id; no image twice.
 */
export function selectFiveByTwoHundred(
  rows: readonly { id: string; labels: Record<string, LabelValue> }[], seed: number, perClass: number,
): { selection: FiveByTwoHundred; shortfalls: { cls: string; found: number }[] } {
  const others = CHEXPERT_OBSERVATIONS.filter((o) => o !== 'No Finding');
  const used = new Set<string>();
  const classes: Record<string, string[]> = {};
  const shortfalls: { cls: string; found: number }[] = [];
  FIVE_CLASSES.forEach((cls, k) => {
    const cands = rows
      .filter((r) => r.labels[cls] === 1 && others.every((o) => o === cls || (r.labels[o] ?? 0) === 0))
      .map((r) => r.id)
      .filter((id) => !used.has(id))
      .sort();
    new Rng(mixSeed(seed, k)).shuffle(cands);
    const chosen = cands.slice(0, perClass);
    if (chosen.length < perClass) shortfalls.push({ cls, found: chosen.length });
    chosen.forEach((id) => used.add(id));
    classes[cls] = chosen;
  });
  return { selection: { seed, per_class: perClass, classes }, shortfalls };
}

export function importChexpert(opts: ChexpertImportOptions): ImportResult {
  const root = path.resolve(opts.root);
  const csvPath = path.isAbsolute(opts.csv) ? opts.csv : isFile(path.join(root, opts.csv)) ? path.join(root, opts.csv) : path.resolve(opts.csv);
  const seed = opts.seed ?? 0;
  const five = opts.fiveByTwoHundred ?? false;
  const frontalOnly = five || (opts.frontalOnly ?? false);
  const perClass = opts.perClass ?? 200;
  if (!Number.isInteger(perClass) || perClass < 1) throw new ConfigError(`--per-class must be a positive integer, got ${perClass}`, 'per-class');
  const res = emptyResult();

  const table = readCsvTable(csvPath);
  requireColumns(table, ['Path', 'Frontal/Lateral', ...CHEXPERT_OBSERVATIONS]);
  const splitMode = opts.split ?? 'auto';
  const fixedSplit: Split | undefined = five ? 'test'
    : splitMode !== 'auto' ? normaliseSplit(splitMode)
    : /valid/i.test(path.basename(csvPath)) ? 'test' : undefined;

  const rows: Row[] = [];
  const seen = new Set<string>();
  for (const rec of table.records) {
    const at = where(table, rec);
    if (!checkWidth(res, table, rec)) continue;
    const p = rec.values.Path.trim();
    if (!p) { skip(res, 'empty Path', at); continue; }
    const fl = rec.values['Frontal/Lateral'].trim();
    if (fl !== 'Frontal' && fl !== 'Lateral') { skip(res, `Frontal/Lateral is '${fl}' (expected Frontal or Lateral)`, at); continue; }
    const frontal = fl === 'Frontal';
    if (frontalOnly && !frontal) { filter(res, 'not frontal'); continue; }
    const id = idFromPath(p);
    if (seen.has(id)) { skip(res, `duplicate Path ${p}`, at); continue; }
    const labels: Record<string, LabelValue> = {};
    let bad = false;
    for (const o of CHEXPERT_OBSERVATIONS) {
      const v = parseLabel(rec.values[o]);
      if (v === undefined) {
        skip(res, `label '${o}' has invalid value '${rec.values[o]}' (expected 1.0, 0.0, -1.0 or blank)`, at);
        bad = true;
        break;
      }
      if (v !== null) labels[o] = v;
    }
    if (bad) continue;
    const image = locateImage(root, p);
    if (!image) { skip(res, `missing image ${p}`, at); continue; }
    seen.add(id);
    const patient = /patient\d+/.exec(p)?.[0] ?? id;
    const apPa = (rec.values['AP/PA'] ?? '').trim();
    const meta: Record<string, unknown> = { source: 'chexpert', report_source: 'labels', path: p };
    if (rec.values.Sex?.trim()) meta.sex = rec.values.Sex.trim();
    const age = Number(rec.values.Age);
    if (rec.values.Age?.trim() && Number.isFinite(age)) meta.age = age;
    rows.push({ id, image, view: frontal ? apPa || 'FRONTAL' : 'LATERAL', frontal, patient, labels, meta });
  }

  let chosen = rows;
  if (five) {
    const { selection, shortfalls } = selectFiveByTwoHundred(rows, seed, perClass);
    for (const s of shortfalls) warn(res, `5x200: only ${s.found} eligible images for ${s.cls} (wanted ${perClass}); all taken`);
    res.json[FIVE_BY_200_FILE] = selection;
    const order = new Map<string, number>();
    Object.values(selection.classes).flat().forEach((id, k) => order.set(id, k));
    chosen = rows.filter((r) => order.has(r.id)).sort((a, b) => (order.get(a.id) as number) - (order.get(b.id) as number));
  }

  for (const r of chosen) {
    const positives = CHEXPERT_OBSERVATIONS.filter((o) => o !== 'No Finding' && r.labels[o] === 1);
    // By id, not by location: the CSV paths may resolve under root's parent.
    const to = `images/${r.id}${path.extname(r.image)}`;
    const study: StudyRecord = {
      id: r.id,
      image: to,
      report: labelSentence(positives, 'No Finding.'),
      view: r.view,
      split: fixedSplit ?? seededSplit(r.patient, seed, [0.9, 0.1, 0]),
      labels: r.labels,
      meta: r.meta,
    };
    res.studies.push(study);
    res.files.push({ from: r.image, to });
  }
  return res;
}
