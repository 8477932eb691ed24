// Writes a dataset's manifest.jsonl atomically (importers and the synthetic generator), and the
// dataset's sidecar reclf-dataset.json in which an importer declares the folders its symlinks
// lead into (the only places outside the dataset folder that its images may resolve to).
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../fs-atomic';
import type { StudyRecord } from './manifest-types';

export const MANIFEST_FILE = 'manifest.jsonl';
export const DATASET_META_FILE = 'reclf-dataset.json';
export const DATASET_META_FORMAT = 'reclf-dataset';

export interface DatasetMeta {
  format: typeof DATASET_META_FORMAT;
  version: 1;
  /**
   * Absolute real paths of folders that the dataset's image symlinks may resolve into (written by
   * `reclf import`; images only: report files and masks must stay inside the dataset folder).
   */
  linkRoots: string[];
  /** Who wrote it ("reclf import mimic-cxr"), for people reading the file. */
  createdBy?: string;
}

export function writeManifest(datasetDir: string, studies: readonly StudyRecord[]): string {
  const file = path.join(datasetDir, MANIFEST_FILE);
  writeFileAtomic(file, studies.map((s) => JSON.stringify(s)).join('\n') + (studies.length ? '\n' : ''));
  return file;
}

export function writeDatasetMeta(datasetDir: string, linkRoots: readonly string[], createdBy?: string): string {
  const file = path.join(datasetDir, DATASET_META_FILE);
  const meta: DatasetMeta = { format: DATASET_META_FORMAT, version: 1, linkRoots: [...linkRoots], ...(createdBy ? { createdBy } : {}) };
  writeJsonAtomic(file, meta);
  return file;
}
