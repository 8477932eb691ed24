import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, mixSeed } from '../../../../src/core/rng';
import { sampleFindings, type FindingSpec } from '../../../../src/core/data/synth/findings';
import { splitWords, writeReport } from '../../../../src/core/data/synth/report';
import { FINDINGS, FINDING_NAMES, LOCATIONS } from '../../../../src/core/data/synth/vocabulary';

function sampleReports(n: number) {
  const out: { specs: FindingSpec[]; text: string; words: ReturnType<typeof writeReport>['words'] }[] = [];
  for (let i = 0; i < n; i++) {
    const specs = sampleFindings(new Rng(mixSeed(3, i)));
    // Nodule sizes come from the renderer; give them one so the "N mm" templates are exercised.
    for (const s of specs) if (s.name === 'nodule') s.sizeMm = 8 + (i % 15);
    const r = writeReport(specs, new Rng(mixSeed(4, i)));
    out.push({ specs, ...r });
  }
  return out;
}

const reports = sampleReports(400);

test('splitWords: maximal letter/digit runs, split at hyphens and decimal points', () => {
  assert.deepEqual(splitWords('A right-sided 1.2 cm nodule.').map((w) => w.text), ['A', 'right', 'sided', '1', '2', 'cm', 'nodule']);
  const w = splitWords('  no  pneumothorax');
  assert.deepEqual(w.map((x) => [x.start, x.end]), [[2, 4], [6, 18]]);
});

test('every word truth has exact offsets into the report, in order, covering every word', () => {
  for (const r of reports) {
    const words = splitWords(r.text);
    assert.equal(r.words.length, words.length, r.text);
    r.words.forEach((w, i) => {
      assert.equal(r.text.slice(w.start!, w.end!), w.text);
      assert.equal(w.start, words[i].start);
      assert.ok(['finding', 'location', 'modifier', 'negation', 'function'].includes(w.role));
    });
  }
});

test('reports keep the FINDINGS / IMPRESSION structure', () => {
  assert.match(reports.map((r) => r.text).join(' '), /\ban 8 mm\b|\ba 9 mm\b/);
  for (const r of reports) {
    assert.doesNotMatch(r.text, /\ba 8\b|\ban 9\b/);
    assert.match(r.text, /^FINDINGS: .+ IMPRESSION: .+\.$/);
    assert.equal(r.text.indexOf('IMPRESSION:'), r.text.lastIndexOf('IMPRESSION:'));
    assert.doesNotMatch(r.text, /\s[.,]|\s{2}|\bthe both\b/i);
  }
});

test('every present finding has its own finding and location words, not negated', () => {
  for (const r of reports) {
    for (const s of r.specs) {
      const mine = r.words.filter((w) => w.finding === s.name && w.location === s.location && w.negated === false);
      assert.ok(mine.some((w) => w.role === 'finding'), `${s.name} finding word in: ${r.text}`);
      assert.ok(mine.some((w) => w.role === 'location'), `${s.name} location word in: ${r.text}`);
    }
  }
});

test('finding words are positive exactly for present findings; negated mentions name absent ones', () => {
  let negatedSeen = 0;
  for (const r of reports) {
    const present = new Set(r.specs.map((s) => s.name));
    for (const f of FINDING_NAMES) {
      const positive = r.words.some((w) => w.role === 'finding' && w.finding === f && w.negated === false);
      assert.equal(positive, present.has(f), `${f} in: ${r.text}`);
    }
    for (const w of r.words.filter((x) => x.negated === true && x.finding)) {
      assert.ok(!present.has(w.finding as never), `negated ${w.finding} but present: ${r.text}`);
      negatedSeen++;
    }
  }
  assert.ok(negatedSeen > 100);
});

test('negated finding words share their sentence with a negation word', () => {
  for (const r of reports) {
    for (const [i, w] of r.words.entries()) {
      if (w.role !== 'finding' || w.negated !== true) continue;
      const sentenceStart = r.text.lastIndexOf('.', w.start!) + 1;
      const sentenceEnd = r.text.indexOf('.', w.end!);
      const sameSentence = r.words.filter((x) => x.start! >= sentenceStart && x.end! <= sentenceEnd);
      // One negation word may scope over a list ("no pneumothorax or effusion") or follow ("is not seen").
      assert.ok(sameSentence.some((x) => x.role === 'negation'), `word ${i} '${w.text}' in: ${r.text}`);
    }
  }
});

test('normal studies read as normal and the vocabulary covers what reports use', () => {
  const normal = reports.filter((r) => r.specs.length === 0);
  assert.ok(normal.length > 80 && normal.length < 160, `normal fraction ${normal.length}/400`);
  for (const r of normal) assert.ok(!r.words.some((w) => w.negated === false));
  const locationWords = new Set(Object.values(LOCATIONS).flatMap((l) => [...l.adjective, ...l.noun]).flatMap((p) => splitWords(p).map((w) => w.text.toLowerCase())));
  const findingWords = new Set(Object.values(FINDINGS).flatMap((f) => [...f.synonyms.flatMap((s) => [s.text, s.plural ?? '']), ...f.negated.map((n) => n.text)]).flatMap((p) => splitWords(p).map((w) => w.text.toLowerCase())));
  for (const r of reports) {
    for (const w of r.words) {
      if (w.role === 'finding') assert.ok(findingWords.has(w.text.toLowerCase()), `finding word '${w.text}' not in vocabulary`);
      if (w.role === 'location' && w.finding !== 'cardiomegaly' && !/hemidiaphragm/.test(w.text)) assert.ok(locationWords.has(w.text.toLowerCase()), `location word '${w.text}'`);
    }
  }
});
