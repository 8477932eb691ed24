// The synthetic benchmark (METHODS.md section 8): one study is a pure function of (seed, index),
// and a dataset folder is images/, masks/, manifest.jsonl and synth.json, byte-identical per seed.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../errors';
import { writeJsonAtomic } from '../../fs-atomic';
import { mixSeed, Rng } from '../../rng';
import type { Box, LabelValue, Split, StudyRecord } from '../manifest-types';
import { writeManifest } from '../manifest-write';
import { sampleAnatomy } from './anatomy';
import { anatomyAdjustments, buildLesions, type FindingSpec, sampleFindings } from './findings';
import { encodeGreyPng } from './png';
import { render, sampleAcquisition } from './render';
import { writeReport } from './report';
import { FINDING_LABEL, FINDING_NAMES, NO_FINDING_LABEL, SYNTH_LABELS, synthVocabulary, type SynthVocabulary } from './vocabulary';

export const SYNTH_GENERATOR = 'reclf-synth';
/** Bump when the output for a given (seed, index) changes. */
export const SYNTH_VERSION = '1.0.0';
export const SYNTH_INFO_FILE = 'synth.json';
export const DEFAULT_SIZE = 128;
export const DEFAULT_SPLIT: [number, number, number] = [0.8, 0.1, 0.1];

// Independent random streams per study, so that e.g. a new report template does not move pixels.
const STREAM = { findings: 1, report: 2, noise: 3, split: 4 } as const;

export interface StudyOptions {
  size?: number;
  split?: [number, number, number];
}

export interface SynthStudy {
  record: StudyRecord;
  /** size*size grey bytes, row-major. */
  image: Uint8Array;
  /** Union lesion mask, 0/255, present when the study has findings. */
  mask?: Uint8Array;
}

export function studyId(index: number): string {
  return `synth-${String(index).padStart(6, '0')}`;
}

/** Studies per stratification block: shares are exact to within 1/SPLIT_BLOCK in every block. */
const SPLIT_BLOCK = 50;

/**
 * Split of study `index`: a seeded permutation of each block of SPLIT_BLOCK indices is cut at the
 * shares (with a seeded sub-slot offset so any share is hit on average), which keeps the realised
 * shares close to the requested ones at any n while staying a function of (seed, index) alone.
 */
export function assignSplit(seed: number, index: number, shares: readonly [number, number, number]): Split {
  const block = Math.floor(index / SPLIT_BLOCK);
  const rng = new Rng(mixSeed(seed, block, STREAM.split));
  const perm = rng.shuffle(Array.from({ length: SPLIT_BLOCK }, (_, k) => k));
  const offset = rng.next();
  const total = shares[0] + shares[1] + shares[2];
  const u = ((perm[index % SPLIT_BLOCK] + offset) / SPLIT_BLOCK) * total;
  if (u < shares[0]) return 'train';
  if (u < shares[0] + shares[1]) return 'valid';
  return 'test';
}

export function generateStudy(seed: number, index: number, opts: StudyOptions = {}): SynthStudy {
  const size = opts.size ?? DEFAULT_SIZE;
  const rng = new Rng(mixSeed(seed, index, STREAM.findings));
  const specs: FindingSpec[] = sampleFindings(rng);
  const anatomy = sampleAnatomy(rng, size, anatomyAdjustments(specs, rng));
  const lesions = buildLesions(specs, anatomy, rng, 1 / size);
  const acq = sampleAcquisition(rng, size);
  const rendered = render(anatomy, lesions, acq, size, new Rng(mixSeed(seed, index, STREAM.noise)));
  const report = writeReport(specs, new Rng(mixSeed(seed, index, STREAM.report)));

  const id = studyId(index);
  const labels: Record<string, LabelValue> = {};
  const present = new Set(specs.map((s) => s.name));
  for (const f of FINDING_NAMES) labels[FINDING_LABEL[f]] = present.has(f) ? 1 : 0;
  labels[NO_FINDING_LABEL] = specs.length === 0 ? 1 : 0;
  const boxes: Box[] = rendered.parts.map(({ part, box }) => [box[0], box[1], box[2], box[3], FINDING_LABEL[part.finding]]);

  let mask: Uint8Array | undefined;
  if (rendered.parts.length) {
    mask = new Uint8Array(size * size);
    for (const { mask: m } of rendered.parts) for (let k = 0; k < m.length; k++) if (m[k]) mask[k] = 255;
  }
  const record: StudyRecord = {
    id,
    image: `images/${id}.png`,
    report: report.text,
    view: 'PA',
    split: assignSplit(seed, index, opts.split ?? DEFAULT_SPLIT),
    labels,
    boxes,
    ...(mask ? { mask: `masks/${id}.png` } : {}),
    words: report.words,
    meta: {
      generator: SYNTH_GENERATOR,
      seed,
      index,
      ctr: Number(anatomy.heart.ctr.toFixed(3)),
      findings: specs.map((s) => ({ finding: s.name, location: s.location, severity: s.severity, ...(s.sizeMm ? { size_mm: s.sizeMm } : {}) })),
    },
  };
  return { record, image: rendered.image, mask };
}

