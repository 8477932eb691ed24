import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isUserError } from '../../../src/core/errors';
import { batchWordsToPieceMatrix, WordPieceTokenizer, wordsToPieceMatrix } from '../../../src/core/text/wordpiece';
import { headingSpans } from '../../../src/core/data/report-text';

const fixtures = path.resolve(__dirname, '..', '..', 'fixtures', 'text');
const vocabFile = path.join(fixtures, 'vocab.txt');
const tok = WordPieceTokenizer.fromVocabFile(vocabFile);

// Fixture ids (vocab.txt line numbers, from 0):
// [PAD]0 [UNK]1 [CLS]2 [SEP]3 [MASK]4 pleural5 effusion6 left7 -8 sided9 1:10 .11 5:12 cm13 (14 )15
// ap16 no17 pneumo18 ##thorax19 ##s20 heart21 is22 normal23 size24 i25 ##i26 中27 文28 ,29 right30
// lung31 a32 ##a33 opacity34 small35 ##er36 x37 ##x38 the39 ##cm40 effus41 ##ion42
const ids = (text: string) => tok.encode(text).inputIds;

test('special token ids come from the vocabulary', () => {
  assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 1, 2, 3, 4]);
  assert.equal(tok.vocabSize, 43);
  assert.equal(tok.tokenId('##thorax'), 19);
  assert.equal(tok.tokenId('nonexistent'), 1);
});

test('accents are stripped and case folded: effusión -> effusion', () => {
  assert.deepEqual(ids('Pleural effusión'), [2, 5, 6, 3]);
});

test('punctuation splits and ## continuations', () => {
  // effusions = effusion + ##s (longest match beats effus + ##ion); 5cm = 5 + ##cm.
  assert.deepEqual(ids('PLEURAL EFFUSIONS, left-sided (AP) 1.5cm'), [2, 5, 6, 20, 29, 7, 8, 9, 14, 16, 15, 10, 11, 12, 40, 3]);
  assert.deepEqual(tok.tokenize('no pneumothorax'), ['no', 'pneumo', '##thorax']);
  assert.deepEqual(ids('smaller opacity'), [2, 35, 36, 34, 3]);
  assert.deepEqual(ids('xxxx is normal'), [2, 37, 38, 38, 38, 22, 23, 3]);
});

test('a word that cannot be matched completely becomes one [UNK]', () => {
  // "pneumothoraxs" matches fully; "xylophone" stops after "x" (no "##y"), so the whole word is [UNK].
  assert.deepEqual(ids('pneumothoraxs xylophone'), [2, 18, 19, 20, 1, 3]);
  const e = tok.encode('no xylophone');
  assert.deepEqual(e.offsets, [[0, 0], [0, 2], [3, 12], [0, 0]]);
});

test('words longer than 100 characters become [UNK]', () => {
  assert.deepEqual(ids('a'.repeat(101)), [2, 1, 3]);
  const hundred = ids('a'.repeat(100));
  assert.equal(hundred.length, 102);
  assert.deepEqual(hundred.slice(0, 3), [2, 32, 33]);
});

test('control characters and CJK characters', () => {
  assert.deepEqual(ids('le\u0000ft lu\u200bng \ufffdheart\u0007'), [2, 7, 31, 21, 3]);
  assert.deepEqual(ids('中文心 a中b'), [2, 27, 28, 1, 32, 27, 1, 3]);
});

test('offsets and words point into the original text even when lower-casing changes lengths', () => {
  const text = '\u0130 i\u0307 \u0130S Effusión';
  const e = tok.encode(text);
  assert.deepEqual(e.inputIds, [2, 25, 25, 22, 6, 3]);
  assert.deepEqual(e.offsets, [[0, 0], [0, 1], [2, 3], [5, 7], [8, 16], [0, 0]]);
  assert.deepEqual(e.wordIds, [-1, 0, 1, 2, 3, -1]);
  assert.deepEqual(e.words.map((w) => w.text), ['\u0130', 'i', '\u0130S', 'Effusión']);
  for (const w of e.words) assert.equal(text.slice(w.start, w.end), w.text);
  const pieces = tok.encode('Pneumothorax');
  assert.deepEqual(pieces.offsets.slice(1, 3), [[0, 6], [6, 12]]);
});

