// Reads and validates a dataset folder (manifest.jsonl + files). Bad records are skipped and
// reported one by one so a few broken studies never sink a run, while a mostly broken manifest
// (wrong folder, wrong format) stops with one clear message instead of training on scraps.
// manifest.jsonl and every file a record names are resolved by real path (all symlinks followed)
// and must stay in the dataset folder; images may also resolve into the folders that reclf import
// declared in reclf-dataset.json. Sizes are checked from stat before anything is read.
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import schema from '../../../schemas/manifest.schema.json';
import { ConfigError, DataError } from '../errors';
import { resolveInside } from '../fs-atomic';
import { DATASET_META_FILE, DATASET_META_FORMAT, MANIFEST_FILE } from './manifest-write';
import type { InvalidRecord, LoadedStudy, StudyRecord } from './manifest-types';
import { formatBytes, realDir, realFileUnder, resolveLimits, type InputLimits } from './input-guard';
import { decodeReportText, reportTextProblem } from './report-text';
import { fieldPath, valueAt } from '../json-pointer';

export { MANIFEST_FILE, DATASET_META_FILE };

export const DEFAULT_MAX_INVALID_SHARE = 0.2;

export interface ReadDatasetOptions {
  /** Largest tolerated share of invalid records (0..1); above it readDataset throws. */
  maxInvalidShare?: number;
  onWarning?: (rec: InvalidRecord) => void;
  /** Size limits (defaults: DEFAULT_INPUT_LIMITS); maxImagePixels is checked when images are decoded. */
  limits?: Partial<InputLimits>;
}

export interface Dataset {
  /** Absolute dataset folder. */
  dir: string;
  /** Absolute path of manifest.jsonl. */
  manifest: string;
  studies: LoadedStudy[];
  invalid: InvalidRecord[];
  /** Non-blank manifest lines (each one a record, valid or not). */
  totalLines: number;
  /** Real paths of the folders reclf-dataset.json declares for image symlinks (often none). */
  linkRoots: string[];
}

export type ValidationResult =
  | { ok: true; record: StudyRecord }
  | { ok: false; field: string; reason: string };

// strictRequired would reject the anyOf branches, which name properties declared one level up.
const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false });
const validateSchema = ajv.compile<StudyRecord>(schema);

/** Checks one parsed manifest line against schemas/manifest.schema.json. */
export function validateStudyRecord(obj: unknown): ValidationResult {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { ok: false, field: '(record)', reason: `must be a JSON object, got ${describe(obj)}` };
  }
  if (validateSchema(obj)) return { ok: true, record: obj };
  return explain(validateSchema.errors ?? [], obj);
}

