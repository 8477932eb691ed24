// Shape checks shared by the metric functions. A mismatch here is a caller bug (the eval command
// assembles these arrays), not a user mistake, so it throws a plain RangeError.

export function assertSameLength(what: string, a: ArrayLike<unknown>, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) throw new RangeError(`${what}: lengths differ (${a.length} vs ${b.length})`);
}

export function assertBinaryLabel(what: string, value: number, index: number): void {
  if (value !== 0 && value !== 1) throw new RangeError(`${what}: label at ${index} must be 0 or 1, got ${value}`);
}

export function assertFinite(what: string, value: number, index: number): void {
  if (!Number.isFinite(value)) throw new RangeError(`${what}: value at ${index} is not finite (${value})`);
}

export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/** Median with the two middle values averaged for even counts; NaN when empty. */
export function median(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  const sorted = Array.from(values).sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
