// Seeded percentile bootstrap for any metric over a list of items (images, studies, queries).
// The seed is part of the result so a published interval can be re-drawn exactly.

import { Rng } from '../../rng';

export interface BootstrapOptions {
  seed: number;
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

export interface BootstrapResult {
  /** The metric on the full sample. */
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  seed: number;
  resamples: number;
  /**
   * Resamples whose metric was defined. A resample can leave out every positive (AUROC is then
   * NaN); such draws are dropped, not counted as 0 or 0.5, and this count says how many remained.
   */
  validResamples: number;
}

/** Quantile with linear interpolation between order statistics (numpy's default, type 7). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Draws `resamples` samples of items.length items with replacement, evaluates the metric on each
 * and returns the (1 - level) / 2 and (1 + level) / 2 percentiles.
 */
export function bootstrapCi<T>(items: readonly T[], metric: (sample: readonly T[]) => number, opts: BootstrapOptions): BootstrapResult {
  const resamples = opts.resamples ?? 1000;
  const level = opts.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrapCi: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrapCi: level must be in (0, 1), got ${level}`);
  const estimate = metric(items);
  const rng = new Rng(opts.seed);
  const values: number[] = [];
  const sample: T[] = new Array<T>(items.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < items.length; i++) sample[i] = items[rng.int(items.length)];
    const v = metric(sample);
    if (!Number.isNaN(v)) values.push(v);
  }
  values.sort((a, b) => a - b);
  return {
    estimate,
    lower: quantile(values, (1 - level) / 2),
    upper: quantile(values, (1 + level) / 2),
    level,
    seed: opts.seed,
    resamples,
    validResamples: values.length,
  };
}
