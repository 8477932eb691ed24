// SIIM-ACR pneumothorax importer (METHODS.md sections 6 and 7): train-rle.csv with relative,
// column-major RLE; several rows per image are unioned into one mask written as PNG; one box per
// RLE row (each row is one pneumothorax region). No report text: a label sentence is stored.
import path from 'node:path';
import { DataError } from '../../errors';
import { readCsvTable, requireColumns } from '../csv';
import type { Box, StudyRecord } from '../manifest-types';
import { decodeSiimRle, isEmptyRle, maskBoundingBox, unionMask, type BinaryMask } from '../rle';
import {
  checkWidth, emptyResult, imageTarget, indexFilesByStem, resolveInput, seededSplit, skip, where, type ImportResult,
} from './common';

export const SIIM_SIZE = 1024;
export const SIIM_LABEL = 'Pneumothorax';

export interface SiimImportOptions {
  root: string;
  /** train-rle.csv, relative to root or absolute. */
  csv: string;
  seed?: number;
  /** Mask side in pixels (the RLE refers to the 1024x1024 DICOMs). */
  size?: number;
}

/** The union of an image's RLE rows (already validated). */
export function siimMask(rles: readonly string[], size = SIIM_SIZE): BinaryMask {
  const mask: BinaryMask = { width: size, height: size, data: new Uint8Array(size * size) };
  for (const rle of rles) unionMask(mask, decodeSiimRle(rle, size, size));
  return mask;
}

export function importSiim(opts: SiimImportOptions): ImportResult {
  const root = path.resolve(opts.root);
  const size = opts.size ?? SIIM_SIZE;
  const seed = opts.seed ?? 0;
  const res = emptyResult();
  const table = readCsvTable(resolveInput(root, opts.csv));
  // The real header is "ImageId, EncodedPixels"; the CSV reader trims header names.
  requireColumns(table, ['ImageId', 'EncodedPixels']);

  // Group rows by image, in first-appearance order.
  const groups = new Map<string, { rles: string[]; bad: boolean; at: string }>();
  for (const rec of table.records) {
    const at = where(table, rec);
    if (!checkWidth(res, table, rec)) continue;
    const id = rec.values.ImageId.trim();
    if (!id) { skip(res, 'empty ImageId', at); continue; }
    let g = groups.get(id);
    if (!g) { g = { rles: [], bad: false, at }; groups.set(id, g); }
    g.rles.push(rec.values.EncodedPixels);
  }

  const images = indexFilesByStem(root, ['.dcm', '.png']);
  for (const [id, g] of groups) {
    const image = images.get(id);
    if (!image) { skip(res, `no image ${id}.dcm or ${id}.png under ${root}`, g.at); continue; }
    const boxes: Box[] = [];
    let error: string | undefined;
    const rles = g.rles.filter((r) => !isEmptyRle(r));
    for (const rle of rles) {
      try {
        const bb = maskBoundingBox(decodeSiimRle(rle, size, size));
        if (bb) boxes.push([...bb, SIIM_LABEL]);
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        error = e.message;
        break;
      }
    }
    if (error) { skip(res, `image ${id}: bad EncodedPixels: ${error}`, g.at); continue; }
    const positive = boxes.length > 0;
    const to = imageTarget(root, image);
    const maskTo = `masks/${id}.png`;
    // Negative images get an empty mask too, so segmentation can score them (empty = 1 if predicted empty).
    res.masks.push({ to: maskTo, width: size, height: size, render: () => siimMask(rles, size).data });
    const study: StudyRecord = {
      id,
      image: to,
      report: positive ? 'Pneumothorax.' : 'No pneumothorax.',
      view: 'FRONTAL',
      split: seededSplit(id, seed),
      labels: { [SIIM_LABEL]: positive ? 1 : 0 },
      mask: maskTo,
      meta: { source: 'siim-acr', report_source: 'labels' },
    };
    if (positive) study.boxes = boxes;
    res.studies.push(study);
    res.files.push({ from: image, to });
  }
  return res;
}
