// The dataset contract (ARCHITECTURE.md): a folder with manifest.jsonl, one study per line,
// paths relative to the folder. Only id, image, report (or report_file) and split are required.

export type Split = 'train' | 'valid' | 'test';
export const SPLITS: readonly Split[] = ['train', 'valid', 'test'];

/** 1 positive, 0 negative, -1 uncertain (CheXpert convention). Blank labels are omitted. */
export type LabelValue = 1 | 0 | -1;

/** [x, y, w, h, label] in pixels of the stored image. */
export type Box = [number, number, number, number, string];

export type WordRole = 'finding' | 'location' | 'modifier' | 'negation' | 'function';

/** Ground truth for one report word (synthetic benchmark). start/end are char offsets in report. */
export interface WordTruth {
  text: string;
  role: WordRole;
  /** The finding this word belongs to (finding and location words), e.g. "pneumothorax". */
  finding?: string;
  /** The location word(s) of that finding, e.g. "left apical". */
  location?: string;
  start?: number;
  end?: number;
  /** True when the finding is negated ("no pneumothorax"). */
  negated?: boolean;
}

export interface StudyRecord {
  id: string;
  image: string;
  report?: string;
  report_file?: string;
  view?: string;
  split: Split;
  labels?: Record<string, LabelValue>;
  boxes?: Box[];
  /** Path to a single-channel PNG mask (non-zero = positive), relative to the dataset folder. */
  mask?: string;
  words?: WordTruth[];
  /** Free-form provenance (importer name, source ids). */
  meta?: Record<string, unknown>;
}

/** A study whose report text has been resolved (report_file read) and image path made absolute. */
export interface LoadedStudy extends StudyRecord {
  report: string;
  imagePath: string;
  maskPath?: string;
  line: number;
}

export interface InvalidRecord {
  /** 1-based line number in manifest.jsonl. */
  line: number;
  id?: string;
  field?: string;
  reason: string;
}
