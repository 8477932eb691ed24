import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { resolveRunConfig } from '../../../src/core/train/run-config';
import { runTraining } from '../../../src/core/train/trainer';
import { initBackend } from '../../../src/core/runtime/backend';
import { loadRun } from '../../../src/core/train/run-loader';
import { readDataset } from '../../../src/core/data/manifest';
import { encodeSplit, similarityMatrix, splitTexts } from '../../../src/core/eval/features';
import { evaluateRun, notApplicable } from '../../../src/core/eval/tasks';
import { readEvalResult, validateEvalResult } from '../../../src/core/eval/results';
import { slotTruths } from '../../../src/core/eval/relations';
import { choosePrompts } from '../../../src/core/eval/zeroshot';
import { drawFraction } from '../../../src/core/eval/linear-probe';
import { ablationMarkdown, meanStd, variantConfig } from '../../../src/core/eval/ablate';
import { tinyConfig, tinySynth } from '../../helpers/tiny';

let data: string;
let runDir: string;
let backend: string;

before(async () => {
  backend = (await initBackend(process.env.RECLF_TEST_BACKEND ?? 'wasm')).name;
  data = await tinySynth(40, 5, 64);
  runDir = path.join(data, 'run');
  const config = resolveRunConfig(tinyConfig({ train: { maxSteps: 4 } }), 'reclf');
  await runTraining({ runDir, dataDir: data, config, resume: false, cancel: { requested: false }, backend, device: 'test', listener: { emit: () => {}, log: () => {} } });
});

test('features: a split is encoded once, then read back from the cache with identical arrays', async () => {
  const run = loadRun(runDir);
  const ds = readDataset(data);
  const a = await encodeSplit(run, ds.studies, { dataDir: data, split: 'valid' });
  const b = await encodeSplit(run, ds.studies, { dataDir: data, split: 'valid' });
  assert.equal(a.cached, false);
  assert.equal(b.cached, true);
  assert.ok(fs.existsSync(a.cacheFile) && a.cacheFile.includes(path.join('eval', 'cache')));
  assert.deepEqual(b.studies.map((s) => s.id), a.studies.map((s) => s.id));
  assert.deepEqual(Array.from(b.regions), Array.from(a.regions));
  assert.equal(a.regions.length, a.n * a.M * a.D);
  // Global cosine similarity of a matrix with itself-side texts: values within [-1, 1], shape n x n.
  const rows = Array.from({ length: a.n }, (_, i) => i);
  const sim = await similarityMatrix(run, a, rows, splitTexts(a), rows, 'global');
  assert.equal(sim.length, a.n);
  assert.ok(sim.every((r) => r.length === a.n && r.every((v) => v <= 1 + 1e-5 && v >= -1 - 1e-5)));
  const both = await similarityMatrix(run, a, rows.slice(0, 3), splitTexts(a), rows.slice(0, 5), 'both');
  assert.ok(both.every((r) => r.length === 5 && r.every(Number.isFinite)));
  run.params.dispose();
});

