import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, UsageError } from '../../src/engine/args';
import { vocabBuildCommand, type VocabBuildSummary } from '../../src/engine/commands/vocab';
import { createEventSink } from '../../src/engine/events';
import { isUserError } from '../../src/core/errors';
import { WordPieceTokenizer } from '../../src/core/text/wordpiece';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => { stdout += String(chunk); return true; }) as typeof process.stdout.write;
  const errStream = { write: (chunk: string) => { stderr += chunk; return true; } } as unknown as NodeJS.WritableStream;
  try {
    const args = parseArgs(vocabBuildCommand.spec, argv);
    const code = await vocabBuildCommand.run({ args, events: createEventSink({ stderr: errStream }), tty: false });
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = write;
  }
}

/** A dataset whose train reports use only a-p letters and whose valid report adds "zzz". */
function dataset(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-vocab-'));
  fs.mkdirSync(path.join(dir, 'img'));
  fs.mkdirSync(path.join(dir, 'reports'));
  const rows = [
    { id: 'a', split: 'train', report: 'No pleural effusion. Heart normal.' },
    { id: 'b', split: 'train', report: 'Left pleural effusion.' },
    { id: 'c', split: 'train', report_file: 'reports/c.txt' },
    { id: 'd', split: 'valid', report: 'zzz' },
  ];
  fs.writeFileSync(path.join(dir, 'reports', 'c.txt'), 'Mild cardiomegaly; no effusion.\n');
  const lines = rows.map((r) => {
    fs.writeFileSync(path.join(dir, 'img', `${r.id}.png`), '');
    return JSON.stringify({ ...r, image: `img/${r.id}.png` });
  });
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), lines.join('\n') + '\n');
  return dir;
}

test('reclf vocab build writes a vocab.txt that covers the training reports', async () => {
  const dir = dataset();
  const out = path.join(dir, 'out', 'vocab.txt');
  const r = await run(['--data', dir, '--out', out, '--size', '60', '--min-frequency', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as VocabBuildSummary;
  assert.equal(s.texts, 3);
  assert.equal(s.unkRate, 0);
  assert.deepEqual(s.splits, ['train']);
  const tok = WordPieceTokenizer.fromVocabFile(out);
  assert.equal(tok.vocabSize, s.vocabSize);
  assert.equal(tok.vocabHash, s.vocabHash);
  assert.deepEqual(fs.readFileSync(out, 'utf8').split('\n').slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  // "effusion" occurs 3 times, so frequent merges reach the whole word.
  assert.deepEqual(tok.tokenize('Pleural effusion'), ['pleural', 'effusion']);
  // Only train reports were read: no "z" anywhere.
  assert.deepEqual(tok.tokenize('zzz'), ['[UNK]']);
  assert.match(r.stderr, /reading 3 reports/);
});

test('--splits selects reports; the text summary goes to stdout', async () => {
  const dir = dataset();
  const out = path.join(dir, 'vocab.txt');
  const r = await run(['--data', dir, '--out', out, '--splits', 'train,valid', '--min-frequency', '1']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Wrote .*vocab\.txt: \d+ tokens/);
  assert.match(r.stdout, /0\.00% \[UNK\] words/);
  assert.deepEqual(WordPieceTokenizer.fromVocabFile(out).tokenize('zzz'), ['zzz']);
});

test('user mistakes are reported without a stack', async () => {
  const dir = dataset();
  const out = path.join(dir, 'vocab.txt');
  await assert.rejects(run(['--data', path.join(dir, 'nope'), '--out', out]), (e) => isUserError(e) && /not found/.test((e as Error).message));
  await assert.rejects(run(['--data', dir, '--out', out, '--splits', 'dev']), (e) => e instanceof UsageError && /unknown split 'dev'/.test(e.message));
  await assert.rejects(run(['--data', dir, '--out', out, '--size', '10']), (e) => isUserError(e) && /too small/.test((e as Error).message));
  await assert.rejects(run(['--out', out]), (e) => e instanceof UsageError && /--data/.test(e.message));
  assert.ok(!fs.existsSync(out));
});
