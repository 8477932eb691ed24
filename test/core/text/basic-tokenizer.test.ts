import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basicTokenize, basicWords, isPunctuation } from '../../../src/core/text/basic-tokenizer';

const spans = (text: string, opts?: { lowerCase?: boolean }) => basicWords(text, opts).map((w) => [w.text, w.start, w.end]);
const norms = (text: string, opts?: Parameters<typeof basicTokenize>[1]) => basicTokenize(text, opts).map((t) => t.norm);

test('punctuation characters are words of their own', () => {
  assert.deepEqual(spans('left-sided (AP) 1.5cm'), [
    ['left', 0, 4], ['-', 4, 5], ['sided', 5, 10], ['(', 11, 12], ['AP', 12, 14], [')', 14, 15],
    ['1', 16, 17], ['.', 17, 18], ['5cm', 18, 21],
  ]);
  // BERT's ASCII rule makes symbols such as $ + ^ ` punctuation although Unicode calls them S*.
  for (const ch of ['$', '+', '^', '`', '~', '¿', '“', '（']) assert.equal(isPunctuation(ch), true, ch);
  for (const ch of ['a', '5', '°', '中']) assert.equal(isPunctuation(ch), false, ch);
});

test('lower-casing and accent stripping keep spans in the original text', () => {
  const toks = basicTokenize('Pleural effusión');
  assert.deepEqual(toks.map((t) => [t.text, t.norm, t.start, t.end]), [['Pleural', 'pleural', 0, 7], ['effusión', 'effusion', 8, 16]]);
  // Decomposed accent: the mark is dropped from the normalised form; the word still spans it.
  const dec = basicTokenize('E\u0301ffusion');
  assert.deepEqual(dec.map((t) => [t.norm, t.start, t.end]), [['effusion', 0, 9]]);
  // "İ" lower-cases to two code points ("i" + combining dot), then loses the dot.
  const dotted = basicTokenize('\u0130S x');
  assert.deepEqual(dotted.map((t) => [t.text, t.norm, t.start, t.end]), [['\u0130S', 'is', 0, 2], ['x', 'x', 3, 4]]);
  assert.deepEqual(dotted[0].chars, [{ ch: 'i', start: 0, end: 1 }, { ch: 's', start: 1, end: 2 }]);
});

test('cased mode keeps case and accents, and composes with NFC like BertTokenizer', () => {
  assert.deepEqual(norms('Pleural effusión', { lowerCase: false }), ['Pleural', 'effusión']);
  const composed = basicTokenize('E\u0301x', { lowerCase: false });
  assert.equal(composed[0].norm, '\u00c9x');
  assert.deepEqual(composed[0].chars, [{ ch: '\u00c9', start: 0, end: 2 }, { ch: 'x', start: 2, end: 3 }]);
  assert.deepEqual(norms('\u00c9X', { lowerCase: true, stripAccents: false }), ['\u00e9x']);
});

test('control characters, NUL and U+FFFD vanish; every whitespace kind splits', () => {
  assert.deepEqual(spans('le\u0000ft lu\u200bng \ufffdheart\u0007'), [['le\u0000ft', 0, 5], ['lu\u200bng', 6, 11], ['heart', 13, 18]]);
  assert.deepEqual(norms('a\u00a0b\tc\r\nd\u2028e\u3000f'), ['a', 'b', 'c', 'd', 'e', 'f']);
  assert.deepEqual(basicWords(' \t\u0000 '), []);
});

test('CJK ideographs are single words; kana and astral ideographs handled by code point', () => {
  assert.deepEqual(spans('中文心 a中b'), [['中', 0, 1], ['文', 1, 2], ['心', 2, 3], ['a', 4, 5], ['中', 5, 6], ['b', 6, 7]]);
  assert.deepEqual(spans('\u{20000}x'), [['\u{20000}', 0, 2], ['x', 2, 3]]);
  assert.deepEqual(spans('あい'), [['あい', 0, 2]]);
});

test('Greek final sigma lower-cases by context, as Python str.lower() does', () => {
  assert.deepEqual(norms('ΣΑΣ'), ['σας']);
});

test('never-split strings are kept whole', () => {
  const toks = basicTokenize('no [MASK]-x', { neverSplit: ['[MASK]'] });
  assert.deepEqual(toks.map((t) => [t.norm, t.start, t.end, t.special]), [['no', 0, 2, false], ['[MASK]', 3, 9, true], ['-', 9, 10, false], ['x', 10, 11, false]]);
  assert.deepEqual(norms('[MASK]'), ['[', 'mask', ']']);
});
