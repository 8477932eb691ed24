// What is in a dataset, before anyone trains on it: split sizes, label prevalence, image sizes,
// report lengths. Reading image headers here catches unreadable files early (the full decode,
// and with it corrupt pixel data, is the image loader's job).
import fs from 'node:fs';
import sharp from 'sharp';
import type * as dicomParser from 'dicom-parser';
import { DataError } from '../errors';
import { looksLikeDicom, parseDataSet, parserMessage } from './dicom';
import { decodeImageFile, resolveImageLimits, type ImageLimits } from './image-io';
import { describeKind, formatBytes, pixelLimitProblem } from './input-guard';
import type { Dataset } from './manifest';
import { SPLITS, type InvalidRecord, type LoadedStudy, type Split } from './manifest-types';

export interface LengthStats {
  min: number;
  mean: number;
  /** Middle value; mean of the two middle values for an even count. */
  median: number;
  /** Nearest-rank 95th percentile: sorted[ceil(0.95 n) - 1]. */
  p95: number;
  max: number;
}

export interface LabelCounts {
  positive: number;
  negative: number;
  uncertain: number;
  /** Studies of the split without this label (blank in CheXpert terms). */
  missing: number;
  /** positive / studies of the split (0 for an empty split). */
  positiveShare: number;
}

export type SplitKey = Split | 'all';

export interface LabelPrevalence {
  label: string;
  splits: Record<SplitKey, LabelCounts>;
}

export interface ImageSizeBin {
  width: number;
  height: number;
  count: number;
}

export interface ImageSummary {
  /** Studies whose image header was read. */
  read: number;
  /** Count per format: png, jpeg, dicom, … */
  formats: Record<string, number>;
  /** One bin per distinct width x height, most frequent first (ties: larger area first). */
  sizes: ImageSizeBin[];
}

export interface DatasetSummary {
  dir: string;
  totalLines: number;
  /** Usable studies (valid records whose image header, when checked, could be read). */
  studies: number;
  splits: Record<Split, number>;
  labels: LabelPrevalence[];
  /** Absent when image headers were not read (imageStats: false). */
  images?: ImageSummary;
  reports: { words: LengthStats; chars: LengthStats };
  boxes: { studies: number; total: number };
  masks: { studies: number };
  words: { studies: number; total: number };
  /** Manifest-level invalid records plus unreadable image headers, in line order. */
  invalid: InvalidRecord[];
}

export interface SummarizeOptions {
  /** Read every image header (size, format); default true. */
  imageStats?: boolean;
  /** Parallel header reads; default 8. */
  concurrency?: number;
  /** Image size limits (default 20 MP, 512 MiB): a header above them makes the record invalid. */
  limits?: Partial<ImageLimits>;
  /**
   * Also decode every image fully (after its header was read): catches truncated files and
   * corrupt pixel data that a valid header hides. Slower: a full decode per image.
   */
  decode?: boolean;
}

export interface ImageHeader {
  format: string;
  width: number;
  height: number;
}

export async function summarizeDataset(ds: Dataset, opts: SummarizeOptions = {}): Promise<DatasetSummary> {
  const invalid = [...ds.invalid];
  let usable: LoadedStudy[] = ds.studies;
  let images: ImageSummary | undefined;
  if (opts.imageStats ?? true) {
    const check = async (s: LoadedStudy): Promise<ImageHeader> => {
      const header = await readImageHeader(s.imagePath, opts.limits);
      if (opts.decode) await decodeImageFile(s.imagePath, opts.limits);
      return header;
    };
    const failed: number[] = [];
    const headers = await mapPool(ds.studies, opts.concurrency ?? 8, async (s, i) => {
      try {
        return await check(s);
      } catch {
        failed.push(i);
        return undefined;
      }
    });
    // libvips keeps one error text for the whole process, so a failure read while other files were
    // being decoded can carry another file's message: each failed file is read again on its own.
    for (const i of failed.sort((a, b) => a - b)) {
      const s = ds.studies[i];
      try {
        headers[i] = await check(s);
      } catch (e) {
        invalid.push({ line: s.line, id: s.id, field: 'image', reason: `${s.image}: ${(e as Error).message}` });
      }
    }
    usable = ds.studies.filter((_, i) => headers[i] !== undefined);
    images = summarizeHeaders(headers.filter((h): h is ImageHeader => h !== undefined));
    invalid.sort((a, b) => a.line - b.line);
  }

  const splits = Object.fromEntries(SPLITS.map((s) => [s, 0])) as Record<Split, number>;
  for (const s of usable) splits[s.split]++;

  return {
    dir: ds.dir,
    totalLines: ds.totalLines,
    studies: usable.length,
    splits,
    labels: labelPrevalence(usable, splits),
    ...(images ? { images } : {}),
    reports: {
      words: lengthStats(usable.map((s) => countWords(s.report))),
      chars: lengthStats(usable.map((s) => [...s.report].length)),
    },
    boxes: { studies: usable.filter((s) => s.boxes?.length).length, total: sum(usable.map((s) => s.boxes?.length ?? 0)) },
    masks: { studies: usable.filter((s) => s.maskPath).length },
    words: { studies: usable.filter((s) => s.words?.length).length, total: sum(usable.map((s) => s.words?.length ?? 0)) },
    invalid,
  };
}

