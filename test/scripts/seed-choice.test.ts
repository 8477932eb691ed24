// build:model's seed choice: validation readings at the exported step, one criterion for all seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseSeed, validationAt, type SeedCandidate } from '../../scripts/lib/seed-choice.mjs';

const events = [
  { type: 'run_started', step: 0 },
  { type: 'metric', name: 'pointing_game', value: 0.3, step: 500, split: 'valid' },
  { type: 'metric', name: 'pointing_game', value: 0.2, step: 1000, split: 'valid' },
  { type: 'metric', name: 'i2t_acc1', value: 0.4, step: 1000, split: 'valid' },
  { type: 'metric', name: 'loss', value: 3.1, step: 1000, split: 'train' },
].map((e) => JSON.stringify(e)).join('\n') + '\nnot an event\n';

test('validationAt reads the validation metrics of one step only', () => {
  assert.deepEqual(validationAt(events, 1000), { pointing_game: 0.2, i2t_acc1: 0.4 });
  assert.deepEqual(validationAt(events, 500), { pointing_game: 0.3 });
  assert.deepEqual(validationAt(events, 7), {});
});

const seed = (s: number, validation: Record<string, number>): SeedCandidate => ({ seed: s, run: `runs/seed-${s}`, step: 1000, validation });

test('the highest validation pointing game wins; the first seed wins a tie', () => {
  const c = chooseSeed([seed(0, { pointing_game: 0.15, i2t_acc1: 0.5, t2i_acc1: 0.5 }), seed(1, { pointing_game: 0.19, i2t_acc1: 0.1, t2i_acc1: 0.1 }), seed(2, { pointing_game: 0.19, i2t_acc1: 0.2, t2i_acc1: 0.2 })]);
  assert.deepEqual([c.by, c.seed, c.run, c.candidates.length], ['pointing_game', 1, 'runs/seed-1', 3]);
});

test('without boxes every seed is read by mean acc@1; one seed without a pointing game puts all on acc@1', () => {
  assert.equal(chooseSeed([seed(0, { i2t_acc1: 0.3, t2i_acc1: 0.5 }), seed(1, { i2t_acc1: 0.45, t2i_acc1: 0.3 })]).seed, 0);
  // Seed 1's acc@1 (0.4) would beat seed 0's pointing game (0.2) if the two were compared.
  const mixed = chooseSeed([seed(0, { pointing_game: 0.2, i2t_acc1: 0.5, t2i_acc1: 0.5 }), seed(1, { i2t_acc1: 0.4, t2i_acc1: 0.4 })]);
  assert.deepEqual([mixed.by, mixed.seed], ['acc1', 0]);
});

test('a seed with neither reading, or no seed at all, is an error that names it', () => {
  assert.throws(() => chooseSeed([seed(0, { i2t_acc1: 0.3, t2i_acc1: 0.5 }), seed(3, {})]), /seed 3 \(runs\/seed-3\) has no validation acc@1 at step 1000/);
  assert.throws(() => chooseSeed([]), /no trained seed/);
});
