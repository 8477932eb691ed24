// Bad ONNX models for `reclf explain --model`: metadata that disagrees with the graph or exceeds
// the schema maxima (max_length 1e8), broken tokenizer metadata (empty inline vocabulary, a
// vocabulary file that links out of the model's folder), outputs of the wrong shape at run time,
// files that are not models at all, devices and FIFOs. Variants of the bundled model keep its
// weights and change only its metadata.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { decodeModel } from '../../../src/core/export/onnx-decode';
import { encodeModel } from '../../../src/core/export/onnx-proto';
import { GraphBuilder } from '../../../src/core/export/graph-builder';
import { DataType } from '../../../src/core/export/onnx-proto';

export interface ModelCase {
  name: string;
  /** The --model argument. */
  model: string;
  /** 'ok', or the one-line refusal (after `reclf explain: `). */
  expect: 'ok' | RegExp;
}

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A contract-shaped model whose outputs are the wrong size only at run time (their sizes follow
 * the symbolic sequence length, so nothing can be checked when the session opens): with grid 4x4
 * and max_length 8, region_features comes out [1, 8, 1] (8 regions where 16 are read: the
 * issue's "NaN in every row"), or attention [1, 1, 8].
 */
function misshapedAtRunTime(which: 'region_features' | 'attention'): Uint8Array {
  const g = new GraphBuilder('misshaped');
  const px = g.input('pixel_values', DataType.FLOAT, ['batch', 1, 8, 8]);
  g.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  const mask = g.input('attention_mask', DataType.INT64, ['batch', 'sequence']);
  const flat = g.op('ReduceMean', [px], { axes: { kind: 'ints', value: [2, 3] }, keepdims: { kind: 'int', value: 0 } }); // [B, 1]
  const cube = g.op('Unsqueeze', [flat, g.constI([2])]); // [B, 1, 1]
  const perToken = g.op('Cast', [mask], { to: { kind: 'int', value: DataType.FLOAT } }); // [B, T]
  const attention = which === 'attention' ? g.op('Unsqueeze', [perToken, g.constI([1])]) : g.op('Expand', [cube, g.constI([1, 1, 16])]); // [B,1,T] | [B,1,16]
  const regions = which === 'region_features' ? g.op('Unsqueeze', [perToken, g.constI([2])]) : g.op('Expand', [cube, g.constI([1, 16, 1])]); // [B,T,1] | [B,16,1]
  const outs: [string, string, (string | number)[]][] = [
    ['image_embedding', g.op('Identity', [flat]), ['batch', 'd']],
    ['text_embedding', g.op('Identity', [flat]), ['batch', 'd']],
    ['region_features', regions, ['batch', 'm', 'd']],
    ['word_features', g.op('Identity', [cube]), ['batch', 'n', 'd']],
    ['attention', attention, ['batch', 'n', 'm']],
    ['relation', g.op('Identity', [cube]), ['batch', 'n', 'n']],
    ['importance', g.op('Identity', [flat]), ['batch', 'n']],
    ['local_score', g.op('ReduceMean', [flat], { axes: { kind: 'ints', value: [1] }, keepdims: { kind: 'int', value: 0 } }), ['batch']],
  ];
  for (const [name, v, shape] of outs) g.output(v, name, DataType.FLOAT, shape);
  return g.build({
    image_size: '8', grid: '[4,4]', normalisation: '{"mean":0.5,"std":0.5}', max_words: '1', max_length: '8', method: 'test',
    tokenizer: '{"type":"wordpiece","lower_case":true}', vocab: [...SPECIALS, 'heart', 'size', 'normal', '.'].join('\n'),
  });
}

/** A graph with the contract's inputs and one output only. */
function missingOutputs(): Uint8Array {
  const g = new GraphBuilder('partial');
  const px = g.input('pixel_values', DataType.FLOAT, ['batch', 1, 8, 8]);
  g.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  g.input('attention_mask', DataType.INT64, ['batch', 'sequence']);
  g.output(g.op('ReduceMean', [px], { axes: { kind: 'ints', value: [2, 3] }, keepdims: { kind: 'int', value: 0 } }), 'image_embedding', DataType.FLOAT, ['batch', 1]);
  return g.build({ image_size: '8', grid: '[2,2]' });
}

/** Writes every model case under `dir` (a real path); `bundled` is models/reclf-default.onnx. */
export function modelCases(dir: string, bundled: string): ModelCase[] {
  fs.mkdirSync(dir, { recursive: true });
  const base = decodeModel(fs.readFileSync(bundled));
  const put = (name: string, bytes: Uint8Array | string): string => {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
    return file;
  };
  /** The bundled model with metadata keys changed (undefined removes a key). */
  const variant = (name: string, meta: Record<string, string | undefined>): string => {
    const metadata = { ...base.metadata };
    for (const [k, v] of Object.entries(meta)) {
      if (v === undefined) delete metadata[k];
      else metadata[k] = v;
    }
    return put(name, encodeModel({ ...base, metadata }));
  };
  const file = (p: string): string => escape(p);
  const cases: ModelCase[] = [];
  const add = (name: string, model: string, expect: ModelCase['expect']): void => { cases.push({ name, model, expect }); };

  add('the bundled model (control)', bundled, 'ok');
  add('the bundled model re-encoded (control)', variant('same.onnx', {}), 'ok');
  add("metadata image_size 256, graph 128", variant('size.onnx', { image_size: '256' }), /size\.onnx: ONNX metadata 'image_size' is 256 but the graph's input 'pixel_values' has shape \[batch, 1, 128, 128\]/);
  add("metadata image_size 100000", variant('size-huge.onnx', { image_size: '100000' }), /ONNX metadata 'image_size' is 100000, more than 2048/);
  add('metadata image_size "big"', variant('size-text.onnx', { image_size: 'big' }), /ONNX metadata 'image_size' must be a positive integer, got "big"/);
  add('metadata max_length 1e8', variant('len.onnx', { max_length: '1e8' }), /len\.onnx: ONNX metadata 'max_length' is 100000000, more than 512/);
  add('metadata max_length 0', variant('len0.onnx', { max_length: '0' }), /ONNX metadata 'max_length' must be a positive integer/);
  add('metadata max_words 1e8', variant('words.onnx', { max_words: '1e8' }), /ONNX metadata 'max_words' is 100000000, more than 512/);
  add('metadata grid 4x4, graph 8x8', variant('grid.onnx', { grid: '[4,4]' }), /ONNX metadata 'grid' is 4x4 \(16 regions\) but the graph's output/);
  add('metadata grid "x"', variant('grid-text.onnx', { grid: 'x' }), /ONNX metadata 'grid' must be \[rows, cols\], got x/);
  add('metadata normalisation std 0', variant('norm.onnx', { normalisation: '{"mean":0.5,"std":0}' }), /ONNX metadata 'normalisation' must be/);
  add('metadata without normalisation', variant('nonorm.onnx', { normalisation: undefined }), /ONNX metadata has no 'normalisation'/);
  add('metadata without tokenizer', variant('notok.onnx', { tokenizer: undefined }), /ONNX metadata has no 'tokenizer'/);
  add('metadata extra_inputs names a missing input', variant('extra.onnx', { extra_inputs: '["entity_ids"]' }), /metadata 'extra_inputs' lists 'entity_ids' but the graph has no such input/);
  add('empty inline vocabulary', variant('vocab-empty.onnx', { vocab: '\n \n' }), new RegExp(`${file(path.join(dir, 'vocab-empty.onnx'))}: ONNX metadata 'vocab' \\(the inline vocabulary\\) is empty`));
  add('inline vocabulary without special tokens', variant('vocab-nospecial.onnx', { vocab: 'heart\nlungs\n', vocab_hash: undefined }), /vocab-nospecial\.onnx \(metadata 'vocab'\): special token \[CLS\] \(cls\) is missing/);
  add('vocab_hash of another vocabulary', variant('vocab-hash.onnx', { vocab_hash: '0'.repeat(64) }), /vocab-hash\.onnx: the vocabulary's sha256 .* does not match the model's vocab_hash/);
  const noInline = { vocab: undefined };
  add('no vocabulary anywhere', variant('novocab.onnx', noInline), /novocab\.onnx: no vocabulary inline and no novocab\.vocab\.txt next to the model/);
  const escFile = variant('esc/m.onnx', noInline);
  const outsideVocab = put('../models-outside/v.txt', [...SPECIALS, 'heart'].join('\n'));
  fs.symlinkSync(outsideVocab, path.join(dir, 'esc', 'm.vocab.txt'));
  add('vocabulary file links out of the model folder', escFile, /m\.onnx: vocabulary m\.vocab\.txt resolves to .*outside the model's folder/);
  const dirVocab = variant('dirvocab/m.onnx', noInline);
  fs.mkdirSync(path.join(dir, 'dirvocab', 'm.vocab.txt'));
  add('vocabulary file is a folder', dirVocab, /m\.vocab\.txt is a folder, not a regular file/);
  const zeroVocab = variant('zerovocab/m.onnx', noInline);
  fs.symlinkSync('/dev/zero', path.join(dir, 'zerovocab', 'm.vocab.txt'));
  add('vocabulary file links to /dev/zero', zeroVocab, /m\.vocab\.txt resolves to \/dev\/zero, outside the model's folder/);
  const inVocab = variant('invocab/m.onnx', noInline);
  put('invocab/real-vocab.txt', base.metadata.vocab);
  fs.symlinkSync('real-vocab.txt', path.join(dir, 'invocab', 'm.vocab.txt'));
  add('vocabulary file links inside the model folder (accepted)', inVocab, 'ok');
  add('outputs of the wrong size at run time (region_features)', put('misshaped-regions.onnx', misshapedAtRunTime('region_features')), /misshaped-regions\.onnx: output 'region_features' has shape \[1, 8, 1\], expected \[1, 16, 1\]/);
  add('outputs of the wrong size at run time (attention)', put('misshaped-attention.onnx', misshapedAtRunTime('attention')), /misshaped-attention\.onnx: attention has 8 regions but metadata grid is 4x4/);
  add('contract outputs missing', put('partial.onnx', missingOutputs()), /partial\.onnx: does not follow the RECLF ONNX model contract: .*missing output 'text_embedding'.*missing output 'attention'/);
  const bytes = fs.readFileSync(bundled);
  add('random bytes', put('random.onnx', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256))), /random\.onnx: (not an ONNX model|onnxruntime cannot load the model)/);
  add('the first half of a model', put('half.onnx', bytes.subarray(0, bytes.length >> 1)), /half\.onnx: (not an ONNX model|onnxruntime cannot load the model)/);
  add('an empty file', put('empty.onnx', ''), /empty\.onnx: (not an ONNX model|onnxruntime cannot load the model|the ONNX model is empty)/);
  add('a text file', put('text.onnx', 'this is not a model\n'), /text\.onnx: (not an ONNX model|onnxruntime cannot load the model)/);
  add('a folder', path.join(dir, 'dirvocab'), /dirvocab: .*(is a folder|EISDIR)/);
  add('a missing file', path.join(dir, 'missing.onnx'), /missing\.onnx: .*(not found|ENOENT)/);
  if (fs.existsSync('/dev/zero')) add('/dev/zero', '/dev/zero', /\/dev\/zero: .*is a character device, not a regular file/);
  const fifo = path.join(dir, 'fifo.onnx');
  if (spawnSync('mkfifo', [fifo]).status === 0) add('a FIFO', fifo, /fifo\.onnx: .*is a FIFO \(named pipe\), not a regular file/);
  return cases;
}
