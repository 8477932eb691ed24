// Writes a dataset's manifest.jsonl atomically (importers and the synthetic generator).
import path from 'node:path';
import { writeFileAtomic } from '../fs-atomic';
import type { StudyRecord } from './manifest-types';

export const MANIFEST_FILE = 'manifest.jsonl';

export function writeManifest(datasetDir: string, studies: readonly StudyRecord[]): string {
  const file = path.join(datasetDir, MANIFEST_FILE);
  writeFileAtomic(file, studies.map((s) => JSON.stringify(s)).join('\n') + (studies.length ? '\n' : ''));
  return file;
}
