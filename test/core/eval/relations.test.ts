// The relations task on a model's padded word x word matrices: its readings and their floors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRelations } from '../../../src/core/eval/relations';
import type { EncodedSplit, PairExplanation } from '../../../src/core/eval/features';
import type { EvalSource } from '../../../src/core/eval/source';
import type { LoadedStudy, WordTruth } from '../../../src/core/data/manifest-types';

const N = 8;

/** A study whose report is `words` joined by spaces, with the truth and the model's word spans. */
function study(id: string, words: readonly Omit<WordTruth, 'start' | 'end'>[]): { s: LoadedStudy; spans: [number, number][] } {
  let at = 0;
  const truth: (WordTruth & { start: number; end: number })[] = words.map((w) => {
    const t = { ...w, start: at, end: at + w.text.length };
    at += w.text.length + 1;
    return t;
  });
  return {
    s: { id, split: 'test', report: words.map((w) => w.text).join(' '), words: truth } as unknown as LoadedStudy,
    spans: truth.map((t) => [t.start, t.end]),
  };
}

const EFF = { finding: 'effusion', location: 'left' };
const PTX = { finding: 'pneumothorax', location: 'right' };
// A short report with one finding and a long one with two: uniform rows weigh the short one's pairs more.
const SHORT = study('a', [{ text: 'left', role: 'location', ...EFF }, { text: 'effusion', role: 'finding', ...EFF }, { text: 'seen', role: 'function' }]);
const LONG = study('b', [
  { text: 'there', role: 'function' }, { text: 'is', role: 'function' }, { text: 'a', role: 'function' },
  { text: 'right', role: 'location', ...PTX }, { text: 'pneumothorax', role: 'finding', ...PTX },
  { text: 'and', role: 'function' }, { text: 'left', role: 'location', ...EFF }, { text: 'effusion', role: 'finding', ...EFF },
]);

function split(): EncodedSplit {
  return { split: 'test', studies: [SHORT.s, LONG.s], n: 2, N, wordSpans: [SHORT.spans, LONG.spans] } as unknown as EncodedSplit;
}

/** Rows as the model lays them out: [N x N], the report's n words first, padding zero. */
function explanation(n: number, weight: (i: number, j: number) => number): PairExplanation {
  const relation = new Float32Array(N * N);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) relation[i * N + j] = weight(i, j);
  return { attention: new Float32Array(0), relation, importance: new Float32Array(N), localScore: 0 };
}

const source = (pairs: PairExplanation[]): EvalSource => ({ explainPairs: async () => pairs }) as unknown as EvalSource;

test('uniform rows: each study reads 0.5, and the pooled reading equals its own uniform floor, which is not 0.5', async () => {
  const uniform = [explanation(3, () => 1 / 3), explanation(8, () => 1 / 8)];
  const m = await runRelations(source(uniform), split(), { rows: [0, 1], pairs: uniform });
  assert.equal(m.mean_study_auroc, 0.5);
  assert.equal(m.studies_scored, 2);
  assert.equal(m.pair_auroc, m.uniform_pair_auroc);
  assert.ok(m.uniform_pair_auroc > 0.5, `short reports hold more of the positives: ${m.uniform_pair_auroc}`);
});

test('rows that peak on their own location word read 1 in every study and at top-1, above the uniform floor', async () => {
  const own = (words: readonly WordTruth[]) => (i: number, j: number): number => {
    const a = words[i], b = words[j];
    const pair = a.finding !== undefined && a.finding === b.finding && a.role !== b.role;
    return pair ? 0.9 : 0.01;
  };
  const pairs = [explanation(3, own(SHORT.s.words!)), explanation(8, own(LONG.s.words!))];
  const m = await runRelations(source(pairs), split(), { rows: [0, 1], pairs });
  assert.equal(m.mean_study_auroc, 1);
  assert.equal(m.pair_auroc, 1);
  assert.equal(m.top1_accuracy, 1);
  assert.equal(m.scored_finding_words, 3);
  assert.ok(m.uniform_pair_auroc < 1);
});