test('evaluateRun: every applicable task writes a schema-valid RUN/eval/<task>.json', async () => {
  const seen: string[] = [];
  const summary = await evaluateRun({
    runDir, dataDir: data, split: 'valid', score: 'both', pooling: 'max', maxPrompts: 4, seeds: [0],
    tasks: ['zeroshot', 'retrieval', 'grounding', 'relations', 'importance', 'linear'],
    linear: { epochs: 3, fractions: [0.1, 1] }, backend, createdBy: 'test', onResult: (r) => seen.push(r.task),
  });
  assert.deepEqual(seen, ['zeroshot', 'retrieval', 'grounding', 'relations', 'importance', 'linear']);
  for (const task of seen) {
    const r = readEvalResult(path.join(runDir, 'eval', `${task}.json`));
    assert.equal(r.task, task);
    assert.equal(r.backend, backend);
    assert.match(r.data_hash, /^[0-9a-f]{16}$/);
  }
  const by = Object.fromEntries(summary.results.map((r) => [r.task, r.metrics]));
  assert.ok((by.retrieval['i2t_R@10'] ?? 0) >= (by.retrieval['i2t_R@1'] ?? 0));
  assert.ok((by.grounding.words_scored ?? 0) > 0);
  assert.ok((by.relations.scored_finding_words ?? 0) > 0);
  const imp = by.importance.pooled_auroc;
  assert.ok(imp === null || (imp >= 0 && imp <= 1));
  // Diagnostics: every word-level metric has its floor (random init of the same config) and
  // its uniform reference beside it; the local branch is scored alone on retrieval.
  for (const k of ['random_init_pointing_game', 'random_init_attention_mass_inside', 'attention_entropy', 'uniform_entropy']) assert.ok(k in by.grounding, `grounding ${k}`);
  assert.ok((by.grounding.attention_entropy ?? Infinity) <= (by.grounding.uniform_entropy ?? 0) + 1e-6, 'an entropy never exceeds the uniform one');
  assert.equal(by.grounding.uniform_entropy, Math.log(readEvalGrid(runDir)));
  for (const k of ['random_init_top1_accuracy', 'random_init_pair_auroc']) assert.ok(k in by.relations, `relations ${k}`);
  for (const k of ['random_init_pooled_auroc', 'importance_entropy', 'uniform_importance_entropy', 'first_third', 'last_third']) assert.ok(k in by.importance, `importance ${k}`);
  assert.ok((by.retrieval.local_n ?? 0) >= 2 && 'local_i2t_R@1' in by.retrieval && 'local_subset_global_t2i_R@10' in by.retrieval);
  // The floor is a different model: its features are cached apart, the run's cache is untouched.
  assert.ok(fs.existsSync(path.join(runDir, 'eval', 'random-init', 'eval', 'cache')));
  assert.ok('auroc@100%' in by.linear && 'auroc@10%' in by.linear);
  const fractions = fs.readdirSync(path.join(runDir, 'eval', 'linear-fractions'));
  assert.equal(fractions.length, 2);
  const ids = JSON.parse(fs.readFileSync(path.join(runDir, 'eval', 'linear-fractions', fractions.find((f) => f.includes('-10pct-'))!), 'utf8')).ids;
  assert.equal(ids.length, drawFraction(30, 0.1, 0).length);
  assert.equal(validateEvalResult({ task: 'x', metrics: { a: 'high' } }).ok, false);
});

/** Regions M of the run's model (its grid). */
function readEvalGrid(run: string): number {
  const loaded = loadRun(run);
  const [r, c] = loaded.model.grid;
  loaded.params.dispose();
  return r * c;
}

test('task applicability and helpers', () => {
  const ds = readDataset(data);
  assert.equal(notApplicable('relations', ds.studies), undefined);
  const bare = ds.studies.map((s) => ({ ...s, words: undefined, boxes: undefined, maskPath: undefined, labels: undefined }));
  assert.match(notApplicable('relations', bare) ?? '', /word ground truth/);
  assert.match(notApplicable('grounding', bare) ?? '', /boxes or masks/);
  assert.match(notApplicable('zeroshot', bare) ?? '', /labels/);
  // Truth words map onto tokenizer word slots by char overlap; punctuation slots get none.
  const truth = [{ text: 'No', role: 'negation' as const, start: 0, end: 2 }, { text: 'effusion', role: 'finding' as const, start: 3, end: 11 }];
  assert.deepEqual(slotTruths(truth, [[0, 2], [3, 11], [11, 12]]).map((w) => w?.text), ['No', 'effusion', undefined]);
  assert.equal(choosePrompts(['Edema', 'No Finding'], { maxPrompts: 3, seed: 0 }).source, 'synthetic');
  const other = choosePrompts(['Atelectasis', 'Lung Opacity'], { maxPrompts: 5, seed: 0 });
  assert.equal(other.prompts.Atelectasis.length, 5);
  assert.deepEqual(other.prompts['Lung Opacity'], ['lung opacity']);
  assert.deepEqual(drawFraction(100, 0.1, 1), drawFraction(100, 0.1, 1));
  assert.notDeepEqual(drawFraction(100, 0.1, 1), drawFraction(100, 0.1, 2));
});

test('ablation: variant configs and the mean ± std table', () => {
  assert.deepEqual((variantConfig('reclf-no-srm', 2, 10).method as Record<string, unknown>), { name: 'reclf', srm: false });
  assert.deepEqual((variantConfig('reclf-no-irm', 0, 10).method as Record<string, unknown>), { name: 'reclf', irm: 'uniform' });
  assert.deepEqual(variantConfig('gloria', 1, 7).train, { seed: 1, maxSteps: 7 });
  assert.throws(() => variantConfig('nope', 0, 1), /unknown variant 'nope'/);
  assert.equal(meanStd([1, 3, null]), '2.000 ± 1.000');
  assert.equal(meanStd([null]), 'n/a');
  const md = ablationMarkdown({ data: 'd', budget: 5, seeds: 2, runs: [], rows: [{ variant: 'reclf', seeds: [0, 1], values: { 'retrieval/i2t_R@1': [0.5, 0.7] } }] });
  assert.match(md, /\| variant \| retrieval\/i2t_R@1 \|/);
  assert.match(md, /\| reclf \| 0\.600 ± 0\.100 \|/);
});