function explain(errors: readonly ErrorObject[], obj: unknown): { ok: false; field: string; reason: string } {
  // With allErrors off, ajv lists an anyOf's failed branches before the anyOf itself; the
  // branches alone ("report is required") would hide that report_file also satisfies it.
  const anyOf = errors.find((e) => e.keyword === 'anyOf' && e.instancePath === '');
  if (anyOf) return { ok: false, field: 'report', reason: 'one of report or report_file is required' };
  const e = errors[0];
  if (!e) return { ok: false, field: '(record)', reason: 'does not match the manifest schema' };
  const base = fieldPath(e.instancePath);
  const value = valueAt(obj, e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      return { ok: false, field: base ? `${base}.${missing}` : missing, reason: 'is required' };
    }
    case 'enum':
      return {
        ok: false, field: base || '(record)',
        reason: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}`,
      };
    case 'type':
      return { ok: false, field: base || '(record)', reason: `must be ${String(params.type)}, got ${describe(value)}` };
    case 'minLength':
      return { ok: false, field: base, reason: 'must not be empty' };
    case 'minItems':
    case 'maxItems':
    case 'additionalItems':
      return { ok: false, field: base, reason: 'must be [x, y, w, h, label] (exactly 5 items)' };
    default:
      return { ok: false, field: base || '(record)', reason: `${e.message ?? 'is invalid'}, got ${describe(value)}` };
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  return `${typeof v} ${String(v)}`;
}

/** "line 7 (s12): image: file not found: img/s12.png" — the one format every caller prints. */
export function formatInvalid(rec: InvalidRecord): string {
  return `line ${rec.line}${rec.id !== undefined ? ` (${rec.id})` : ''}: ${rec.field ? `${rec.field}: ` : ''}${rec.reason}`;
}

/** Throws a DataError when more than maxInvalidShare of total records are invalid. */
export function assertUsable(manifest: string, invalid: readonly InvalidRecord[], total: number, maxInvalidShare: number): void {
  if (total === 0) throw new DataError(`${manifest}: no records (the manifest is empty)`, manifest);
  if (invalid.length / total <= maxInvalidShare) return;
  const shown = invalid.slice(0, 5).map(formatInvalid);
  const more = invalid.length > shown.length ? `; … and ${invalid.length - shown.length} more` : '';
  throw new DataError(
    `${manifest}: ${invalid.length} of ${total} records are invalid (${pct(invalid.length / total)}, more than the allowed ${pct(maxInvalidShare)}): ${shown.join('; ')}${more}`,
    manifest,
  );
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads dir/manifest.jsonl, skipping (and reporting) every record that cannot be used. */
export function readDataset(dir: string, opts: ReadDatasetOptions = {}): Dataset {
  const maxInvalidShare = opts.maxInvalidShare ?? DEFAULT_MAX_INVALID_SHARE;
  if (!(maxInvalidShare >= 0 && maxInvalidShare <= 1)) {
    throw new ConfigError(`maxInvalidShare must be between 0 and 1, got ${maxInvalidShare}`, 'maxInvalidShare');
  }
  const root = path.resolve(dir);
  const realRoot = realDir(root);
  if (!realRoot) throw new DataError(`dataset folder not found: ${root}`, root);
  const manifest = path.join(root, MANIFEST_FILE);
  if (!isFile(manifest)) throw new DataError(`${MANIFEST_FILE} not found in dataset folder ${root}`, manifest);
  // The manifest itself is a dataset file: a symlink may not lead out of the folder either.
  const real = realFileUnder(manifest, { roots: [realRoot], rootName: 'the dataset folder', shown: MANIFEST_FILE });
  if (!real.ok) throw new DataError(`${manifest}: ${real.reason}`, manifest);
  const linkRoots = readLinkRoots(root, realRoot);
  const ctx: LineContext = { realRoot, linkRoots, limits: resolveLimits(opts.limits) };

  const studies: LoadedStudy[] = [];
  const invalid: InvalidRecord[] = [];
  const firstLineOfId = new Map<string, number>();
  let totalLines = 0;
  let lineNo = 0;
  for (const bytes of readLines(real.real)) {
    lineNo++;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      totalLines++;
      report({ line: lineNo, reason: 'line is not valid UTF-8' });
      continue;
    }
    if (text.trim() === '') continue;
    totalLines++;
    const result = loadLine(ctx, text, lineNo, firstLineOfId);
    if ('reason' in result) report(result);
    else studies.push(result);
  }
  assertUsable(manifest, invalid, totalLines, maxInvalidShare);
  return { dir: root, manifest, studies, invalid, totalLines, linkRoots };

  function report(rec: InvalidRecord): void {
    invalid.push(rec);
    opts.onWarning?.(rec);
  }
}

interface LineContext {
  realRoot: string;
  linkRoots: string[];
  limits: InputLimits;
}

/**
 * The folders reclf-dataset.json declares for image symlinks, as real paths. No file: none (a
 * dataset written by hand, or imported before the file existed: its outside links are refused
 * with a message saying how to declare them). Folders that no longer exist are left out (their
 * images are then reported missing, record by record).
 */
export function readLinkRoots(root: string, realRoot = realDir(root) ?? root): string[] {
  const file = path.join(root, DATASET_META_FILE);
  try {
    fs.lstatSync(file);
  } catch {
    return [];
  }
  const r = realFileUnder(file, { roots: [realRoot], rootName: 'the dataset folder', maxBytes: 16 << 20, shown: DATASET_META_FILE });
  if (!r.ok) throw new DataError(`${file}: ${r.reason}`, file);
  let meta: unknown;
  try {
    meta = JSON.parse(fs.readFileSync(r.real, 'utf8'));
  } catch (e) {
    throw new DataError(`${file}: not valid JSON (${(e as Error).message})`, file);
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new DataError(`${file}: expected a JSON object`, file);
  const m = meta as Record<string, unknown>;
  if (m.format !== undefined && m.format !== DATASET_META_FORMAT) {
    throw new DataError(`${file}: format must be "${DATASET_META_FORMAT}", got ${JSON.stringify(m.format)}`, file, 'format');
  }
  const list = m.linkRoots ?? [];
  if (!Array.isArray(list)) throw new DataError(`${file}: linkRoots must be a list of absolute folder paths`, file, 'linkRoots');
  const out: string[] = [];
  list.forEach((p: unknown, i) => {
    const field = `linkRoots[${i}]`;
    if (typeof p !== 'string' || !path.isAbsolute(p)) {
      throw new DataError(`${file}: ${field} must be an absolute folder path, got ${JSON.stringify(p)}`, file, field);
    }
    const real = realDir(p);
    if (!real) return;
    if (path.parse(real).root === real) {
      throw new DataError(`${file}: ${field} is the file-system root ${real}, which would let links reach every file; name the folder the images live in`, file, field);
    }
    out.push(real);
  });
  return out;
}

function loadLine(ctx: LineContext, text: string, line: number, firstLineOfId: Map<string, number>): LoadedStudy | InvalidRecord {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    return { line, reason: `not valid JSON (${(e as Error).message})` };
  }
  const v = validateStudyRecord(obj);
  if (!v.ok) {
    const rawId = (obj as { id?: unknown } | null)?.id;
    return { line, id: typeof rawId === 'string' && rawId ? rawId : undefined, field: v.field, reason: v.reason };
  }
  const rec = v.record;
  const bad = (field: string, reason: string): InvalidRecord => ({ line, id: rec.id, field, reason });
  const { limits } = ctx;

  const first = firstLineOfId.get(rec.id);
  if (first !== undefined) return bad('id', `duplicate id (first used on line ${first})`);
  firstLineOfId.set(rec.id, line);

  const imagePath = fileInside(ctx, rec.image, 'image', limits.maxImageBytes, 'data.maxImageBytes');
  if (typeof imagePath !== 'string') return bad('image', imagePath.reason);

  let report: string;
  if (rec.report !== undefined) {
    report = rec.report;
    const bytes = Buffer.byteLength(report, 'utf8');
    if (bytes > limits.maxReportBytes) {
      return bad('report', `report text is ${formatBytes(bytes)}, more than the ${formatBytes(limits.maxReportBytes)} limit (data.maxReportBytes)`);
    }
    const problem = reportTextProblem(report);
    if (problem) return bad('report', `report text ${problem}`);
  } else {
    const reportFile = rec.report_file as string;
    const reportPath = fileInside(ctx, reportFile, 'report_file', limits.maxReportBytes, 'data.maxReportBytes');
    if (typeof reportPath !== 'string') return bad('report_file', reportPath.reason);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(reportPath);
    } catch (e) {
      return bad('report_file', `cannot read ${reportFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const decoded = decodeReportText(bytes);
    if (!decoded.ok) return bad('report_file', `${reportFile} ${decoded.reason}`);
    report = decoded.text;
  }

  let maskPath: string | undefined;
  if (rec.mask !== undefined) {
    const m = fileInside(ctx, rec.mask, 'mask', limits.maxImageBytes, 'data.maxImageBytes');
    if (typeof m !== 'string') return bad('mask', m.reason);
    maskPath = m;
  }
  return { ...rec, report, imagePath, ...(maskPath ? { maskPath } : {}), line };
}

