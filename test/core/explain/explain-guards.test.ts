// What explain refuses before it runs a model (issue 14): a vocabulary file that leads out of the
// model's folder, an empty inline vocabulary (the error names the model file), metadata sizes past
// the schema maxima, and reports that info and train refuse too (zero-width only, oversized).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { explainImage, readExplainMeta, tokenizerFor, type ExplainModel } from '../../../src/core/explain/explain';
import { WordPieceTokenizer } from '../../../src/core/text';
import { DataError } from '../../../src/core/errors';

const TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'clear', 'lungs', '.'];
const TOKENIZER_META = JSON.stringify({ type: 'wordpiece', lower_case: true, strip_accents: true, vocab: 'inline' });

function modelDir(): { dir: string; file: string } {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-explain-guard-')));
  const file = path.join(dir, 'm.onnx');
  fs.writeFileSync(file, 'not read here');
  return { dir, file };
}

test('an empty or unusable inline vocabulary is an error naming the model file', () => {
  const { file } = modelDir();
  for (const vocab of ['\n', '  \n \n']) {
    assert.throws(() => tokenizerFor(file, { tokenizer: TOKENIZER_META, vocab }),
      (e: Error) => e instanceof DataError && e.message === `${file}: ONNX metadata 'vocab' (the inline vocabulary) is empty` && e.field === 'vocab');
  }
  assert.throws(() => tokenizerFor(file, { tokenizer: TOKENIZER_META, vocab: 'clear\nlungs\n' }),
    (e: Error) => e.message.startsWith(`${file} (metadata 'vocab'): special token [CLS] (cls) is missing`));
  assert.equal(tokenizerFor(file, { tokenizer: TOKENIZER_META, vocab: TOKENS.join('\n') + '\n' }).vocabSize, TOKENS.length);
});

test('<model>.vocab.txt must be a regular file whose real path stays in the model folder', () => {
  const { dir, file } = modelDir();
  const meta = { tokenizer: TOKENIZER_META };
  assert.throws(() => tokenizerFor(file, meta), { message: `${file}: no vocabulary inline and no m.vocab.txt next to the model` });
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-explain-guard-out-'));
  fs.writeFileSync(path.join(outside, 'v.txt'), TOKENS.join('\n') + '\n');
  fs.symlinkSync(path.join(outside, 'v.txt'), path.join(dir, 'm.vocab.txt'));
  assert.throws(() => tokenizerFor(file, meta), (e: Error) => e instanceof DataError && e.field === 'vocab'
    && e.message.startsWith(`${file}: vocabulary m.vocab.txt resolves to `) && /outside the model's folder/.test(e.message));
  fs.rmSync(path.join(dir, 'm.vocab.txt'));
  fs.mkdirSync(path.join(dir, 'm.vocab.txt'));
  assert.throws(() => tokenizerFor(file, meta), /m\.vocab\.txt is a folder, not a regular file/);
  fs.rmdirSync(path.join(dir, 'm.vocab.txt'));
  if (spawnSync('mkfifo', [path.join(dir, 'm.vocab.txt')]).status === 0) {
    assert.throws(() => tokenizerFor(file, meta), /FIFO/);
    fs.rmSync(path.join(dir, 'm.vocab.txt'));
  }
  // A link that stays in the folder is fine.
  fs.writeFileSync(path.join(dir, 'real.txt'), TOKENS.join('\n') + '\n');
  fs.symlinkSync('real.txt', path.join(dir, 'm.vocab.txt'));
  assert.equal(tokenizerFor(file, meta).vocabSize, TOKENS.length);
});

test('readExplainMeta bounds max_length, max_words and image_size by the config schema maxima', () => {
  const base = { image_size: '128', grid: '[8,8]', normalisation: '{"mean":0.5,"std":0.5}', max_words: '48', max_length: '64' };
  assert.equal(readExplainMeta(base, 'm.onnx').maxLength, 64);
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ max_length: '1e8' }, 'max_length', /^m\.onnx: ONNX metadata 'max_length' is 100000000, more than 512/],
    [{ image_size: '100000' }, 'image_size', /^m\.onnx: ONNX metadata 'image_size' is 100000, more than 2048/],
    [{ max_words: '100000' }, 'max_words', /^m\.onnx: ONNX metadata 'max_words' is 100000, more than 512/],
    [{ max_length: '0' }, 'max_length', /must be a positive integer/],
  ];
  for (const [meta, field, re] of cases) {
    assert.throws(() => readExplainMeta({ ...base, ...meta }, 'm.onnx'), (e: Error) => e instanceof DataError && e.field === field && re.test(e.message));
  }
});

test('explainImage refuses the reports info and train refuse, before running the model', async () => {
  const model = {
    meta: { imageSize: 32, grid: [2, 2], mean: 0.5, std: 0.5, maxWords: 8, maxLength: 16, method: 'reclf' },
    tokenizer: WordPieceTokenizer.fromTokens(TOKENS),
    session: { run: () => { throw new Error('the model must not run'); } },
    info: { name: 'm', method: 'reclf', source: 'onnx', path: 'm.onnx' },
  } as unknown as ExplainModel;
  const image = { width: 4, height: 4, data: new Float32Array(16) };
  await assert.rejects(explainImage(model, image, { report: '\u200b\u200b' }), /^DataError: report: the report has no words/);
  await assert.rejects(explainImage(model, image, { report: ' \n ', reportPath: 'r.txt' }), { message: 'r.txt: the report is empty' });
  await assert.rejects(explainImage(model, image, { report: 'a'.repeat(1024 * 1024 + 1) }), /the report is 1\.0 MiB, more than the 1 MiB limit/);
  await assert.rejects(explainImage(model, image, { report: 'Clear lungs.' }), /the model must not run/);
});
