import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapCi, quantile } from '../../../../src/core/eval/metrics/bootstrap';
import { auroc } from '../../../../src/core/eval/metrics/auroc';
import { mean } from '../../../../src/core/eval/metrics/validate';
import { Rng } from '../../../../src/core/rng';

test('quantile interpolates linearly (numpy default)', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5); // position 1.5
  assert.equal(quantile([1, 2, 3, 4], 0.25), 1.75); // position 0.75
  assert.equal(quantile([7], 0.9), 7);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

test('one resample draws items.length indices from Rng(seed)', () => {
  const items = [10, 20, 30];
  const rng = new Rng(42);
  const expected = mean([0, 1, 2].map(() => items[rng.int(3)]));
  const r = bootstrapCi(items, (s) => mean(s), { seed: 42, resamples: 1 });
  assert.equal(r.lower, expected);
  assert.equal(r.upper, expected);
  assert.equal(r.estimate, 20);
});

test('bootstrap is reproducible by seed and brackets the estimate', () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  const a = bootstrapCi(items, (s) => mean(s), { seed: 7, resamples: 500 });
  const b = bootstrapCi(items, (s) => mean(s), { seed: 7, resamples: 500 });
  const c = bootstrapCi(items, (s) => mean(s), { seed: 8, resamples: 500 });
  assert.deepEqual(a, b);
  assert.notEqual(a.lower, c.lower);
  assert.equal(a.estimate, 49.5);
  // the standard error of the mean is about 29/sqrt(100) = 2.9: the 95% interval spans ~+-5.7
  assert.ok(a.lower < 49.5 && a.upper > 49.5);
  assert.ok(a.upper - a.lower > 8 && a.upper - a.lower < 15, `${a.lower}..${a.upper}`);
  // constant data: a degenerate interval
  const k = bootstrapCi([3, 3, 3], (s) => mean(s), { seed: 1, resamples: 50 });
  assert.deepEqual([k.lower, k.upper], [3, 3]);
});

test('resamples where the metric is undefined are dropped and counted', () => {
  // one positive in 10: ~35% of resamples miss it (0.9^10) and AUROC is NaN there
  const items = Array.from({ length: 10 }, (_, i) => ({ s: i, l: i === 9 ? 1 : 0 }));
  const metric = (s: readonly { s: number; l: number }[]): number => auroc(s.map((x) => x.s), s.map((x) => x.l));
  const r = bootstrapCi(items, metric, { seed: 3, resamples: 200 });
  assert.equal(r.estimate, 1);
  assert.ok(r.validResamples < 200 && r.validResamples > 100, `${r.validResamples}`);
  assert.equal(r.upper, 1);
  assert.throws(() => bootstrapCi(items, metric, { seed: 1, level: 1 }), /level/);
});
