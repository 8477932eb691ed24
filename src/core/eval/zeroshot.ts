// Zero-shot classification (METHODS.md section 6): every class has a prompt set; an image's class
// score is the pooled (max or mean) similarity to that class's prompts, z-scored per class column,
// and the prediction is the argmax. Accuracy and macro-F1 over studies with exactly one positive
// class; AUROC per class over every study whose label for that class is 0 or 1.
import { auroc, accuracy, argmaxRows, macroF1, poolPromptScores, zScoreColumns, type PromptPooling } from './metrics';
import { gloriaChexpertPrompts, samplePrompts, synthBenchmarkPrompts, type PromptSet } from './prompts';
import { SYNTH_LABELS } from '../data/synth/vocabulary';
import type { LoadedStudy } from '../data/manifest-types';
import type { EncodedSplit, ScoreKind } from './features';
import type { EvalSource } from './source';

export interface ZeroShotOptions {
  /** User prompt set (loadPromptFile); otherwise chosen from the dataset's labels. */
  prompts?: PromptSet;
  score: ScoreKind;
  pooling: PromptPooling;
  /** Most prompts kept per class (seeded sample). */
  maxPrompts: number;
  seed: number;
}

export interface ZeroShotResult {
  metrics: Record<string, number>;
  classes: string[];
  promptSource: string;
  promptCounts: Record<string, number>;
  evaluated: number;
}

/** Labels with at least one positive study in the given studies, in first-seen order. */
export function positiveLabels(studies: readonly LoadedStudy[]): string[] {
  const out = new Set<string>();
  for (const s of studies) for (const [k, v] of Object.entries(s.labels ?? {})) if (v === 1) out.add(k);
  return [...out];
}

/**
 * Prompts for the dataset's labels: the synthetic benchmark's when every label is one of its
 * labels, GLoRIA's CheXpert prompts for the CheXpert competition classes, and the label's own
 * name otherwise (so that any labelled dataset can be scored).
 */
export function choosePrompts(labels: readonly string[], opts: Pick<ZeroShotOptions, 'prompts' | 'maxPrompts' | 'seed'>): { prompts: PromptSet; source: string } {
  if (opts.prompts) {
    const p: PromptSet = {};
    for (const [k, v] of Object.entries(opts.prompts)) if (labels.includes(k)) p[k] = v;
    return { prompts: p, source: 'file' };
  }
  const synth = labels.every((l) => SYNTH_LABELS.includes(l));
  const base = synth ? synthBenchmarkPrompts() : gloriaChexpertPrompts();
  const out: PromptSet = {};
  for (const l of labels) {
    if (base[l]) out[l] = base[l];
    else if (!synth && l !== 'No Finding') out[l] = [l.toLowerCase()];
  }
  return { prompts: samplePrompts(out, opts.maxPrompts, opts.seed), source: synth ? 'synthetic' : 'gloria-chexpert' };
}

export async function runZeroShot(src: EvalSource, f: EncodedSplit, opts: ZeroShotOptions): Promise<ZeroShotResult> {
  const { prompts, source } = choosePrompts(positiveLabels(f.studies), opts);
  const classes = Object.keys(prompts);
  if (classes.length === 0) {
    return { metrics: {}, classes, promptSource: source, promptCounts: {}, evaluated: 0 };
  }
  const texts = classes.flatMap((c) => prompts[c]);
  const enc = await src.encodeTexts(texts);
  const rows = Array.from({ length: f.n }, (_, i) => i);
  const sim = await src.similarity(f, rows, enc, texts.map((_, j) => j), opts.score);
  let offset = 0;
  const classScores = rows.map(() => new Array<number>(classes.length));
  classes.forEach((c, k) => {
    const cnt = prompts[c].length;
    const pooled = poolPromptScores(sim.map((r) => r.subarray(offset, offset + cnt)), opts.pooling);
    pooled.forEach((v, i) => { classScores[i][k] = v; });
    offset += cnt;
  });
  const z = zScoreColumns(classScores);
  const metrics: Record<string, number> = {};
  // Multi-class: studies with exactly one positive among the classes and the rest negative.
  const single = rows.filter((i) => {
    const l = f.studies[i].labels ?? {};
    return classes.filter((c) => l[c] === 1).length === 1;
  });
  const truth = single.map((i) => classes.findIndex((c) => f.studies[i].labels?.[c] === 1));
  const pred = argmaxRows(single.map((i) => z[i]));
  metrics.accuracy = single.length ? accuracy(pred, truth) : NaN;
  metrics.macro_f1 = single.length ? macroF1(pred, truth, classes.length).macro : NaN;
  metrics.single_label_studies = single.length;
  const aucs: number[] = [];
  classes.forEach((c, k) => {
    const keep = rows.filter((i) => { const v = f.studies[i].labels?.[c]; return v === 0 || v === 1; });
    const a = auroc(keep.map((i) => z[i][k]), keep.map((i) => f.studies[i].labels![c] as number));
    metrics[`auroc/${c}`] = a;
    if (!Number.isNaN(a)) aucs.push(a);
  });
  metrics.auroc = aucs.length ? aucs.reduce((a, b) => a + b, 0) / aucs.length : NaN;
  return {
    metrics, classes, promptSource: source, evaluated: f.n,
    promptCounts: Object.fromEntries(classes.map((c) => [c, prompts[c].length])),
  };
}
