// Bad run configs for `reclf train --config`: values outside the published schema (the sizes
// that used to crash or exhaust memory: imageSize 100000, widths 100000, maxLength 100000; the
// ones accepted silently: projDim 7, headHidden 7, text.hidden 7, text.intermediate 7,
// text.dropout 0.95, a `train` group that is a number), shapes the schema cannot see (hidden not
// divisible by heads), vocabularies that leave the config's folder, and files that are not configs.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tinyConfig } from '../../helpers/tiny';

export interface ConfigCase {
  name: string;
  /** The --config argument. */
  file: string;
  /** 'ok' (trains its one step), or the one-line refusal (after `reclf train: `). */
  expect: 'ok' | RegExp;
}

type Json = Record<string, unknown>;

/** tinyConfig with `patch` applied at dotted paths (undefined deletes). */
function patched(patch: Record<string, unknown>): Json {
  const cfg = JSON.parse(JSON.stringify(tinyConfig())) as Json;
  for (const [key, value] of Object.entries(patch)) {
    const parts = key.split('.');
    let o = cfg;
    for (const p of parts.slice(0, -1)) {
      if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
      o = o[p] as Json;
    }
    if (value === undefined) delete o[parts.at(-1)!];
    else o[parts.at(-1)!] = value;
  }
  return cfg;
}

export const VOCAB_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'heart', 'size', 'normal', 'no', 'effusion', 'lungs', 'clear', '.'];

