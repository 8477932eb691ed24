// `reclf distribution`: which images a model would flag as unlike its training images (the check
// behind explain's one-line note), for whole folders at once, so the separation can be measured.
import fs from 'node:fs';
import path from 'node:path';
import { bool, str, UsageError } from '../args';
import type { Command } from '../command';
import { DataError } from '../../core/errors';
import { loadExplainModel } from '../../core/explain/explain';
import { checkDistribution } from '../../core/explain/image-distribution';
import { decodeImageFile, errorText } from '../../core/data/image-io';
import { readDataset } from '../../core/data/manifest';
import { SPLITS, type Split } from '../../core/data/manifest-types';
import { modelFlags, resolveModelFlags } from './explain';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.dcm', '.dicom']);

/** The image files a path stands for: a dataset folder's studies (of one split), a folder's images, or one file. */
export function imagesOf(p: string, split?: Split): string[] {
  const abs = path.resolve(p);
  if (!fs.existsSync(abs)) throw new DataError(`${abs}: no such file or folder`, abs);
  if (!fs.statSync(abs).isDirectory()) return [abs];
  if (fs.existsSync(path.join(abs, 'manifest.jsonl'))) {
    return readDataset(abs).studies.filter((s) => !split || s.split === split).map((s) => s.imagePath);
  }
  return fs.readdirSync(abs).filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase())).sort().map((f) => path.join(abs, f));
}

export interface PathSummary {
  path: string;
  images: number;
  flagged: number;
  unreadable: number;
  distance: { min: number; median: number; max: number } | null;
  rows: { file: string; distance?: number; outside?: boolean; error?: string }[];
}

export const distributionCommand: Command = {
  spec: {
    name: 'distribution',
    summary: "Check images against a model's summary of its training images: distance per image, how many explain would flag",
    usage: 'reclf distribution [--model M.onnx | --run RUN] PATH... [--split test] [--json]',
    positionals: 'PATH  an image, a folder of images (png, jpg, dcm), or a dataset folder (its manifest\'s images)',
    flags: {
      model: { type: 'string', value: 'FILE', description: 'ONNX model exported with --data (default: the bundled models/reclf-default.onnx)' },
      run: { type: 'string', value: 'RUN', description: 'Run folder: its model.onnx, which must have been exported with --data (reclf export --run RUN --out RUN/model.onnx --data DATASET)' },
      split: { type: 'string', value: 'SPLIT', description: `Of a dataset folder, only this split (${SPLITS.join(', ')})` },
      json: { type: 'boolean', description: 'Print every image\'s distance as JSON on stdout' },
    },
  },
  async run(ctx) {
    const { flags, positionals } = ctx.args;
    const source = modelFlags(flags);
    if (positionals.length === 0) throw new UsageError("give at least one PATH (see 'reclf distribution --help')");
    const split = str(flags, 'split');
    if (split !== undefined && !(SPLITS as readonly string[]).includes(split)) throw new UsageError(`--split must be one of ${SPLITS.join(', ')}, got ${split}`);
    const resolved = await resolveModelFlags(source, (m) => ctx.events.log(m));
    const model = await loadExplainModel(resolved.file, resolved.info, 'cpu');
    const dist = model.meta.distribution;
    await model.session.close();
    if (!dist) throw new DataError(`${resolved.file}: the model carries no summary of its training images (export it with 'reclf export --data DATASET')`, resolved.file, 'image_distribution');
    const summaries: PathSummary[] = [];
    for (const p of positionals) {
      const files = imagesOf(p, split as Split | undefined);
      const rows: PathSummary['rows'] = [];
      for (const [i, file] of files.entries()) {
        try {
          const c = checkDistribution(dist, await decodeImageFile(file));
          rows.push({ file, distance: c.distance, outside: c.outside });
        } catch (e) {
          rows.push({ file, error: errorText(e) });
        }
        if ((i + 1) % 200 === 0) ctx.events.log(`${p}: ${i + 1} of ${files.length} images`);
      }
      const d = rows.flatMap((r) => (r.distance === undefined ? [] : [r.distance])).sort((a, b) => a - b);
      summaries.push({
        path: p, images: files.length, flagged: rows.filter((r) => r.outside).length, unreadable: rows.filter((r) => r.error).length,
        distance: d.length ? { min: d[0], median: d[Math.floor((d.length - 1) / 2)], max: d[d.length - 1] } : null,
        rows,
      });
    }
    if (bool(flags, 'json')) {
      process.stdout.write(JSON.stringify({ model: resolved.file, source: dist.source, threshold: dist.threshold, paths: summaries }, null, 2) + '\n');
      return 0;
    }
    const lines = [`${path.basename(resolved.file)}: trained on ${dist.source}; images farther than ${dist.threshold.toFixed(2)} are flagged`];
    for (const s of summaries) {
      const d = s.distance ? `distance min ${s.distance.min.toFixed(2)} / median ${s.distance.median.toFixed(2)} / max ${s.distance.max.toFixed(2)}` : 'no readable image';
      lines.push(`${s.path}: ${s.images} images, ${d}, flagged ${s.flagged}${s.unreadable ? `, unreadable ${s.unreadable}` : ''}`);
      for (const r of s.rows.filter((x) => x.error)) lines.push(`  unreadable ${r.file}: ${r.error}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