/**
 * The real path of a file a record names: the text must stay in the dataset folder (no `..`, not
 * absolute) and so must the file once every symlink is followed; images may also resolve into a
 * declared link root.
 */
function fileInside(ctx: LineContext, rel: string, field: 'image' | 'report_file' | 'mask', maxBytes: number, limitName: string): string | { reason: string } {
  const full = resolveInside(ctx.realRoot, rel);
  if (!full) return { reason: `path escapes the dataset folder: ${rel}` };
  const links = field === 'image' ? ctx.linkRoots : [];
  const r = realFileUnder(full, {
    roots: [ctx.realRoot, ...links],
    rootName: links.length ? `the dataset folder and the link roots in ${DATASET_META_FILE}` : 'the dataset folder',
    outsideHint: field !== 'image'
      ? `a ${field} must be inside the dataset folder`
      : links.length ? undefined : `images made by reclf import may link to their source only when ${DATASET_META_FILE} lists it in linkRoots: re-run the import or add the folder there`,
    maxBytes, limitName, shown: rel,
  });
  return r.ok ? r.real : { reason: r.reason };
}

function isFile(p: string): boolean {
  try { return fs.statSync(p).isFile(); } catch { return false; }
}

/** Yields raw lines (without \n or \r) so huge manifests are never held in memory twice. */
function* readLines(file: string): Generator<Uint8Array> {
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 16);
    // The start of a line that spans chunks, joined once its end arrives: re-joining it with every
    // chunk made a 10 MB line cost seconds (quadratic in its length).
    let carry: Buffer[] = [];
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const buf = Buffer.from(chunk.subarray(0, n));
      let start = 0;
      let nl: number;
      while ((nl = buf.indexOf(10, start)) !== -1) {
        const piece = buf.subarray(start, nl);
        yield stripCr(carry.length ? Buffer.concat([...carry, piece]) : piece);
        carry = [];
        start = nl + 1;
      }
      if (start < buf.length) carry.push(buf.subarray(start));
    }
    if (carry.length) yield stripCr(Buffer.concat(carry));
  } finally {
    fs.closeSync(fd);
  }
}

function stripCr(b: Buffer): Buffer {
  return b.length && b[b.length - 1] === 13 ? b.subarray(0, b.length - 1) : b;
}
