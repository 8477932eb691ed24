import { test } from 'node:test';
import assert from 'node:assert/strict';
import { navigate, splitReport } from '../../webview/report-view';

test('splitReport interleaves gaps and words by char offsets', () => {
  const report = 'No focal  opacity.';
  const words = [{ text: 'No', start: 0, end: 2 }, { text: 'opacity', start: 10, end: 17 }, { text: 'focal', start: 3, end: 8 }];
  assert.deepEqual(splitReport(report, words), [
    { text: 'No', word: 0 }, { text: ' ' }, { text: 'focal', word: 2 }, { text: '  ' }, { text: 'opacity', word: 1 }, { text: '.' },
  ]);
  assert.equal(splitReport(report, words).map((p) => p.text).join(''), report);
});

test('splitReport skips overlapping or out-of-range words but keeps the text whole', () => {
  const report = 'pleural effusion';
  const pieces = splitReport(report, [{ text: 'pleural', start: 0, end: 7 }, { text: 'leu', start: 1, end: 4 }, { text: 'x', start: 10, end: 99 }]);
  assert.deepEqual(pieces.filter((p) => p.word !== undefined).map((p) => p.word), [0]);
  assert.equal(pieces.map((p) => p.text).join(''), report);
});

test('navigate: arrows step, Home/End jump, PageUp/Down by 10, clamped', () => {
  assert.equal(navigate('ArrowRight', 3, 10), 4);
  assert.equal(navigate('ArrowDown', 9, 10), 9);
  assert.equal(navigate('ArrowLeft', 0, 10), 0);
  assert.equal(navigate('Home', 5, 10), 0);
  assert.equal(navigate('End', 5, 10), 9);
  assert.equal(navigate('PageDown', 5, 10), 9);
  assert.equal(navigate('PageUp', 15, 100), 5);
  assert.equal(navigate('a', 5, 10), undefined);
  assert.equal(navigate('ArrowRight', 0, 0), undefined);
});