/** Writes every config case under `dir` (a real path). */
export function configCases(dir: string, outside: string): ConfigCase[] {
  fs.mkdirSync(dir, { recursive: true });
  const cases: ConfigCase[] = [];
  let n = 0;
  const write = (data: string | Buffer, sub = ''): string => {
    const file = path.join(dir, sub, `c${String(n++).padStart(3, '0')}.reclf.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
    return file;
  };
  const add = (name: string, file: string, expect: ConfigCase['expect']): void => { cases.push({ name, file, expect }); };
  /** A config with `patch`, refused naming `field` with `reason`. */
  const schema = (name: string, patch: Record<string, unknown>, field: string, reason: RegExp): void => {
    const file = write(JSON.stringify(patched(patch)));
    add(name, file, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${field.replace(/[.[\]]/g, '\\$&')}: ${reason.source}`));
  };

  add('the tiny config (control)', write(JSON.stringify(patched({}))), 'ok');
  add('with $schema (control)', write(JSON.stringify({ $schema: './schemas/reclf-config.schema.json', ...patched({}) })), 'ok');
  schema('imageSize 100000', { 'model.image.imageSize': 100000 }, 'model.image.imageSize', /must be <= 2048, got 100000/);
  schema('imageSize 8192', { 'model.image.imageSize': 8192 }, 'model.image.imageSize', /must be <= 2048/);
  schema('imageSize 0', { 'model.image.imageSize': 0 }, 'model.image.imageSize', /must be >= 32/);
  schema('imageSize 33.5', { 'model.image.imageSize': 33.5 }, 'model.image.imageSize', /expected an integer/);
  schema('imageSize "64"', { 'model.image.imageSize': '64' }, 'model.image.imageSize', /expected an integer, got "64"/);
  schema('CNN width 100000', { 'model.image.widths': [100000, 8, 16, 16] }, 'model.image.widths[0]', /must be <= \d+/);
  schema('CNN widths of 2 stages', { 'model.image.widths': [8, 8] }, 'model.image.widths', /expected at least 4 items, got 2/);
  schema('CNN blocks 1000', { 'model.image.blocks': [1000, 1, 1, 1] }, 'model.image.blocks[0]', /must be <= \d+/);
  schema('image encoder "resnet9000"', { 'model.image.name': 'resnet9000' }, 'model.image.name', /expected one of cnn-small/);
  schema('text.maxLength 100000', { 'model.text.maxLength': 100000 }, 'model.text.maxLength', /must be <= 512, got 100000/);
  schema('projDim 7', { 'model.projDim': 7 }, 'model.projDim', /must be >= 8, got 7/);
  schema('headHidden 7', { 'model.headHidden': 7 }, 'model.headHidden', /must be >= 8, got 7/);
  schema('text.hidden 7', { 'model.text.hidden': 7 }, 'model.text.hidden', /must be >= 8, got 7/);
  schema('text.intermediate 7', { 'model.text.intermediate': 7 }, 'model.text.intermediate', /must be >= 8, got 7/);
  schema('text.dropout 0.95', { 'model.text.dropout': 0.95 }, 'model.text.dropout', /must be <= 0\.9, got 0\.95/);
  schema('text.layers 1000', { 'model.text.layers': 1000 }, 'model.text.layers', /must be <= 64/);
  schema('text.heads 0', { 'model.text.heads': 0 }, 'model.text.heads', /must be >= 1/);
  schema('maxWords 100000', { 'model.maxWords': 100000 }, 'model.maxWords', /must be <= 512/);
  schema('train a number', { train: 5 }, 'train', /expected an object, got 5/);
  schema('train a string', { train: 'fast' }, 'train', /expected an object, got "fast"/);
  schema('train null', { train: null }, 'train', /expected an object, got null/);
  schema('train a list', { train: [] }, 'train', /expected an object, got an array/);
  schema('model a list', { model: [] }, 'model', /expected an object, got an array/);
  schema('a misspelt group', { trian: { lr: 1 } }, 'trian', /unknown field \(allowed: /);
  schema('an unknown nested field', { 'model.image.size': 64 }, 'model.image.size', /unknown field/);
  schema('train.lr "fast"', { 'train.lr': 'fast' }, 'train.lr', /expected a number, got "fast"/);
  schema('train.lr -1', { 'train.lr': -1 }, 'train.lr', /must be/);
  schema('batchSize 1', { 'train.batchSize': 1 }, 'train.batchSize', /must be >= 2/);
  schema('batchSize 1e9', { 'train.batchSize': 1e9 }, 'train.batchSize', /must be <= 4096/);
  schema('epochs 0', { 'train.epochs': 0 }, 'train.epochs', /must be >= 1/);
  schema('maxSteps -1', { 'train.maxSteps': -1 }, 'train.maxSteps', /must be >= 0/);
  schema('data.workers 1000', { 'data.workers': 1000 }, 'data.workers', /must be <= 64/);
  schema('data.maxInvalidShare 2', { 'data.maxInvalidShare': 2 }, 'data.maxInvalidShare', /must be <= 1/);
  schema('data.maxImagePixels 0', { 'data.maxImagePixels': 0 }, 'data.maxImagePixels', /must be >= 1/);
  schema('method.name "bogus"', { 'method.name': 'bogus' }, 'method.name', /expected one of convirt/);
  schema('backend "tpu"', { backend: 'tpu' }, 'backend', /expected one of auto/);
  schema('text.vocabSize 5', { 'text.vocabSize': 5 }, 'text.vocabSize', /must be >= 16/);
  schema('augment.rotation -5', { 'data.augment.rotation': -5 }, 'data.augment.rotation', /must be >= 0/);
  // Beyond the schema's reach: checked by the resolvers, still one line naming the field.
  add('augment.cropScale [0, 0]', write(JSON.stringify(patched({ 'data.augment': { enabled: true, cropScale: [0, 0] } }))), /data\.augment\.cropScale/);
  add('augment.scale [2, 1] (min above max)', write(JSON.stringify(patched({ 'data.augment': { enabled: true, scale: [2, 1] } }))), /data\.augment\.scale/);
  add('text.hidden 30 with 4 heads', write(JSON.stringify(patched({ 'model.text.hidden': 30, 'model.text.heads': 4 }))), /model\.text\.(hidden|heads)/);
  add('vit patch size that does not divide the image', write(JSON.stringify(patched({ 'model.image': { name: 'vit-tiny', imageSize: 33, patchSize: 16 } }))), /model\.image\.(patchSize|imageSize)/);

  // text.vocab: a file the config names, contained in the config's folder by its real path.
  const vdir = (name: string): string => path.join('vocab', name);
  const withVocab = (sub: string, vocab: string): string => write(JSON.stringify(patched({ 'text.vocab': vocab })), sub);
  fs.writeFileSync(path.join(outside, 'vocab.txt'), VOCAB_TOKENS.join('\n') + '\n');
  const link = (sub: string, name: string, target: string): void => {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
    fs.symlinkSync(target, path.join(dir, sub, name));
  };
  link(vdir('out'), 'v.txt', path.join(outside, 'vocab.txt'));
  add('text.vocab symlink out of the config folder', withVocab(vdir('out'), 'v.txt'), /text\.vocab: v\.txt resolves to .*vocab\.txt, outside the config's folder/);
  add('text.vocab ../', withVocab(vdir('dots'), '../../outside-vocab.txt'), /text\.vocab '\.\.\/\.\.\/outside-vocab\.txt' must be a relative path inside the config's folder/);
  add('text.vocab absolute', withVocab(vdir('abs'), path.join(outside, 'vocab.txt')), /text\.vocab '.*' must be a relative path inside the config's folder/);
  link(vdir('zero'), 'v.txt', '/dev/zero');
  add('text.vocab symlink to /dev/zero', withVocab(vdir('zero'), 'v.txt'), /text\.vocab: v\.txt resolves to \/dev\/zero, outside the config's folder/);
  fs.mkdirSync(path.join(dir, vdir('folder'), 'v.txt'), { recursive: true });
  add('text.vocab a folder', withVocab(vdir('folder'), 'v.txt'), /text\.vocab: v\.txt is a folder, not a regular file/);
  add('text.vocab missing', withVocab(vdir('missing'), 'v.txt'), /text\.vocab: file not found: v\.txt/);
  fs.mkdirSync(path.join(dir, vdir('empty')), { recursive: true });
  fs.writeFileSync(path.join(dir, vdir('empty'), 'v.txt'), '');
  add('text.vocab an empty file', withVocab(vdir('empty'), 'v.txt'), /v\.txt.*(empty|no tokens|special token)/);
  fs.mkdirSync(path.join(dir, vdir('binary')), { recursive: true });
  fs.writeFileSync(path.join(dir, vdir('binary'), 'v.txt'), Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 131) % 256)));
  add('text.vocab random bytes', withVocab(vdir('binary'), 'v.txt'), /v\.txt/);
  fs.mkdirSync(path.join(dir, vdir('in')), { recursive: true });
  fs.writeFileSync(path.join(dir, vdir('in'), 'real.txt'), VOCAB_TOKENS.join('\n') + '\n');
  link(vdir('in'), 'v.txt', 'real.txt');
  add('text.vocab symlink inside the config folder (accepted)', withVocab(vdir('in'), 'v.txt'), 'ok');

  // Files that are not configs.
  const plain = (name: string, data: string | Buffer, expect: RegExp): void => add(name, write(data), expect);
  plain('not JSON', '{ "train": ', /not valid JSON/);
  plain('an empty file', '', /not valid JSON/);
  plain('a JSON array', '[1, 2]', /expected a JSON object/);
  plain('a JSON string', '"config"', /expected a JSON object/);
  plain('a UTF-8 BOM', '\ufeff' + JSON.stringify(patched({})), /not valid JSON/);
  plain('JSON with comments', '// my config\n' + JSON.stringify(patched({})), /not valid JSON/);
  plain('an array nested 100,000 deep', `{"data": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, /data: expected an object, got an array|not valid JSON/);
  plain('17 MB of whitespace', Buffer.alloc(17 * 1024 * 1024, 0x20), /is 17 MiB, more than the 16 MiB limit/);
  add('a missing file', path.join(dir, 'missing.reclf.json'), /missing\.reclf\.json: config file not found/);
  add('a folder', path.join(dir, 'vocab'), /vocab: the config is a folder, not a regular file|vocab: .*is a folder/);
  if (fs.existsSync('/dev/zero')) add('/dev/zero', '/dev/zero', /\/dev\/zero: .*is a character device, not a regular file/);
  const fifo = path.join(dir, 'fifo.reclf.json');
  if (spawnSync('mkfifo', [fifo]).status === 0) add('a FIFO', fifo, /fifo\.reclf\.json: .*is a FIFO \(named pipe\), not a regular file/);
  return cases;
}
