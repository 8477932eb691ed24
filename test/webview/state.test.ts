import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStateWriter, DEFAULT_STATE, readState, restoreExplanation, storeExplanation } from '../../webview/state';
import { syntheticPayload } from './payload';

test('stored explanation survives JSON (VS Code setState) bit-exactly', async () => {
  const p = await syntheticPayload(100);
  const back = restoreExplanation(JSON.parse(JSON.stringify(storeExplanation(p))));
  assert.deepEqual(back.image.png, p.image.png);
  assert.deepEqual(back.attention, p.attention);
  assert.deepEqual(back.relation, p.relation);
  assert.deepEqual(back.importance, p.importance);
  assert.deepEqual(back.wordScore, p.wordScore);
  assert.deepEqual(back.words, p.words);
  assert.equal(back.report, p.report);
});

test('readState falls back to defaults for foreign or broken state', () => {
  const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x)); // what VS Code keeps
  assert.deepEqual(plain(readState(undefined)), DEFAULT_STATE);
  assert.deepEqual(plain(readState({ version: 2, selected: 4 })), DEFAULT_STATE);
  const s = readState({ version: 1, selected: -2, opacity: 3, palette: 'jet', tables: 'x', run: { runId: 1 } });
  assert.deepEqual(plain(s), DEFAULT_STATE);
  assert.equal(readState({ version: 1, selected: 7, opacity: 0.3, palette: 'cividis', tables: [] }).palette, 'cividis');
});

test('state writer debounces to the last state and flushes on demand', async () => {
  const written: unknown[] = [];
  const w = createStateWriter({ postMessage() {}, getState: () => undefined, setState: (s) => written.push(s) }, 20);
  w.write({ ...DEFAULT_STATE, selected: 1 });
  w.write({ ...DEFAULT_STATE, selected: 2 });
  assert.equal(written.length, 0);
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(written.map((s) => (s as { selected: number }).selected), [2]);
  w.write({ ...DEFAULT_STATE, selected: 3 });
  w.flush();
  assert.deepEqual(written.map((s) => (s as { selected: number }).selected), [2, 3]);
});
