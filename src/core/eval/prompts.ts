// Zero-shot prompt sets: GLoRIA's CheXpert 5-class prompts, prompts for the synthetic benchmark
// built from the generator's own vocabulary, and user prompt files ({class: [prompts]} JSON).

import fs from 'node:fs';
import { DataError } from '../errors';
import { Rng } from '../rng';
import { FINDINGS, FINDING_NAMES, LOCATIONS } from '../data/synth/vocabulary';

export type PromptSet = Record<string, string[]>;

type Axis = 'severity' | 'subtype' | 'location';

interface PromptAxes {
  /** Axes in the order GLoRIA's dict lists them: the prompt is their words joined in this order. */
  order: readonly Axis[];
  severity: readonly string[];
  subtype: readonly string[];
  location: readonly string[];
}

// GLoRIA's word lists (gloria/constants.py CHEXPERT_CLASS_PROMPTS), kept verbatim, spelling slips
// included ("apperance", "uppper", "presistent"), because zero-shot numbers are only comparable
// with the exact prompts. GLoRIA joins the axes in its dict's key order, which for Pleural
// Effusion is severity, location, subtype ("small left bilateral pleural effusion"); we keep that.
// Its effusion subtypes list "bilateral pleural effusion" twice, and the 54 prompts count both.
const GLORIA_CHEXPERT_AXES: Readonly<Record<string, PromptAxes>> = {
  Atelectasis: {
    order: ['severity', 'subtype', 'location'],
    severity: ['', 'mild', 'minimal'],
    subtype: [
      'subsegmental atelectasis', 'linear atelectasis', 'trace atelectasis', 'bibasilar atelectasis',
      'retrocardiac atelectasis', 'bandlike atelectasis', 'residual atelectasis',
    ],
    location: [
      'at the mid lung zone', 'at the upper lung zone', 'at the right lung zone', 'at the left lung zone',
      'at the lung bases', 'at the right lung base', 'at the left lung base', 'at the bilateral lung bases',
      'at the left lower lobe', 'at the right lower lobe',
    ],
  },
  Cardiomegaly: {
    order: ['severity', 'subtype', 'location'],
    severity: [''],
    subtype: [
      'cardiac silhouette size is upper limits of normal',
      'cardiomegaly which is unchanged',
      'mildly prominent cardiac silhouette',
      'portable view of the chest demonstrates stable cardiomegaly',
      'portable view of the chest demonstrates mild cardiomegaly',
      'persistent severe cardiomegaly',
      'heart size is borderline enlarged',
      'cardiomegaly unchanged',
      'heart size is at the upper limits of normal',
      'redemonstration of cardiomegaly',
      'ap erect chest radiograph demonstrates the heart size is the upper limits of normal',
      'cardiac silhouette size is mildly enlarged',
      'mildly enlarged cardiac silhouette, likely left ventricular enlargement. other chambers are less prominent',
      'heart size remains at mildly enlarged',
      'persistent cardiomegaly with prominent upper lobe vessels',
    ],
    location: [''],
  },
  Consolidation: {
    order: ['severity', 'subtype', 'location'],
    severity: ['', 'increased', 'improved', 'apperance of'],
    subtype: [
      'bilateral consolidation', 'reticular consolidation', 'retrocardiac consolidation',
      'patchy consolidation', 'airspace consolidation', 'partial consolidation',
    ],
    location: [
      'at the lower lung zone', 'at the upper lung zone', 'at the left lower lobe', 'at the right lower lobe',
      'at the left upper lobe', 'at the right uppper lobe', 'at the right lung base', 'at the left lung base',
    ],
  },
  Edema: {
    order: ['severity', 'subtype', 'location'],
    severity: ['', 'mild', 'improvement in', 'presistent', 'moderate', 'decreased'],
    subtype: ['pulmonary edema', 'trace interstitial edema', 'pulmonary interstitial edema'],
    location: [''],
  },
  'Pleural Effusion': {
    order: ['severity', 'location', 'subtype'],
    severity: ['', 'small', 'stable', 'large', 'decreased', 'increased'],
    location: ['left', 'right', 'tiny'],
    subtype: ['bilateral pleural effusion', 'subpulmonic pleural effusion', 'bilateral pleural effusion'],
  },
};

/** Prompt counts of GLoRIA's CheXpert 5x200 protocol (METHODS.md section 6). */
export const GLORIA_CHEXPERT_PROMPT_COUNTS: Readonly<Record<string, number>> = {
  Atelectasis: 210,
  Cardiomegaly: 15,
  Consolidation: 192,
  Edema: 18,
  'Pleural Effusion': 54,
};

/** Joins words with single spaces, dropping the empty words GLoRIA's lists use for "none". */
function joinWords(parts: readonly string[]): string {
  return parts.map((p) => p.trim()).filter((p) => p.length > 0).join(' ');
}

function expandAxes(axes: PromptAxes): string[] {
  const [a, b, c] = axes.order.map((k) => axes[k]);
  const out: string[] = [];
  for (const x of a) for (const y of b) for (const z of c) out.push(joinWords([x, y, z]));
  return out;
}

