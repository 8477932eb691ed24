import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isExplanationPayload, isHostMessage, isWebviewMessage } from '../../src/protocol/webview-messages';
import type { ExplanationPayload } from '../../src/protocol/explain';

const payload = (): ExplanationPayload => ({
  model: { name: 'bundled', method: 'reclf', source: 'bundled' },
  image: { png: new Uint8Array([137, 80, 78, 71]), width: 2, height: 2 },
  grid: [1, 2], report: 'no effusion',
  words: [{ text: 'no', start: 0, end: 2 }, { text: 'effusion', start: 3, end: 11 }],
  attention: new Float32Array(4), relation: new Float32Array(4), importance: new Float32Array(2), wordScore: new Float32Array(2),
  scores: { global: 0.1, local: 0.2 },
});

test('isHostMessage accepts every host message kind', () => {
  assert.ok(isHostMessage({ type: 'explanation', payload: payload() }));
  assert.ok(isHostMessage({ type: 'explanation', payload: payload(), selectIndex: 1 }));
  assert.ok(isHostMessage({ type: 'runEvents', runId: 'r', events: [{ type: 'progress', step: 1 }] }));
  assert.ok(isHostMessage({ type: 'evalTable', table: { title: 't', columns: ['a'], rows: [[1], ['x'], [null]] } }));
  assert.ok(isHostMessage({ type: 'selectWord', index: 0 }));
  assert.ok(isHostMessage({ type: 'clear', what: 'all' }));
  assert.ok(isHostMessage({ type: 'response', id: 3, ok: true, result: 1 }));
  assert.ok(isHostMessage({ type: 'response', id: 3, ok: false, error: 'no such file' }));
});

test('isHostMessage rejects malformed messages', () => {
  // Number lists instead of typed arrays: the protocol promises typed arrays.
  assert.ok(!isHostMessage({ type: 'explanation', payload: { ...payload(), attention: [0, 0, 0, 0] } }));
  assert.ok(!isExplanationPayload({ ...payload(), grid: [1] }));
  assert.ok(!isExplanationPayload({ ...payload(), words: [{ text: 'no', start: -1, end: 2 }] }));
  assert.ok(!isHostMessage({ type: 'selectWord', index: -1 }));
  assert.ok(!isHostMessage({ type: 'selectWord', index: 1.5 }));
  assert.ok(!isHostMessage({ type: 'evalTable', table: { title: 't', columns: ['a'], rows: [[{}]] } }));
  assert.ok(isHostMessage({ type: 'evalTable', table: { title: 't', key: 'ablation:/a', columns: ['a'], rows: [[1]] } }));
  assert.ok(!isHostMessage({ type: 'evalTable', table: { title: 't', key: 3, columns: ['a'], rows: [[1]] } }));
  assert.ok(!isHostMessage({ type: 'clear', what: 'everything' }));
  assert.ok(!isHostMessage({ type: 'response', id: 1, ok: false }));
  assert.ok(!isHostMessage({ type: 'ready' }));
  assert.ok(!isHostMessage(null));
  assert.ok(!isHostMessage('selectWord'));
});

test('isWebviewMessage checks requests by method', () => {
  assert.ok(isWebviewMessage({ type: 'ready' }));
  assert.ok(isWebviewMessage({ type: 'wordSelected', index: 4, word: 'effusion' }));
  assert.ok(isWebviewMessage({ type: 'request', id: 1, method: 'revealWord', reportPath: '/r.txt', start: 0, end: 3 }));
  assert.ok(isWebviewMessage({ type: 'request', id: 2, method: 'openFile', path: '/x.png' }));
  assert.ok(isWebviewMessage({ type: 'error', message: 'boom' }));
  assert.ok(!isWebviewMessage({ type: 'request', id: 1, method: 'runShell', cmd: 'rm' }));
  assert.ok(!isWebviewMessage({ type: 'request', method: 'openFile', path: '/x' }));
  assert.ok(!isWebviewMessage({ type: 'wordSelected', index: 4 }));
  assert.ok(!isWebviewMessage({ type: 'explanation', payload: payload() }));
});
