// Evaluation from an exported ONNX model (ONNX Runtime, no TF.js encoders) agrees with the
// evaluation of the TF.js run it came from, records the model instead of the run, skips the
// tasks the contract cannot serve, and refuses local scores and contract-breaking files clearly.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { resolveRunConfig } from '../../../src/core/train/run-config';
import { runTraining } from '../../../src/core/train/trainer';
import { initBackend } from '../../../src/core/runtime/backend';
import { exportRun } from '../../../src/core/export/export-run';
import { DataType, GraphBuilder } from '../../../src/core/export/graph-builder';
import { evaluateModel, evaluateRun, type EvaluateSummary, type TaskName } from '../../../src/core/eval/tasks';
import { readEvalResult } from '../../../src/core/eval/results';
import { defaultModelOutDir } from '../../../src/core/eval/source';
import { isUserError } from '../../../src/core/errors';
import { evalCommand } from '../../../src/engine/commands/eval';
import { parseArgs, UsageError } from '../../../src/engine/args';
import { createEventSink } from '../../../src/engine/events';
import { tinyConfig, tinySynth } from '../../helpers/tiny';

let data: string;
let runDir: string;
let modelFile: string;
let backend: string;
const TASKS: TaskName[] = ['zeroshot', 'retrieval', 'grounding', 'relations', 'importance'];

before(async () => {
  backend = (await initBackend(process.env.RECLF_TEST_BACKEND ?? 'wasm')).name;
  data = await tinySynth(40, 5, 64);
  runDir = path.join(data, 'run');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 4 } }), 'reclf');
  await runTraining({ runDir, dataDir: data, config, resume: false, cancel: { requested: false }, backend, device: 'test', listener: { emit: () => {}, log: () => {} } });
  modelFile = path.join(data, 'model.onnx');
  await exportRun(runDir, modelFile);
});

// floors: false: the random-init floors are a run-side diagnostic, compared with nothing here.
const common = { dataDir: '', split: 'valid' as const, score: 'global' as const, pooling: 'max' as const, maxPrompts: 4, seeds: [0], createdBy: 'test', floors: false };

function byTask(s: EvaluateSummary): Record<string, Record<string, number | null>> {
  return Object.fromEntries(s.results.map((r) => [r.task, r.metrics]));
}

test('a model and its run give the same metrics; results record the model, segmentation is skipped', async () => {
  const out = path.join(data, 'model-eval');
  const fromRun = await evaluateRun({ ...common, dataDir: data, runDir, tasks: TASKS, backend });
  const fromModel = await evaluateModel({ ...common, dataDir: data, modelFile, outDir: out, device: 'cpu', tasks: [...TASKS, 'segmentation', 'linear'], linear: { epochs: 2, fractions: [1] }, backend: 'onnxruntime' });
  assert.deepEqual(fromModel.results.map((r) => r.task), [...TASKS, 'linear']);
  assert.equal(fromModel.skipped.length, 1);
  assert.equal(fromModel.skipped[0].task, 'segmentation');
  assert.match(fromModel.skipped[0].reason, /feature maps.*ONNX model contract/);
  const a = byTask(fromRun), b = byTask(fromModel);
  for (const task of TASKS) {
    // Retrieval by the local score alone exists for the run only (an ONNX model scores no unmatched pair).
    const runOnly = Object.keys(a[task]).filter((k) => k.startsWith('local_'));
    if (task === 'retrieval') assert.ok(runOnly.length > 0, 'the run scores its local branch alone');
    assert.deepEqual(Object.keys(b[task]).sort(), Object.keys(a[task]).filter((k) => !runOnly.includes(k)).sort(), `${task}: same metric names`);
    for (const [k, v] of Object.entries(a[task])) {
      if (runOnly.includes(k)) continue;
      const w = b[task][k];
      if (v === null) { assert.equal(w, null, `${task}/${k}`); continue; }
      // Parity of the graph is 1e-4: values agree to ~1e-6 here; a retrieval metric may move by
      // one near-tie swap (1/n) on another backend.
      const tol = task === 'retrieval' ? 1 / (a.retrieval.n ?? 1) + 1e-9 : 1e-3;
      assert.ok(w !== null && Math.abs(w - v) <= tol, `${task}/${k}: run ${v} vs model ${w}`);
    }
  }
  assert.ok((b.grounding.words_scored ?? 0) > 0 && b.grounding.words_scored === a.grounding.words_scored);
  assert.ok((b.relations.scored_finding_words ?? 0) > 0);
  const linear = fromModel.results.find((r) => r.task === 'linear')!;
  assert.equal(linear.details?.features, 'image_embedding (contract output, frozen)');
  assert.ok(typeof linear.metrics['auroc@100%'] === 'number');
  for (const task of TASKS) {
    const r = readEvalResult(path.join(out, 'eval', `${task}.json`));
    assert.equal(r.model, path.resolve(modelFile));
    assert.match(r.model_hash ?? '', /^[0-9a-f]{16}$/);
    assert.equal(r.config_hash, undefined);
    assert.equal(r.run, undefined);
    assert.equal(r.backend, 'onnxruntime');
  }
  assert.ok(fs.readdirSync(path.join(out, 'eval', 'cache')).some((f) => f.endsWith('-valid.safetensors')));
  // A second evaluation reads the features from the cache and gives identical metrics.
  const again = await evaluateModel({ ...common, dataDir: data, modelFile, outDir: out, device: 'cpu', tasks: ['retrieval', 'importance'], backend: 'onnxruntime' });
  assert.equal(again.encodeSeconds, 0);
  assert.deepEqual(byTask(again).retrieval, b.retrieval);
  assert.deepEqual(byTask(again).importance, b.importance);
});

