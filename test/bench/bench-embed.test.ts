import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  benchEmbed, formatEmbedReport, IMAGE_OUTPUTS, pruneModel, TEXT_OUTPUTS, timingOf, torchEmbedConfig,
} from '../../src/bench/bench-embed';
import { torchAvailable } from '../../src/bench/bench-ops';
import { attr, DataType, GraphBuilder } from '../../src/core/export/graph-builder';
import { encodeModel } from '../../src/core/export/onnx-proto';
import { decodeModel } from '../../src/core/export/onnx-decode';
import { MAX_ONNX_BYTES } from '../../src/core/runtime/onnx-session';
import { DataError } from '../../src/core/errors';

const repoRoot = path.resolve(__dirname, '..', '..');
const MODEL = path.join(repoRoot, 'models', 'reclf-default.onnx');
const noModel = !fs.existsSync(MODEL) && 'bundled model absent';
const TORCH = torchAvailable();

/** y = relu(x * w + b), z = x - 1 (a second, independent branch), with attributes of each kind. */
function tinyGraph(): Uint8Array {
  const g = new GraphBuilder('tiny');
  const x = g.input('x', DataType.FLOAT, ['batch', 3]);
  const w = g.weight('w', [3], [1, -2, 0.5]);
  const b = g.weight('b', [3], [0.25, 0.25, -4]);
  const h = g.op('Add', [g.op('Mul', [x, w]), b]);
  const y = g.op('LeakyRelu', [h], { alpha: attr.f(0.5) });
  g.output(g.op('ReduceSum', [y, g.constI([-1])], { keepdims: attr.i(1) }), 'y', DataType.FLOAT, ['batch', 1]);
  g.output(g.op('Sub', [x, g.constF(1)]), 'z', DataType.FLOAT, ['batch', 3]);
  return g.build({ note: 'hello' }, 'doc');
}

test('decodeModel inverts the encoder: re-encoding the decoded model gives the same bytes', () => {
  const bytes = tinyGraph();
  const m = decodeModel(bytes);
  assert.equal(m.opsetVersion, 17);
  assert.deepEqual(m.metadata, { note: 'hello' });
  assert.deepEqual(m.graph.inputs, [{ name: 'x', elemType: 1, shape: ['batch', 3] }]);
  assert.deepEqual(m.graph.outputs.map((o) => o.name), ['y', 'z']);
  const leaky = m.graph.nodes.find((n) => n.opType === 'LeakyRelu')!;
  assert.deepEqual(leaky.attributes, { alpha: { kind: 'float', value: 0.5 } });
  const neg = m.graph.initializers.find((t) => t.dataType === 7)!;
  assert.deepEqual(Array.from(new BigInt64Array(neg.raw.slice().buffer)), [-1n]);
  assert.deepEqual(Buffer.from(encodeModel(m)), Buffer.from(bytes));
});

test('pruneModel keeps only what the requested outputs need, and the pruned graph runs', async () => {
  const m = decodeModel(tinyGraph());
  const z = pruneModel(m, ['z']);
  assert.deepEqual(z.graph.nodes.map((n) => n.opType), ['Sub', 'Identity']);
  assert.equal(z.graph.initializers.length, 1);
  assert.deepEqual(z.graph.outputs.map((o) => o.name), ['z']);
  const y = pruneModel(m, ['y']);
  assert.deepEqual(y.graph.initializers.map((t) => t.name).filter((n) => n === 'w' || n === 'b').sort(), ['b', 'w']);
  assert.throws(() => pruneModel(m, ['nope']), /no output 'nope'/);
  const s = await ort.InferenceSession.create(encodeModel(y));
  const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 1, 1]), [1, 3]) });
  // h = [1.25, -1.75, -3.5] -> leaky(0.5) = [1.25, -0.875, -1.75] -> sum -1.375
  assert.ok(Math.abs((out.y.data as Float32Array)[0] + 1.375) < 1e-6);
  await s.release();
});

test('timingOf: median per batch and items per second', () => {
  assert.deepEqual(timingOf([30, 10, 20], 4), { msPerBatch: 20, p90MsPerBatch: 30, itemsPerS: 200 });
});

