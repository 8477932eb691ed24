// Shared pieces of the dataset importers. An importer is a pure function from source files to an
// ImportResult (studies + the files to place in the output folder); writing is done separately
// (write.ts) so the importers stay testable and the CLI decides how files are placed.
import fs from 'node:fs';
import path from 'node:path';
import { DataError } from '../../errors';
import { mixSeed } from '../../rng';
import type { CsvRecord, CsvTable } from '../csv';
import type { LabelValue, Split, StudyRecord } from '../manifest-types';

export interface ImportWarning {
  message: string;
  /** The offending record: "file:line" or an id. */
  record?: string;
}

/** An image (or other source file) to link or copy to `to`, a path relative to the output folder. */
export interface FileAction {
  from: string;
  to: string;
}

/** A binary mask to write as a single-channel PNG at `to` (relative to the output folder). */
export interface MaskFile {
  to: string;
  width: number;
  height: number;
  /** Produces the row-major pixels (non-zero = positive) when written: thousands of 1024x1024
   * masks must not all sit in memory at once. */
  render(): Uint8Array;
}

export interface ImportResult {
  studies: StudyRecord[];
  files: FileAction[];
  masks: MaskFile[];
  /** Extra JSON files to write (e.g. the CheXpert 5x200 id lists), keyed by relative path. */
  json: Record<string, unknown>;
  warnings: ImportWarning[];
  /** Rows or studies rejected as bad data (each has a warning). */
  skipped: number;
  /** Rows left out on purpose (lateral views, too-short reports), by reason. */
  filtered: Record<string, number>;
}

export function emptyResult(): ImportResult {
  return { studies: [], files: [], masks: [], json: {}, warnings: [], skipped: 0, filtered: {} };
}

/**
 * Several imports written as one dataset (CheXpert's train.csv -> train/valid and valid.csv ->
 * test). A study id seen twice is a user mistake that would silently drop a study, so it fails.
 */
export function mergeImports(parts: readonly ImportResult[]): ImportResult {
  const out = emptyResult();
  const seen = new Set<string>();
  for (const p of parts) {
    for (const s of p.studies) {
      if (seen.has(s.id)) throw new DataError(`study id '${s.id}' appears in more than one of the imported files`);
      seen.add(s.id);
    }
    out.studies.push(...p.studies);
    out.files.push(...p.files);
    out.masks.push(...p.masks);
    Object.assign(out.json, p.json);
    out.warnings.push(...p.warnings);
    out.skipped += p.skipped;
    for (const [k, v] of Object.entries(p.filtered)) out.filtered[k] = (out.filtered[k] ?? 0) + v;
  }
  return out;
}

export function warn(res: ImportResult, message: string, record?: string): void {
  res.warnings.push(record === undefined ? { message } : { message, record });
}

export function skip(res: ImportResult, message: string, record?: string): void {
  warn(res, message, record);
  res.skipped++;
}

export function filter(res: ImportResult, reason: string): void {
  res.filtered[reason] = (res.filtered[reason] ?? 0) + 1;
}

export function where(table: CsvTable, rec: CsvRecord): string {
  return `${path.basename(table.file)}:${rec.line}`;
}

/** Warns and returns false when a record has a different number of fields than the header. */
export function checkWidth(res: ImportResult, table: CsvTable, rec: CsvRecord): boolean {
  if (rec.width === table.header.length) return true;
  skip(res, `row has ${rec.width} fields but the header has ${table.header.length}`, where(table, rec));
  return false;
}

/** FNV-1a 32-bit hash of a string (stable split assignment by id). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Split from the hash of a key (patient or image id) and a seed: the same key always lands in the
 * same split whatever the row order, and all images of one patient stay together.
 */
export function seededSplit(key: string, seed: number, fractions: readonly [number, number, number] = [0.8, 0.1, 0.1]): Split {
  const u = mixSeed(seed, hashString(key)) / 4294967296;
  if (u < fractions[0]) return 'train';
  if (u < fractions[0] + fractions[1]) return 'valid';
  return 'test';
}

/** Maps the usual spellings of split names onto the manifest's train / valid / test. */
export function normaliseSplit(raw: string): Split | undefined {
  const v = raw.trim().toLowerCase();
  if (v === 'train' || v === 'training') return 'train';
  if (v === 'valid' || v === 'validate' || v === 'validation' || v === 'val' || v === 'dev') return 'valid';
  if (v === 'test' || v === 'testing') return 'test';
  return undefined;
}

/**
 * Parses a label cell: 1/0/-1 (also 1.0, 0.0, -1.0, true/false). Blank -> null (label omitted);
 * anything else -> undefined (invalid).
 */
export function parseLabel(raw: string): LabelValue | null | undefined {
  const v = raw.trim().toLowerCase();
  if (v === '' || v === 'nan') return null;
  if (v === 'true' || v === 'yes') return 1;
  if (v === 'false') return 0;
  const n = Number(v);
  if (n === 1 || n === 0 || n === -1) return n as LabelValue;
  return undefined;
}

/** Resolves a user-given path: relative to `root` when it exists there, else to the working directory. */
export function resolveInput(root: string, p: string): string {
  const underRoot = path.resolve(root, p);
  return fs.existsSync(underRoot) ? underRoot : path.resolve(p);
}

export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Indexes files under `root` (recursively) by basename without extension, for the given extensions. */
export function indexFilesByStem(root: string, exts: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const wanted = new Set(exts.map((e) => e.toLowerCase()));
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop() as string;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile() || e.isSymbolicLink()) {
        const ext = path.extname(e.name).toLowerCase();
        if (!wanted.has(ext)) continue;
        const stem = e.name.slice(0, e.name.length - ext.length);
        // Prefer the first extension listed (.dcm over .png) when both exist.
        const prev = out.get(stem);
        if (!prev || exts.indexOf(ext) < exts.indexOf(path.extname(prev).toLowerCase())) out.set(stem, p);
      }
    }
  }
  return out;
}

/** Where an image from the source tree goes in the output folder: images/<path under root>. */
export function imageTarget(root: string, file: string): string {
  const rel = path.relative(path.resolve(root), path.resolve(file));
  const safe = rel.startsWith('..') || path.isAbsolute(rel) ? path.basename(file) : rel;
  return ['images', ...safe.split(path.sep)].join('/');
}

/** A plain sentence from positive labels, for datasets without report text ("No Finding." if none). */
export function labelSentence(positives: readonly string[], none: string): string {
  return positives.length ? positives.map((p) => `${p}.`).join(' ') : none;
}