test('an MLIP model (entity_ids input, words linked to the knowledge base) matches its run', async () => {
  const mlipRun = path.join(data, 'run-mlip');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 2 } }), 'mlip');
  await runTraining({ runDir: mlipRun, dataDir: data, config, resume: false, cancel: { requested: false }, backend, device: 'test', listener: { emit: () => {}, log: () => {} } });
  const file = path.join(data, 'mlip.onnx');
  await exportRun(mlipRun, file);
  const tasks: TaskName[] = ['grounding', 'relations', 'importance'];
  const a = byTask(await evaluateRun({ ...common, dataDir: data, runDir: mlipRun, tasks, backend }));
  const b = byTask(await evaluateModel({ ...common, dataDir: data, modelFile: file, device: 'cpu', tasks, backend: 'onnxruntime' }));
  for (const task of tasks) {
    for (const [k, v] of Object.entries(a[task])) {
      const w = b[task][k];
      assert.ok(v === null ? w === null : w !== null && Math.abs(w - v) <= 1e-3, `mlip ${task}/${k}: run ${v} vs model ${w}`);
    }
  }
  assert.ok(fs.existsSync(path.join(data, 'mlip.eval', 'eval', 'relations.json')), 'default results folder <model>.eval');
});

test('a model cannot be scored locally: a clear configuration error', async () => {
  await assert.rejects(
    evaluateModel({ ...common, dataDir: data, modelFile, score: 'both', tasks: ['zeroshot'], backend: 'onnxruntime' }),
    (e: Error) => isUserError(e) && /--score both/.test(e.message) && /global/.test(e.message),
  );
  assert.equal(defaultModelOutDir('/x/m.onnx'), '/x/m.eval');
});

test('a model that breaks the contract is refused naming what is missing', async () => {
  const g = new GraphBuilder('broken');
  const px = g.input('pixel_values', DataType.FLOAT, ['batch', 1, 8, 8]);
  g.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  g.input('attention_mask', DataType.INT64, ['batch', 'sequence']);
  g.output(g.op('ReduceMean', [px], { axes: { kind: 'ints', value: [2, 3] }, keepdims: { kind: 'int', value: 0 } }), 'image_embedding', DataType.FLOAT, ['batch', 1]);
  const file = path.join(data, 'broken.onnx');
  fs.writeFileSync(file, g.build({ method: 'test' }));
  await assert.rejects(
    evaluateModel({ ...common, dataDir: data, modelFile: file, tasks: ['retrieval'], backend: 'onnxruntime' }),
    (e: Error) => isUserError(e) && /broken\.onnx/.test(e.message) && /missing output 'attention'/.test(e.message) && /missing output 'text_embedding'/.test(e.message),
  );
});

test('outputs that disagree with the model\'s metadata are named', async () => {
  const g = new GraphBuilder('misshaped');
  const px = g.input('pixel_values', DataType.FLOAT, ['batch', 1, 8, 8]);
  g.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  g.input('attention_mask', DataType.INT64, ['batch', 'sequence']);
  const flat = g.op('ReduceMean', [px], { axes: { kind: 'ints', value: [2, 3] }, keepdims: { kind: 'int', value: 0 } }); // [B, 1]
  for (const [name, rank] of [['image_embedding', 2], ['text_embedding', 2], ['region_features', 3], ['word_features', 3], ['attention', 3], ['relation', 3], ['importance', 2], ['local_score', 1]] as const) {
    const v = rank === 1 ? g.op('ReduceMean', [flat], { axes: { kind: 'ints', value: [1] }, keepdims: { kind: 'int', value: 0 } }) : rank === 2 ? g.op('Identity', [flat]) : g.op('Unsqueeze', [flat, g.constI([2])]);
    g.output(v, name, DataType.FLOAT, rank === 1 ? ['batch'] : rank === 2 ? ['batch', 1] : ['batch', 1, 1]);
  }
  const file = path.join(data, 'misshaped.onnx');
  fs.writeFileSync(file, g.build({
    image_size: '8', grid: '[2,2]', normalisation: '{"mean":0.5,"std":0.5}', max_words: '1', max_length: '8', method: 'test',
    tokenizer: '{"type":"wordpiece","lower_case":true}', vocab: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'no', 'effusion'].join('\n'),
  }));
  await assert.rejects(
    evaluateModel({ ...common, dataDir: data, modelFile: file, outDir: path.join(data, 'misshaped-eval'), device: 'cpu', tasks: ['retrieval'], backend: 'onnxruntime' }),
    // Caught when the session opens, from the graph's declared output shapes, before any data runs.
    (e: Error) => isUserError(e) && /misshaped\.onnx/.test(e.message) && /metadata 'grid' is 2x2 \(4 regions\) but the graph's output '\w+' has shape \[batch, 1, 1\]/.test(e.message),
  );
});

test('reclf eval takes exactly one of --run and --model', async () => {
  const events = createEventSink({ quiet: true });
  for (const argv of [['--data', data], ['--data', data, '--run', runDir, '--model', modelFile]]) {
    await assert.rejects(evalCommand.run({ args: parseArgs(evalCommand.spec, argv), events, tty: false }), (e: Error) => e instanceof UsageError && /exactly one of --run/.test(e.message));
  }
  await assert.rejects(
    evalCommand.run({ args: parseArgs(evalCommand.spec, ['--data', data, '--run', runDir, '--out', data]), events, tty: false }),
    (e: Error) => e instanceof UsageError && /--out applies to --model/.test(e.message),
  );
});