function labelPrevalence(studies: readonly LoadedStudy[], splits: Record<Split, number>): LabelPrevalence[] {
  const names = [...new Set(studies.flatMap((s) => Object.keys(s.labels ?? {})))].sort();
  const sizes: Record<SplitKey, number> = { ...splits, all: studies.length };
  return names.map((label) => {
    const counts = Object.fromEntries((['all', ...SPLITS] as SplitKey[]).map((k) => [k, { positive: 0, negative: 0, uncertain: 0 }])) as
      Record<SplitKey, { positive: number; negative: number; uncertain: number }>;
    for (const s of studies) {
      const v = s.labels?.[label];
      if (v === undefined) continue;
      const key = v === 1 ? 'positive' : v === 0 ? 'negative' : 'uncertain';
      counts[s.split][key]++;
      counts.all[key]++;
    }
    const out = {} as Record<SplitKey, LabelCounts>;
    for (const k of Object.keys(counts) as SplitKey[]) {
      const c = counts[k];
      const n = sizes[k];
      out[k] = { ...c, missing: n - c.positive - c.negative - c.uncertain, positiveShare: n ? c.positive / n : 0 };
    }
    return { label, splits: out };
  });
}

function summarizeHeaders(headers: readonly ImageHeader[]): ImageSummary {
  const formats: Record<string, number> = {};
  const bins = new Map<string, ImageSizeBin>();
  for (const h of headers) {
    formats[h.format] = (formats[h.format] ?? 0) + 1;
    const key = `${h.width}x${h.height}`;
    const bin = bins.get(key);
    if (bin) bin.count++;
    else bins.set(key, { width: h.width, height: h.height, count: 1 });
  }
  const sizes = [...bins.values()].sort((a, b) => b.count - a.count || b.width * b.height - a.width * a.height || b.width - a.width);
  return { read: headers.length, formats, sizes };
}

function countWords(text: string): number {
  return text.match(/\S+/g)?.length ?? 0;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** Length statistics; all zeros for an empty list. */
export function lengthStats(values: readonly number[]): LengthStats {
  if (values.length === 0) return { min: 0, mean: 0, median: 0, p95: 0, max: 0 };
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  const median = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return { min: v[0], mean: sum(v) / n, median, p95: v[Math.ceil(0.95 * n) - 1], max: v[n - 1] };
}

const DICOM_MAGIC_OFFSET = 128;

/**
 * Reads an image's format and size from its header only. DICOM (the DICM magic, or a .dcm /
 * .dicom name, with or without the 128-byte preamble: the same rule as decoding) is parsed with
 * dicom-parser up to the pixel data; everything else goes to sharp. Only a regular file within
 * limits.maxBytes is read, and a header declaring more than limits.maxPixels is refused.
 * Throws a DataError with a short reason when the header cannot be read or is over a limit.
 */
export async function readImageHeader(file: string, limits: Partial<ImageLimits> = {}): Promise<ImageHeader> {
  const lim = resolveImageLimits(limits);
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new DataError(`cannot read the image (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, file, 'image');
  }
  if (!st.isFile()) throw new DataError(`the image is ${describeKind(st)}, not a regular file`, file, 'image');
  if (st.size > lim.maxBytes) {
    throw new DataError(`the image file is ${formatBytes(st.size)}, more than the ${formatBytes(lim.maxBytes)} limit (data.maxImageBytes)`, file, 'image');
  }
  if (st.size === 0) throw new DataError('empty file', file, 'image');
  const head = readHead(file, DICOM_MAGIC_OFFSET + 4);
  let header: ImageHeader;
  if (looksLikeDicom(head, file)) {
    header = readDicomHeader(file, st.size, lim.maxBytes, lim.maxPixels);
  } else {
    try {
      const meta = await sharp(file).metadata();
      if (!meta.width || !meta.height) throw new Error('no width/height in header');
      header = { format: String(meta.format), width: meta.width, height: meta.height };
    } catch (e) {
      throw new DataError(`image header cannot be read (${shortReason(e)})`, file, 'image');
    }
  }
  const tooBig = pixelLimitProblem(header.width, header.height, lim.maxPixels);
  if (tooBig) throw new DataError(tooBig, file, 'image');
  return header;
}

function readDicomHeader(file: string, size: number, maxBytes: number, maxPixels: number): ImageHeader {
  // The header rarely exceeds a few KiB; parse a prefix first and only fall back to the whole
  // file when the prefix ends before the pixel data tag.
  const prefix = readHead(file, 1 << 20);
  let ds: dicomParser.DataSet;
  try {
    ds = parseDataSet(prefix, maxBytes, 'x7fe00010', maxPixels);
  } catch (first) {
    if (size <= prefix.length) throw new DataError(`DICOM header cannot be read (${shortReason(first)})`, file, 'image');
    try {
      ds = parseDataSet(fs.readFileSync(file), maxBytes, 'x7fe00010', maxPixels);
    } catch (e) {
      throw new DataError(`DICOM header cannot be read (${shortReason(e)})`, file, 'image');
    }
  }
  const height = ds.uint16('x00280010');
  const width = ds.uint16('x00280011');
  if (!width || !height) throw new DataError('DICOM header has no Rows/Columns', file, 'image');
  return { format: 'dicom', width, height };
}

function readHead(file: string, bytes: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = fs.readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

function shortReason(e: unknown): string {
  // dicom-parser throws plain strings or {exception} objects; sharp's messages can span lines.
  return parserMessage(e);
}

async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