/**
 * Every GLoRIA `severity subtype location` combination per CheXpert competition class, in
 * GLoRIA's nesting order. Duplicates are kept (see above): with max pooling they change nothing,
 * with mean pooling the duplicated effusion prompts weigh double, as they do in GLoRIA.
 */
export function gloriaChexpertPrompts(): PromptSet {
  const out: PromptSet = {};
  for (const [cls, axes] of Object.entries(GLORIA_CHEXPERT_AXES)) {
    const prompts = expandAxes(axes);
    const expected = GLORIA_CHEXPERT_PROMPT_COUNTS[cls];
    if (prompts.length !== expected) throw new Error(`GLoRIA prompts for ${cls}: built ${prompts.length}, expected ${expected}`);
    out[cls] = prompts;
  }
  return out;
}

/**
 * Keeps at most n prompts per class, drawn without replacement with a seeded RNG (GLoRIA samples
 * with Python's unseeded random.sample; a seed makes the subset publishable). Order is preserved.
 */
export function samplePrompts(prompts: PromptSet, n: number, seed: number): PromptSet {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`samplePrompts: n must be a positive integer, got ${n}`);
  const rng = new Rng(seed);
  const out: PromptSet = {};
  for (const [cls, list] of Object.entries(prompts)) {
    if (list.length <= n) { out[cls] = [...list]; continue; }
    const idx = rng.shuffle(Array.from({ length: list.length }, (_, i) => i)).slice(0, n).sort((a, b) => a - b);
    out[cls] = idx.map((i) => list[i]);
  }
  return out;
}

/** What the synthetic prompt builder needs per class, as plain data (testable without the generator). */
export interface SynthPromptSource {
  label: string;
  synonyms: readonly string[];
  severity: readonly string[];
  /** Location phrases placed before the finding ("left basal"). */
  locationAdjectives: readonly string[];
  /** Location phrases after a preposition ("at the left base"). */
  locationNouns: readonly { preposition: string; noun: string }[];
}

/** "at the left base" but "at both bases": quantified nouns take no article. */
function articleFor(noun: string): string {
  return /^(both|bilateral)\b/.test(noun) ? '' : 'the';
}

/**
 * For each class: `[severity] [location] finding` and `[severity] finding preposition the location`,
 * with severity optional ('' included), deduplicated in first-seen order. A class without location
 * phrases gets `[severity] finding`.
 */
export function buildSynthPrompts(sources: readonly SynthPromptSource[]): PromptSet {
  const out: PromptSet = {};
  for (const s of sources) {
    const set = new Set<string>();
    for (const sev of ['', ...s.severity]) {
      for (const syn of s.synonyms) {
        if (s.locationAdjectives.length === 0 && s.locationNouns.length === 0) set.add(joinWords([sev, syn]));
        for (const adj of s.locationAdjectives) set.add(joinWords([sev, adj, syn]));
        for (const { preposition, noun } of s.locationNouns) set.add(joinWords([sev, syn, preposition, articleFor(noun), noun]));
      }
    }
    out[s.label] = [...set];
  }
  return out;
}

/** Sources for the synthetic benchmark's findings, from the generator's vocabulary tables. */
export function synthPromptSources(): SynthPromptSource[] {
  return FINDING_NAMES.map((name) => {
    const f = FINDINGS[name];
    const locs = f.locations.map((l) => LOCATIONS[l]);
    return {
      label: f.label,
      synonyms: f.synonyms.map((p) => p.text),
      severity: [...new Set(Object.values(f.severity).flat())],
      locationAdjectives: [...new Set(locs.flatMap((l) => l.adjective))],
      locationNouns: locs.flatMap((l) => l.noun.map((noun) => ({ preposition: l.preposition, noun }))),
    };
  });
}

/** Zero-shot prompts for every finding label of the synthetic benchmark ('No Finding' has none). */
export function synthBenchmarkPrompts(): PromptSet {
  return buildSynthPrompts(synthPromptSources());
}

/** Reads a user prompt file: a JSON object mapping each class name to a non-empty list of prompts. */
export function loadPromptFile(file: string): PromptSet {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new DataError(`${file}: cannot read prompt file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DataError(`${file}: not valid JSON (${(e as Error).message})`, file);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new DataError(`${file}: expected a JSON object {"class name": ["prompt", ...]}`, file);
  }
  const out: PromptSet = {};
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length === 0) throw new DataError(`${file}: no classes (the object is empty)`, file);
  for (const [cls, value] of entries) {
    if (cls.trim() === '') throw new DataError(`${file}: a class name is empty`, file, cls);
    if (!Array.isArray(value) || value.length === 0) {
      throw new DataError(`${file}: class "${cls}" must map to a non-empty array of prompt strings`, file, cls);
    }
    out[cls] = value.map((p, i) => {
      if (typeof p !== 'string' || p.trim() === '') {
        throw new DataError(`${file}: class "${cls}" prompt ${i} must be a non-empty string, got ${JSON.stringify(p)}`, file, `${cls}[${i}]`);
      }
      return p.trim();
    });
  }
  return out;
}
