import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isUserError } from '../../../src/core/errors';
import { buildVocab, buildVocabDetailed, VOCAB_SPECIALS } from '../../../src/core/text/vocab-build';
import { WordPieceTokenizer } from '../../../src/core/text/wordpiece';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const iuEntries = path.resolve(repoRoot, '..', 'shared', 'data', 'real-cxr', 'iu-xray', 'data_entry.json');

test('specials, then the alphabet, then merges by count', () => {
  // Words: "ab" x3, "abc" x1. Pairs: (a,##b) = 3 + 1 = 4, (##b,##c) = 1.
  const r = buildVocabDetailed(['ab ab', 'AB abc'], { size: 100, minFrequency: 2 });
  assert.deepEqual(r.vocab, [...VOCAB_SPECIALS, 'a', '##b', '##c', 'ab']);
  assert.deepEqual(r.stats, { texts: 2, totalWords: 4, uniqueWords: 2, alphabetSize: 3, merges: 1, stoppedBy: 'min-frequency' });
  // With min frequency 1, (ab,##c) = 1 merges too.
  assert.deepEqual(buildVocab(['ab ab', 'AB abc'], { size: 100, minFrequency: 1 }).slice(8), ['ab', 'abc']);
  // The size caps the learning.
  const capped = buildVocabDetailed(['ab ab', 'AB abc'], { size: 9, minFrequency: 1 });
  assert.equal(capped.vocab.length, 9);
  assert.equal(capped.stats.stoppedBy, 'size');
});

test('ties are broken by the merged string, independent of corpus order', () => {
  assert.deepEqual(buildVocab(['xz xy'], { size: 50, minFrequency: 1 }).slice(-2), ['xy', 'xz']);
  const texts = ['left lower lobe opacity', 'no pleural effusion', 'right upper lobe', 'pleural effusion, left'];
  const a = buildVocab(texts, { size: 200, minFrequency: 1 });
  const b = buildVocab([...texts].reverse(), { size: 200, minFrequency: 1 });
  assert.deepEqual(a, b);
  // Punctuation is its own word, so it is in the alphabet but never merged with letters.
  assert.ok(a.includes(','));
  assert.ok(!a.some((t) => t.length > 1 && t.includes(',')));
});

test('every training word tokenises without [UNK], even with a tiny vocabulary', () => {
  const texts = ['Effusión bilatérale', 'pneumothorax pneumothoraces 1.5cm', '中文 qxz'];
  const vocab = buildVocab(texts, { size: 40, minFrequency: 5 });
  const tok = WordPieceTokenizer.fromTokens(vocab);
  for (const t of texts) assert.ok(!tok.encode(t).inputIds.includes(tok.unkId), t);
  assert.deepEqual(tok.tokenize('effusion').slice(0, 2), ['e', '##f']);
});

test('sizes too small for the alphabet and bad options are config errors', () => {
  assert.throws(() => buildVocab(['abcdef'], { size: 8 }), (e) => isUserError(e) && /at least 11/.test((e as Error).message));
  assert.throws(() => buildVocab(['a'], { size: 0 }), (e) => isUserError(e));
  assert.throws(() => buildVocab(['a'], { size: 10, minFrequency: 0 }), (e) => isUserError(e));
});

test('IU X-ray reports: vocabulary covers every report, words and offsets rebuild the text', { skip: !fs.existsSync(iuEntries) && 'real-cxr data absent' }, () => {
  const entries = JSON.parse(fs.readFileSync(iuEntries, 'utf8')) as Record<string, string[]>;
  const reports = Object.values(entries).map((sentences) => sentences.join('. ') + '.');
  assert.ok(reports.length > 1000);
  const { vocab, stats } = buildVocabDetailed(reports, { size: 3000, minFrequency: 2 });
  assert.equal(vocab.length, 3000);
  assert.equal(stats.stoppedBy, 'size');
  const tok = WordPieceTokenizer.fromTokens(vocab);
  let pieces = 0;
  let words = 0;
  for (const text of reports) {
    const e = tok.encode(text);
    assert.ok(!e.inputIds.includes(tok.unkId), text);
    for (const w of e.words) assert.equal(text.slice(w.start, w.end), w.text);
    // The words, in order, are the text without its whitespace and punctuation (which get no word slot).
    assert.equal(e.words.map((w) => w.text).join(''), text.replace(/[^\p{L}\p{N}]/gu, ''));
    // Each word's pieces tile its span and spell its (lower-case) text.
    e.words.forEach((w, wi) => {
      const pos = e.wordIds.flatMap((id, t) => (id === wi ? [t] : []));
      assert.equal(e.offsets[pos[0]][0], w.start);
      assert.equal(e.offsets[pos[pos.length - 1]][1], w.end);
      assert.equal(pos.map((t) => e.tokens[t].replace(/^##/, '')).join(''), w.text.toLowerCase());
    });
    pieces += e.wordIds.filter((w) => w >= 0).length;
    words += e.words.length;
  }
  // A 3000-piece vocabulary learned on this corpus keeps most words whole.
  assert.ok(pieces / words < 1.1, `pieces per word ${pieces / words}`);
});
