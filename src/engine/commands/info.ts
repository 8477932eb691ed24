// `reclf info DATASET`: is this folder usable, and what is in it? Prints a table (or the summary
// as JSON) and every record that was skipped, so a user can fix the manifest in one pass.
import { num, bool, UsageError } from '../args';
import type { Command } from '../command';
import { isUserError } from '../../core/errors';
import {
  assertUsable, DEFAULT_MAX_INVALID_SHARE, formatInvalid, readDataset,
} from '../../core/data/manifest';
import { summarizeDataset, type DatasetSummary, type LengthStats, type SplitKey } from '../../core/data/dataset-summary';
import { SPLITS, type InvalidRecord } from '../../core/data/manifest-types';
import { DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MAX_REPORT_BYTES } from '../../core/data/input-guard';
import { describeBackends, probeBackends } from '../../core/runtime/backend';
import { BACKEND_ORDER } from '../../protocol/backends';

export const infoCommand: Command = {
  spec: {
    name: 'info',
    summary: 'Check a dataset folder and summarise it (splits, labels, image sizes, report lengths, bad records)',
    usage: 'reclf info DATASET [--json] [--max-invalid-share 0.2] [--no-images] [--decode] [--max-image-pixels N] [--max-image-bytes N] [--max-report-bytes N]\n       reclf info --backends [--json]',
    positionals: 'DATASET  a folder containing manifest.jsonl',
    flags: {
      json: { type: 'boolean', description: 'Print the summary as JSON on stdout' },
      'max-invalid-share': {
        type: 'number', value: 'SHARE', default: DEFAULT_MAX_INVALID_SHARE,
        description: 'Fail (exit 2) when more than this share of records is invalid',
      },
      images: { type: 'boolean', default: true, description: 'Read every image header (use --no-images to skip)' },
      decode: { type: 'boolean', description: 'Also decode every image fully: finds truncated files and corrupt pixel data that a valid header hides (slower)' },
      'max-image-pixels': {
        type: 'number', value: 'N', default: DEFAULT_MAX_IMAGE_PIXELS,
        description: 'An image whose header declares more pixels (width x height) is invalid (as data.maxImagePixels in training)',
      },
      'max-image-bytes': { type: 'number', value: 'N', default: DEFAULT_MAX_IMAGE_BYTES, description: 'An image file larger than this is invalid (data.maxImageBytes)' },
      'max-report-bytes': { type: 'number', value: 'N', default: DEFAULT_MAX_REPORT_BYTES, description: 'A report larger than this is invalid (data.maxReportBytes)' },
      backends: { type: 'boolean', description: `Instead of a dataset: which TF.js backends (${BACKEND_ORDER.join(', ')}) load here, and why the others do not` },
    },
  },
  async run(ctx) {
    const { flags, positionals } = ctx.args;
    if (bool(flags, 'backends')) {
      const probes = await probeBackends();
      process.stdout.write(bool(flags, 'json') ? JSON.stringify(probes, null, 2) + '\n' : describeBackends(probes) + '\n');
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`expected one DATASET folder, got ${positionals.length} (see 'reclf info --help')`);
    const maxInvalidShare = num(flags, 'maxInvalidShare') ?? DEFAULT_MAX_INVALID_SHARE;
    if (maxInvalidShare < 0 || maxInvalidShare > 1) throw new UsageError(`--max-invalid-share must be between 0 and 1, got ${maxInvalidShare}`);
    const limit = (key: string, flag: string, def: number): number => {
      const v = num(flags, key) ?? def;
      if (!Number.isInteger(v) || v < 1) throw new UsageError(`--${flag} must be a positive integer, got ${v}`);
      return v;
    };
    const limits = {
      maxImagePixels: limit('maxImagePixels', 'max-image-pixels', DEFAULT_MAX_IMAGE_PIXELS),
      maxImageBytes: limit('maxImageBytes', 'max-image-bytes', DEFAULT_MAX_IMAGE_BYTES),
      maxReportBytes: limit('maxReportBytes', 'max-report-bytes', DEFAULT_MAX_REPORT_BYTES),
    };

    const seen: InvalidRecord[] = [];
    try {
      // One pass: every row and every image is checked and every problem printed before the
      // share of bad records decides the exit code, so a manifest is fixed in one round.
      const ds = readDataset(positionals[0], { maxInvalidShare: 1, onWarning: (r) => seen.push(r), limits });
      const summary = await summarizeDataset(ds, {
        imageStats: bool(flags, 'images') || bool(flags, 'decode'), decode: bool(flags, 'decode'),
        limits: { maxPixels: limits.maxImagePixels, maxBytes: limits.maxImageBytes },
      });
      process.stdout.write(bool(flags, 'json') ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary) + '\n');
      // Unreadable images count against the same threshold as manifest errors.
      seen.splice(0, seen.length, ...summary.invalid);
      assertUsable(ds.manifest, summary.invalid, summary.totalLines, maxInvalidShare);
      return 0;
    } catch (e) {
      // The error message carries only the first few reasons; the full list helps fix the manifest.
      if (isUserError(e) && seen.length) for (const r of seen) ctx.events.log(`invalid: ${formatInvalid(r)}`);
      throw e;
    }
  },
};

export function formatSummary(s: DatasetSummary): string {
  const out: string[] = [];
  out.push(`Dataset ${s.dir}`);
  out.push(`${s.studies} usable studies of ${s.totalLines} records (${s.invalid.length} invalid)`);
  out.push('');
  out.push(table(['split', 'studies'], [...SPLITS.map((k) => [k, String(s.splits[k])]), ['all', String(s.studies)]]));

  if (s.labels.length) {
    out.push('', 'Label prevalence (positive / negative / uncertain / missing, positive share):');
    const keys: SplitKey[] = ['all', ...SPLITS];
    out.push(table(['label', ...keys], s.labels.map((l) => [
      l.label,
      ...keys.map((k) => {
        const c = l.splits[k];
        return `${c.positive}/${c.negative}/${c.uncertain}/${c.missing} ${(100 * c.positiveShare).toFixed(1)}%`;
      }),
    ])));
  }

  if (s.images) {
    const fmts = Object.entries(s.images.formats).map(([f, n]) => `${f} ${n}`).join(', ');
    out.push('', `Images: ${s.images.read} headers read${fmts ? ` (${fmts})` : ''}`);
    if (s.images.sizes.length) out.push(table(['size', 'images'], s.images.sizes.map((b) => [`${b.width}x${b.height}`, String(b.count)])));
  } else {
    out.push('', 'Images: headers not read (--no-images)');
  }

  out.push('', 'Report length:');
  const row = (name: string, st: LengthStats): string[] => [name, ...[st.min, st.mean, st.median, st.p95, st.max].map(fmt)];
  out.push(table(['', 'min', 'mean', 'median', 'p95', 'max'], [row('words', s.reports.words), row('chars', s.reports.chars)]));

  out.push('', `Boxes: ${s.boxes.total} in ${s.boxes.studies} studies; masks: ${s.masks.studies} studies; word annotations: ${s.words.total} in ${s.words.studies} studies`);

  out.push('', s.invalid.length ? `Invalid records (${s.invalid.length}, skipped):` : 'Invalid records: none');
  for (const r of s.invalid) out.push(`  ${formatInvalid(r)}`);
  return out.join('\n');
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].map((l) => `  ${l}`).join('\n');
}