test('truncation keeps [CLS] ... [SEP] and only the words that kept a piece', () => {
  const e5 = tok.encode('no pneumothorax is normal', { maxLength: 5 });
  assert.deepEqual(e5.inputIds, [2, 17, 18, 19, 3]);
  assert.deepEqual(e5.words.map((w) => w.text), ['no', 'pneumothorax']);
  const e4 = tok.encode('no pneumothorax is normal', { maxLength: 4 });
  assert.deepEqual(e4.inputIds, [2, 17, 18, 3]);
  assert.deepEqual(e4.wordIds, [-1, 0, 1, -1]);
  assert.deepEqual(tok.encode('no pneumothorax', { maxLength: 2 }).inputIds, [2, 3]);
  assert.throws(() => tok.encode('x', { maxLength: 1 }), (e) => isUserError(e));
});

test('padding to max length with [PAD] and a zero attention mask', () => {
  const e = tok.encode('no', { maxLength: 6, padToMaxLength: true });
  assert.deepEqual(e.inputIds, [2, 17, 3, 0, 0, 0]);
  assert.deepEqual(e.attentionMask, [1, 1, 1, 0, 0, 0]);
  assert.deepEqual(e.wordIds, [-1, 0, -1, -1, -1, -1]);
  assert.deepEqual(e.tokens, ['[CLS]', 'no', '[SEP]', '[PAD]', '[PAD]', '[PAD]']);
  assert.deepEqual(e.offsets[4], [0, 0]);
  const batch = tok.encodeBatch(['no', 'heart is normal']);
  assert.deepEqual(batch.map((b) => b.inputIds), [[2, 17, 3, 0, 0], [2, 21, 22, 23, 3]]);
});

test('a literal [MASK] in the text is the mask token, as in HF', () => {
  const e = tok.encode('heart size is normal [MASK] lung');
  assert.deepEqual(e.inputIds, [2, 21, 24, 22, 23, 4, 31, 3]);
  assert.deepEqual(e.words[4], { text: '[MASK]', start: 21, end: 27 });
});

test('cased tokenizer (do_lower_case false)', () => {
  const cased = WordPieceTokenizer.fromVocabFile(vocabFile, { lowerCase: false });
  assert.deepEqual(cased.encode('Pleural pleural effusión').inputIds, [2, 1, 5, 1, 3]);
});

test('wordsToPieceMatrix maps pieces to word slots', () => {
  const e = tok.encode('no pneumothorax', { maxLength: 7, padToMaxLength: true });
  const m = wordsToPieceMatrix(e, 3);
  assert.deepEqual([...m.index], [-1, 0, 1, 1, -1, -1, -1]);
  assert.deepEqual([...m.mask], [1, 1, 0]);
  assert.equal(m.numWords, 2);
  const T = 7;
  assert.deepEqual([...m.assign.slice(0, T)], [0, 1, 0, 0, 0, 0, 0]);
  assert.deepEqual([...m.assign.slice(T, 2 * T)], [0, 0, 1, 1, 0, 0, 0]);
  assert.deepEqual([...m.assign.slice(2 * T)], [0, 0, 0, 0, 0, 0, 0]);
  const capped = wordsToPieceMatrix(e, 1);
  assert.deepEqual([...capped.index], [-1, 0, -1, -1, -1, -1, -1]);
  const b = batchWordsToPieceMatrix(tok.encodeBatch(['no', 'heart is']), 2);
  assert.deepEqual([...b.index], [-1, 0, -1, -1, -1, 0, 1, -1]);
  assert.deepEqual([...b.mask], [1, 0, 1, 1]);
});

test('tokenizer.json loads to the same tokenizer as vocab.txt', () => {
  const fromJson = WordPieceTokenizer.fromTokenizerJson(path.join(fixtures, 'tokenizer.json'));
  assert.equal(fromJson.vocabHash, tok.vocabHash);
  assert.equal(fromJson.vocabSize, tok.vocabSize);
  assert.equal(fromJson.lowerCase, true);
  for (const text of ['PLEURAL EFFUSIONS, left-sided (AP) 1.5cm', '\u0130S Effusión 中文', 'no [MASK] xylophone']) {
    assert.deepEqual(fromJson.encode(text), tok.encode(text));
  }
});

