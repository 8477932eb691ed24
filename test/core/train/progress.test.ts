import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, progressBar, Throughput } from '../../../src/core/train/progress';

test('ETA follows the moving average of per-item time', () => {
  const t = new Throughput(0.5);
  t.record(2, 4); // 0.5 s/item
  assert.equal(t.itemsPerSecond(), 2);
  t.record(1, 4); // 0.25 -> ema 0.375
  assert.equal(t.etaSeconds(8), 3);
});

test('durations and bars', () => {
  assert.equal(formatDuration(65), '1:05');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(progressBar(1, 4, 8), '[##......]  25%');
});