export interface SynthProgress {
  done: number;
  total: number;
  elapsed_s: number;
  eta_s: number;
}

export interface SynthDatasetOptions {
  out: string;
  n: number;
  seed: number;
  size?: number;
  split?: [number, number, number];
  onProgress?: (p: SynthProgress) => void;
}

/** Written to DIR/synth.json: everything needed to regenerate the folder, no timestamps. */
export interface SynthInfo {
  generator: string;
  version: string;
  seed: number;
  n: number;
  size: number;
  split: [number, number, number];
  counts: Record<Split, number>;
  labels: Record<string, number>;
  vocabulary: SynthVocabulary;
}

export interface SynthSummary {
  out: string;
  manifest: string;
  n: number;
  seed: number;
  size: number;
  split: [number, number, number];
  counts: Record<Split, number>;
  labels: Record<string, number>;
  with_mask: number;
  elapsed_s: number;
}

export function validateSynthOptions(opts: SynthDatasetOptions): { size: number; split: [number, number, number] } {
  if (!opts.out) throw new ConfigError('--out is required', 'out');
  if (!Number.isInteger(opts.n) || opts.n < 1 || opts.n > 10_000_000) throw new ConfigError(`--n must be a positive integer, got ${opts.n}`, 'n');
  if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff) throw new ConfigError(`--seed must be an integer in [0, 2^32), got ${opts.seed}`, 'seed');
  const size = opts.size ?? DEFAULT_SIZE;
  if (!Number.isInteger(size) || size < 32 || size > 2048) throw new ConfigError(`--size must be an integer in [32, 2048], got ${size}`, 'size');
  const split = opts.split ?? DEFAULT_SPLIT;
  if (split.length !== 3 || split.some((v) => !Number.isFinite(v) || v < 0) || Math.abs(split[0] + split[1] + split[2] - 1) > 1e-6) {
    throw new ConfigError(`--split must be three non-negative shares train,valid,test summing to 1, got ${split.join(',')}`, 'split');
  }
  return { size, split: [split[0], split[1], split[2]] };
}

/**
 * Refuses to write into a folder that holds something other than a previous synthetic set; clears
 * the images and masks of a previous set so a smaller n leaves no stale files behind.
 */
function prepareOut(out: string): void {
  if (fs.existsSync(out)) {
    if (!fs.statSync(out).isDirectory()) throw new ConfigError(`--out ${out} exists and is not a folder`, 'out');
    const entries = fs.readdirSync(out);
    if (entries.length && !entries.includes(SYNTH_INFO_FILE)) {
      throw new ConfigError(`--out ${out} is not empty and holds no ${SYNTH_INFO_FILE}; choose an empty or new folder`, 'out');
    }
    for (const sub of ['images', 'masks']) {
      const dir = path.join(out, sub);
      if (!fs.existsSync(dir)) continue;
      for (const f of fs.readdirSync(dir)) if (/^synth-\d+\.png$/.test(f)) fs.unlinkSync(path.join(dir, f));
    }
  }
  fs.mkdirSync(path.join(out, 'images'), { recursive: true });
  fs.mkdirSync(path.join(out, 'masks'), { recursive: true });
}

export async function generateDataset(opts: SynthDatasetOptions): Promise<SynthSummary> {
  const { size, split } = validateSynthOptions(opts);
  const out = path.resolve(opts.out);
  prepareOut(out);
  const t0 = performance.now();
  const records: StudyRecord[] = [];
  const counts: Record<Split, number> = { train: 0, valid: 0, test: 0 };
  const labels: Record<string, number> = Object.fromEntries(SYNTH_LABELS.map((l) => [l, 0]));
  let withMask = 0;
  for (let i = 0; i < opts.n; i++) {
    const study = generateStudy(opts.seed, i, { size, split });
    const r = study.record;
    fs.writeFileSync(path.join(out, r.image), encodeGreyPng(study.image, size, size));
    if (study.mask && r.mask) {
      fs.writeFileSync(path.join(out, r.mask), encodeGreyPng(study.mask, size, size));
      withMask++;
    }
    records.push(r);
    counts[r.split]++;
    for (const [k, v] of Object.entries(r.labels ?? {})) if (v === 1) labels[k]++;
    if (opts.onProgress) {
      const elapsed = (performance.now() - t0) / 1000;
      const done = i + 1;
      opts.onProgress({ done, total: opts.n, elapsed_s: elapsed, eta_s: (elapsed / done) * (opts.n - done) });
    }
    // Let signal handlers and stream writes run during long generations.
    if (i % 32 === 31) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const manifest = writeManifest(out, records);
  const info: SynthInfo = {
    generator: SYNTH_GENERATOR, version: SYNTH_VERSION, seed: opts.seed, n: opts.n, size, split, counts, labels, vocabulary: synthVocabulary(),
  };
  writeJsonAtomic(path.join(out, SYNTH_INFO_FILE), info);
  return {
    out, manifest, n: opts.n, seed: opts.seed, size, split, counts, labels, with_mask: withMask,
    elapsed_s: Number(((performance.now() - t0) / 1000).toFixed(3)),
  };
}