test('vocabHash is the sha256 of the vocab.txt text', () => {
  assert.equal(tok.vocabHash, createHash('sha256').update(fs.readFileSync(vocabFile)).digest('hex'));
  assert.equal(tok.vocabText(), fs.readFileSync(vocabFile, 'utf8'));
});

test('matches Hugging Face BertTokenizer / BertTokenizerFast reference outputs', () => {
  // hf-expected.json was produced by gen_hf_expected.py (transformers) on the same vocab.txt;
  // HF offsets count code points, ours UTF-16 units.
  const ref = JSON.parse(fs.readFileSync(path.join(fixtures, 'hf-expected.json'), 'utf8')) as {
    cases: { text: string; slow_ids: number[]; fast_ids: number[]; fast_offsets_codepoints: [number, number][]; fast_word_ids: number[] }[];
  };
  assert.ok(ref.cases.length >= 20);
  for (const c of ref.cases) {
    const e = tok.encode(c.text);
    const toUnits: number[] = [];
    let u = 0;
    for (const ch of c.text) { toUnits.push(u); u += ch.length; }
    toUnits.push(u);
    assert.deepEqual(e.inputIds, c.slow_ids, JSON.stringify(c.text));
    assert.deepEqual(e.inputIds, c.fast_ids, JSON.stringify(c.text));
    assert.deepEqual(e.offsets, c.fast_offsets_codepoints.map(([a, b]) => [toUnits[a], toUnits[b]]), JSON.stringify(c.text));
    // HF's words, less the punctuation and section headings that get no word slot here, renumbered.
    const headings = headingSpans(c.text);
    const dropped = new Set<number>();
    c.fast_word_ids.forEach((w, t) => {
      if (w < 0) return;
      const [s, end] = e.offsets[t];
      const text = c.text.slice(s, end);
      if (!/[\p{L}\p{N}]/u.test(text) && !/^\[MASK\]$/.test(text)) dropped.add(w);
      if (headings.some(([hs, he]) => s >= hs && end <= he)) dropped.add(w);
    });
    const kept = [...new Set(c.fast_word_ids.filter((w) => w >= 0 && !dropped.has(w)))];
    assert.deepEqual(e.wordIds, c.fast_word_ids.map((w) => (w < 0 || dropped.has(w) ? -1 : kept.indexOf(w))), JSON.stringify(c.text));
  }
});

test('punctuation and section headings stay in the encoder input but get no word slot', () => {
  const e = tok.encode('FINDINGS: heart is normal.');
  assert.deepEqual(e.words.map((w) => w.text), ['heart', 'is', 'normal']);
  // The synthetic reports are one line: IMPRESSION after a sentence's end is a heading too.
  assert.deepEqual(tok.encode('FINDINGS: heart is normal. IMPRESSION: normal heart.').words.map((w) => w.text), ['heart', 'is', 'normal', 'normal', 'heart']);
  // Every piece is still read by the encoder (ids and attention), only the word index is -1.
  assert.equal(e.tokens.filter((t) => t === '.').length, 1);
  assert.equal(e.wordIds[e.tokens.indexOf('.')], -1);
  assert.ok(e.attentionMask.every((m) => m === 1));
});

test('bad vocabulary files are user errors naming the file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-wp-'));
  const noUnk = path.join(dir, 'vocab.txt');
  fs.writeFileSync(noUnk, '[PAD]\n[CLS]\n[SEP]\n[MASK]\nno\n');
  assert.throws(() => WordPieceTokenizer.fromVocabFile(noUnk), (e) => isUserError(e) && /vocab\.txt.*\[UNK\]/.test((e as Error).message));
  assert.throws(() => WordPieceTokenizer.fromVocabFile(path.join(dir, 'missing.txt')), (e) => isUserError(e) && /missing\.txt: file not found/.test((e as Error).message));
  const badJson = path.join(dir, 'tokenizer.json');
  fs.writeFileSync(badJson, JSON.stringify({ model: { type: 'BPE', vocab: {} } }));
  assert.throws(() => WordPieceTokenizer.fromTokenizerJson(badJson), (e) => isUserError(e) && /model\.type/.test((e as Error).message));
  fs.writeFileSync(badJson, '{nope');
  assert.throws(() => WordPieceTokenizer.fromTokenizerJson(badJson), (e) => isUserError(e) && /not valid JSON/.test((e as Error).message));
});