test('torchEmbedConfig reads the bundled model\'s architecture from its weights and graph', { skip: noModel }, () => {
  const m = decodeModel(fs.readFileSync(MODEL));
  const cfg = torchEmbedConfig(m, MODEL);
  assert.equal(cfg.image.name, 'cnn-small');
  assert.equal(cfg.image.imageSize, 128);
  assert.equal(cfg.image.widths.length, 4);
  assert.equal(cfg.projDim, 128);
  assert.equal(cfg.text.hidden, 128);
  assert.equal(cfg.text.layers, 2);
  assert.equal(cfg.text.maxLength, 64);
  assert.equal(cfg.text.hidden % cfg.text.heads, 0);
  // build:model trains the grounding preset: regions from stage 2 pooled to the 8x8 grid, with
  // positions; word features from the embedding layer (the metadata's word_layer).
  assert.deepEqual(
    { stage: cfg.image.localStage, pooling: cfg.image.localPooling, positions: cfg.regionPositions, wordLayer: cfg.text.localLayer },
    { stage: 2, pooling: true, positions: true, wordLayer: 0 },
  );
  const bad = decodeModel(fs.readFileSync(MODEL));
  bad.metadata.word_layer = '7';
  assert.throws(() => torchEmbedConfig(bad, MODEL), /'word_layer' must be a layer from 0 to 2, got 7/);
  const img = pruneModel(m, IMAGE_OUTPUTS);
  assert.deepEqual(img.graph.inputs.map((i) => i.name), ['pixel_values']);
  assert.ok(img.graph.initializers.every((t) => !t.name.startsWith('text_encoder.')));
  const txt = pruneModel(m, TEXT_OUTPUTS);
  assert.deepEqual(txt.graph.inputs.map((i) => i.name).sort(), ['attention_mask', 'input_ids', 'word_ids']);
  assert.ok(txt.graph.initializers.every((t) => !t.name.startsWith('img_encoder.')));
});

const tiny = { batch: 2, repeats: 1, warmup: 0, threads: 1, seed: 0, tolerance: 1e-3 };

test('benchEmbed --model reads only a regular file within MAX_ONNX_BYTES (no folder, device, FIFO or oversized file)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-bench-model-'));
  try {
    // The folder first: without the guard it fails differently (EISDIR), where /dev/zero would grow without end.
    await assert.rejects(benchEmbed(dir), (e: Error) => e instanceof DataError && e.message === `${dir}: the ONNX model is a folder, not a regular file`);
    await assert.rejects(benchEmbed(path.join(dir, 'none.onnx')), /none\.onnx: ONNX model file not found/);
    const big = path.join(dir, 'big.onnx');
    fs.closeSync(fs.openSync(big, 'w'));
    fs.truncateSync(big, MAX_ONNX_BYTES + 1); // sparse: nothing written
    await assert.rejects(benchEmbed(big), /big\.onnx: the ONNX model is 2\.0 GiB, more than the 2 GiB limit/);
    if (fs.existsSync('/dev/zero')) {
      await assert.rejects(benchEmbed('/dev/zero'), /\/dev\/zero: the ONNX model is a character device, not a regular file/);
      fs.symlinkSync('/dev/zero', path.join(dir, 'zero.onnx'));
      await assert.rejects(benchEmbed(path.join(dir, 'zero.onnx')), /zero\.onnx: the ONNX model is a character device, not a regular file/);
    }
    const fifo = path.join(dir, 'pipe.onnx');
    if (spawnSync('mkfifo', [fifo]).status === 0) await assert.rejects(benchEmbed(fifo), /pipe\.onnx: the ONNX model is a FIFO \(named pipe\), not a regular file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('benchEmbed without PyTorch reports ONNX Runtime throughput for both encoders and says why', { skip: noModel }, async () => {
  const r = await benchEmbed(MODEL, { ...tiny, torch: false });
  assert.equal(r.batch, 2);
  for (const t of [r.ort.image, r.ort.text]) {
    assert.ok(t.msPerBatch > 0 && Number.isFinite(t.itemsPerS));
    assert.ok(Math.abs(t.itemsPerS - 2000 / t.msPerBatch) < 1e-9);
  }
  assert.equal(r.torch, undefined);
  assert.equal(r.parity, undefined);
  assert.match(r.torchNote ?? '', /not requested/);
  assert.match(formatEmbedReport(r), /^ORT image .* images\/s/m);
});

test('benchEmbed checks PyTorch parity on the same weights and batch before timing it', { skip: (noModel || (!TORCH && 'python3-torch absent')) || false }, async () => {
  const r = await benchEmbed(MODEL, { ...tiny, torch: true });
  assert.ok(r.parity, r.torchNote);
  assert.deepEqual(Object.keys(r.parity.maxAbsDiff).sort(), ['image_embedding', 'region_features', 'text_embedding', 'word_features']);
  for (const [k, v] of Object.entries(r.parity.maxAbsDiff)) assert.ok(v <= 1e-3, `${k}: ${v}`);
  assert.equal(r.parity.ok, true);
  assert.ok(r.torch && r.ratio);
  assert.ok(r.torch.image.itemsPerS > 0 && r.torch.text.itemsPerS > 0);
  assert.ok(Math.abs(r.ratio.image - r.ort.image.itemsPerS / r.torch.image.itemsPerS) < 1e-9);
  assert.match(formatEmbedReport(r), /parity .* ok/);

  // A tolerance no float pipeline meets: the peer must refuse to time.
  const strict = await benchEmbed(MODEL, { ...tiny, torch: true, tolerance: 1e-12 });
  assert.ok(strict.parity);
  assert.equal(strict.parity.ok, Object.values(strict.parity.maxAbsDiff).every((v) => v <= 1e-12));
  if (!strict.parity.ok) {
    assert.equal(strict.torch, undefined);
    assert.match(strict.torchNote ?? '', /not timed/);
  }
});
