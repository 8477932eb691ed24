import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressLine } from '../../src/engine/progress-line';
import type { EventSink } from '../../src/engine/events';

test('progressLine: at most one line per interval after the start, and always the last', () => {
  const logged: string[] = [];
  let t = 0;
  const report = progressLine({ tty: false, events: { log: (m: string) => logged.push(m) } as unknown as EventSink }, 1000, () => t);
  for (const [at, line, last] of [[500, 'a', false], [1000, 'b', false], [1500, 'c', false], [2100, 'd', false], [2200, 'e', true]] as const) {
    t = at;
    report(line, last);
  }
  assert.deepEqual(logged, ['b', 'd', 'e']);
});
