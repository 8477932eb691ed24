// readConfigFile (issue 14): the published schema is checked before the CLI merges its flags (so a
// `train` group that is a number cannot be spread away), text.vocab must resolve inside the
// config's folder by real path, and a config that is /dev/zero or a folder is refused unread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readConfigFile } from '../../src/engine/run-config-file';
import { ConfigError } from '../../src/core/errors';

function configDir(): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-config-file-')));
}

function put(dir: string, value: unknown, name = 'run.reclf.json'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

test('schema violations are one-line ConfigErrors naming the file and field', () => {
  const dir = configDir();
  const cases: [unknown, RegExp][] = [
    [{ train: 5 }, /: train: expected an object, got 5$/],
    [{ model: { projDim: 7 } }, /: model\.projDim: must be >= 8, got 7$/],
    [{ model: { text: { dropout: 0.95 } } }, /: model\.text\.dropout: must be <= 0\.9, got 0\.95$/],
    [{ model: { image: { imageSize: 8192 } } }, /: model\.image\.imageSize: must be <= 2048, got 8192$/],
    [{ data: { maxImagePixels: -1 } }, /: data\.maxImagePixels: must be >= 1, got -1$/],
  ];
  for (const [value, re] of cases) {
    const file = put(dir, value);
    assert.throws(() => readConfigFile(file), (e: Error) => e instanceof ConfigError && e.message.startsWith(`${file}: `) && re.test(e.message), JSON.stringify(value));
  }
  assert.deepEqual(readConfigFile(put(dir, { train: { lr: 0.001 } })), { train: { lr: 0.001 } });
  // A run's config.json carries its provenance next to the config: kept, not validated as config.
  const run = { train: { lr: 0.001 }, provenance: { dataset: { path: '/data' } } };
  assert.deepEqual(readConfigFile(put(dir, run, 'config.json')), run);
});

test('text.vocab must stay in the config folder by text and by real path', () => {
  const dir = configDir();
  const outside = configDir();
  fs.writeFileSync(path.join(outside, 'vocab.txt'), '[PAD]\n[UNK]\n');
  fs.writeFileSync(path.join(dir, 'vocab.txt'), '[PAD]\n[UNK]\n');
  fs.symlinkSync(path.join(outside, 'vocab.txt'), path.join(dir, 'linked.txt'));
  fs.symlinkSync('vocab.txt', path.join(dir, 'inside-link.txt'));
  assert.throws(() => readConfigFile(put(dir, { text: { vocab: 'linked.txt' } })),
    (e: Error) => e instanceof ConfigError && e.field === 'text.vocab'
      && /: text\.vocab: linked\.txt resolves to .*vocab\.txt, outside the config's folder/.test(e.message));
  assert.throws(() => readConfigFile(put(dir, { text: { vocab: '../x/vocab.txt' } })), /must be a relative path inside the config's folder/);
  assert.throws(() => readConfigFile(put(dir, { text: { vocab: 'missing.txt' } })), /text\.vocab: file not found: missing\.txt/);
  assert.equal((readConfigFile(put(dir, { text: { vocab: 'inside-link.txt' } })).text as { vocab: string }).vocab, path.join(dir, 'vocab.txt'));
});

test('a config that is a device, a folder or missing is refused without reading it', () => {
  const dir = configDir();
  if (fs.existsSync('/dev/zero')) assert.throws(() => readConfigFile('/dev/zero'), { message: '/dev/zero: the config is a character device, not a regular file' });
  assert.throws(() => readConfigFile(dir), /the config is a folder, not a regular file/);
  assert.throws(() => readConfigFile(path.join(dir, 'none.json')), /none\.json: config file not found/);
  assert.throws(() => readConfigFile(put(dir, '{oops')), /not valid JSON/);
});
